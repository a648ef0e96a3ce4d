"""Extraction on pages far from the usual size or shape: many paragraphs, deep nesting, links around
blocks. The work must stay near-linear in the page size (no comparing every block with every other,
no walking every subtree) without changing what is extracted."""

from __future__ import annotations

from html import escape

from pipeline.extract import extract_article

URL = "https://news.example.com/2024/06/20/story.html"


def page(body: str, title: str = "Ban on equipment") -> str:
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)}</title>"
            '<meta property="og:type" content="article"></head>'
            f"<body><nav><a href='/'>Home</a></nav><article><h1>{escape(title)}</h1>{body}</article>"
            "<footer>Example News</footer></body></html>")


def sentence(i: int) -> str:
    return (f"Point {i}: the regulator said operators must replace the listed equipment in their networks "
            f"before the deadline, and officials described step {i} of the plan.")


def paragraphs_page(n: int, *, copy: bool) -> str:
    body = "".join(f"<p>{sentence(i)}</p>" for i in range(n))
    if copy:  # the article again, flattened into one block (a read-aloud or print version)
        body += "<div>" + " ".join(sentence(i) for i in range(n)) + "</div>"
    return page(body)


def test_flattened_copy_of_a_short_article_is_dropped() -> None:
    text = extract_article(paragraphs_page(6, copy=True), URL).text
    assert text.split("\n\n") == [sentence(i) for i in range(6)]


def test_flattened_copy_of_a_long_article_is_dropped() -> None:
    text = extract_article(paragraphs_page(120, copy=True), URL).text
    assert text.split("\n\n") == [sentence(i) for i in range(120)]


def test_flattened_copy_of_a_text_without_spaces_is_dropped() -> None:
    paras = [f"第{i}条：监管机构表示，运营商必须在截止日期前更换网络中列出的设备，官员们介绍了该计划的具体步骤和时间安排。" * 2
             for i in range(80)]
    html = page("".join(f"<p>{p}</p>" for p in paras) + "<div>" + "".join(paras) + "</div>", "禁令")
    assert extract_article(html, URL).text.split("\n\n") == paras


def test_many_similar_paragraphs_are_all_kept() -> None:
    """Paragraphs sharing most of their words are not copies of each other."""
    text = extract_article(paragraphs_page(3000, copy=False), URL).text
    assert text.split("\n\n") == [sentence(i) for i in range(3000)]


def test_blocks_inside_a_link_are_not_article_text() -> None:
    card = "<a href='/other'><div><p>Another story entirely: a teaser for a different article here.</p></div></a>"
    html = page("".join(f"<p>{sentence(i)}</p>" for i in range(3)) + card
                + "".join(f"<p>{sentence(i)}</p>" for i in range(3, 6)))
    assert extract_article(html, URL).text.split("\n\n") == [sentence(i) for i in range(6)]


def test_text_beside_nested_blocks_is_not_a_leaf_but_its_blocks_are() -> None:
    inner = "".join(f"<div><span>{sentence(i)}</span></div>" for i in range(4))
    html = page(f"<section><b>x</b>{inner}</section><p>{sentence(4)}</p>")
    assert extract_article(html, URL).text.split("\n\n") == [sentence(i) for i in range(5)]


def test_text_inside_nesting_deeper_than_any_real_page_is_extracted() -> None:
    deep = 6000  # enough tags for the nesting check, far deeper than the cap
    html = page("<div>" * deep + "".join(f"<p>{sentence(i)}</p>" for i in range(3)) + "</div>" * deep)
    assert extract_article(html, URL).text.split("\n\n") == [sentence(i) for i in range(3)]


def test_thousands_of_unclosed_formatting_elements_keep_the_text() -> None:
    """Each new block re-opens every unclosed formatting element (HTML parsing rules): 6,000 of them
    would make millions of elements."""
    html = page("".join(f"<i class=c{i}><p>{sentence(i)}</p>" for i in range(6000)))
    text = extract_article(html, URL).text
    assert text.count("Point ") > 5000 and sentence(5999) in text
