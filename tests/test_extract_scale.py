"""Extraction on pages far from the usual size or shape: many paragraphs, deep nesting, links around
blocks. The work must stay near-linear in the page size (no comparing every block with every other,
no walking every subtree) without changing what is extracted."""

from __future__ import annotations

import subprocess
import sys
from html import escape
from pathlib import Path

import pytest

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


_MEMORY_PROBE = """
import resource, sys
from pipeline.extract import extract_article
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
html = sys.stdin.read()
text = extract_article(html, "https://news.example.com/2024/06/20/story.html").text
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, "MB")
print(text)
"""


def extract_with_memory_limit(html: str, limit_mb: int = 512) -> tuple[str, str]:
    """The text extracted from ``html`` in a process that cannot map more than ``limit_mb`` MB (lexbor
    fails to parse when it runs out), and that process's peak RSS."""
    done = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, str(limit_mb << 20)], input=html, capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parent.parent, check=True)
    peak, _, text = done.stdout.partition("\n")
    return text.rstrip("\n"), peak


def reopened(tag: str, n: int, *, attr: str = "class=c{i}", block: str = "<p>{s}</p>") -> str:
    """``n`` formatting elements left open, each followed by a block: every block re-opens all of them."""
    return page("".join(f"<{tag} {attr.format(i=i)}>" + block.format(s=sentence(i)) for i in range(n)))


@pytest.mark.parametrize("html", [
    reopened("i", 3000, block="<p>{s}"),  # 38 KB, 1.6 GB before: a few thousand distinct unclosed elements
    reopened("b", 3000),
    reopened("font", 2000, attr="size={i}", block="<li>{s}"),
    reopened("em", 2000, attr="", block="<div>{s}</div><table><tr><td>x</td></tr></table>"),
    page("<div>" + "".join(f"<i title='{i}{'x' * 30_000}'>" for i in range(30)) + "</div>"  # 30 tags, 30 KB each
         + "".join(f"<div>{sentence(i)}</div>" for i in range(3000))),
    page("<div>" + "".join(f"<{t}>" * 3 for t in ("b", "big", "code", "em", "font", "i", "s", "small", "strike",
                                                  "strong", "tt", "u")) + "</div>"  # 36 plain: 3 of a kind
         + "".join(f"<div>{sentence(i)}</div>" for i in range(10)) + "<div>x</div>" * 100_000),
], ids=["i_p", "b_p", "font_li", "em_div_table", "long_attributes", "plain_mixed"])
def test_reopened_formatting_elements_stay_within_memory(html: str) -> None:
    text, peak = extract_with_memory_limit(html)
    assert "Point 0:" in text and "Point 9:" in text, peak


def test_links_inside_links_are_link_text_once() -> None:
    from selectolax.lexbor import LexborHTMLParser

    from pipeline.extract.body import _link_len

    tree = LexborHTMLParser("<div>" + "".join(f"<a href={i}>link {i}<table><tr><td>" for i in range(50)) + "</div>")
    div = tree.css_first("div")
    assert _link_len(div, len(div.text(deep=True, strip=True))) == len(tree.css_first("a").text(deep=True, strip=True))


@pytest.mark.timeout(30)  # the hang guard: measuring every nested link's whole subtree took minutes
def test_links_nested_across_tables_finish() -> None:
    html = page("".join(f"<p>{sentence(i)}</p>" for i in range(3))
                + "".join(f"<a href='/l{i}'>link {i}<table><tr><td>" for i in range(30_000)))
    assert extract_article(html, URL).text.split("\n\n") == [sentence(i) for i in range(3)]


def deepest(html: str) -> int:
    """How deep the parser nests the article's last element (where unclosed elements pile up)."""
    from pipeline.extract.core import _parse

    parsed = _parse(html)
    assert parsed is not None
    node, depth = parsed[0].css("article *")[-1], 0
    while node.parent is not None:
        node, depth = node.parent, depth + 1
    return depth


# Elements that stay open nest one level deeper with every unit, and the parser walks the open elements at
# each <p>, <li>, <rt> or block: quadratic (50,000 "<span><p>x</p>" took 2.4 s, 80,000 "<a><div>x</a>"
# 10 s, 80,000 "<span><div>x</span>" 17 s). Beyond the browsers' depth cap they are dropped before parsing.
LEFT_OPEN = ["<span class=s{i}><p>{s}</p>", "<label><li>{s}</li>", "<rt><pre><rt>{s} ",
             "<svg><path d=M{i}/></svg><span/><p>{s}</p>", "<a href=/{i}><div>{s}</a>", "<nobr><div>{s}</nobr>",
             "<span><div>{s}</span>", "<q><section>{s}</q>"]


@pytest.mark.parametrize("unit", LEFT_OPEN)
def test_elements_left_open_are_flattened_to_the_depth_cap(unit: str) -> None:
    from pipeline.extract.core import _MAX_DEPTH

    assert deepest(page("".join(unit.format(i=i, s=sentence(i)) for i in range(12_000)))) < _MAX_DEPTH + 10


def test_text_of_flattened_elements_is_kept() -> None:
    html = page("".join(f"<span class=s{i}><p>{sentence(i)}</p>" for i in range(12_000)))
    text = extract_article(html, URL).text  # the paragraphs beside the outer levels are another container
    assert text.count("Point ") > 11_000 and sentence(11_999) in text
