"""Main text, boilerplate removal, charsets and robustness of pipeline.extract.extract_article."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest

from pipeline.extract import ExtractedArticle, extract_article

FIXTURES = Path(__file__).parent / "fixtures" / "extract"
ARTICLE_URL = "https://news.example.com/2024/05/03/regulator-bans-router-maker?utm_source=rss"

GERMAN = ("Die Bundesregierung hat am Freitag beschlossen, Bauteile des Herstellers aus dem Kernnetz zu "
          "verbannen. Die Betreiber müssen die Komponenten bis Ende des Jahres 2026 austauschen, teilte das "
          "Ministerium mit. Größere Übergangsfristen gelten für ältere Anlagen.")


@pytest.fixture(scope="module")
def article() -> ExtractedArticle:
    return extract_article((FIXTURES / "article_full.html").read_bytes(), ARTICLE_URL)


def test_fixture_article_metadata(article: ExtractedArticle) -> None:
    assert article.is_article
    assert article.title == "Regulator bans router maker from federal networks"
    assert article.canonical_url == "https://news.example.com/2024/05/03/regulator-bans-router-maker"
    assert article.site_name == "Example Times"
    assert article.authors == ["Jane Doe", "Max Mustermann"]
    assert article.language == "en"
    assert article.published_at_method == "json-ld"
    assert article.published_at is not None and article.published_at.isoformat() == "2024-05-03T09:15:00+02:00"


def test_fixture_article_paragraphs(article: ExtractedArticle) -> None:
    paras = article.text.split("\n\n")
    assert paras[0].startswith("The Federal Communications Commission on Friday")
    assert paras[-1].startswith("Carriers that receive federal subsidies")
    assert "What the ban means for buyers" in paras  # sub-heading kept as its own paragraph
    assert len(paras) == 5


@pytest.mark.parametrize("boilerplate", [
    "We use cookies",            # cookie banner
    "Technology",                # navigation
    "Share on Facebook",         # share bar
    "Lawmakers question drone",  # related articles
    "This should have happened",  # comments
    "All rights reserved",       # footer
    "Photo: Example Agency",     # caption
])
def test_fixture_boilerplate_removed(article: ExtractedArticle, boilerplate: str) -> None:
    assert boilerplate not in article.text


@pytest.mark.parametrize(("wrapper", "kept"), [
    ('<div class="comments-enabled article">', True),   # a layout flag, not a comment section
    ('<div class="sidebar-grid">', True),               # a layout grid that holds the article
    ('<div class="print:hidden md:block">', True),      # utility-class variants style, they do not name
    ('<section class="commentSection">', False),        # camelCase comment section
    ('<div class="comment-list">', False),              # boilerplate word + container word
    ('<div class="hidden">', False),                    # hiding utility class
    ('<div id="onetrust-consent-sdk">', False),         # consent manager, whatever its size
    ('<div style="display: none">', False),
])
def test_class_and_id_rules(wrapper: str, kept: bool) -> None:
    tag = wrapper[1:].split()[0].rstrip(">")
    extra = f"{wrapper}<p>{GERMAN.replace('Freitag', 'Sonntag')}</p></{tag}>"
    html = f"<html><body><article><p>{GERMAN}</p><p>{GERMAN.replace('Freitag', 'Montag')}</p>{extra}</article></body></html>"
    art = extract_article(html, "https://example.de/a")
    assert "Montag" in art.text
    assert ("Sonntag" in art.text) is kept


def test_repeated_headline_not_in_text(article: ExtractedArticle) -> None:
    assert article.title is not None and article.title not in article.text


def test_to_dict_is_json(article: ExtractedArticle) -> None:
    data = json.loads(json.dumps(article.to_dict()))
    assert data["published_at"] == "2024-05-03T09:15:00+02:00"
    assert data["modified_at"] == "2024-05-06T18:00:00+02:00"
    assert data["is_article"] is True
    assert data["text"] == article.text


def test_index_page_is_no_article() -> None:
    art = extract_article((FIXTURES / "index_page.html").read_bytes(), "https://news.example.com/tech")
    assert not art.is_article
    assert art.title is not None


def test_section_front_with_teaser_summaries_is_no_article() -> None:
    art = extract_article((FIXTURES / "section_front.html").read_bytes(), "https://news.example.com/tech")
    assert not art.is_article


def test_body_selector_overrides_generic_extractor() -> None:
    html = ("<html><body><div class='story'><p>" + GERMAN + "</p></div>"
            "<div class='box'><p>Short box text that a site wants to keep.</p></div></body></html>")
    generic = extract_article(html, "https://example.de/a")
    chosen = extract_article(html, "https://example.de/a", body_selector="div.box")
    assert GERMAN in generic.text
    assert chosen.text == "Short box text that a site wants to keep."


def test_invalid_body_selector_falls_back() -> None:
    html = "<html><body><article><p>" + GERMAN + "</p></article></body></html>"
    art = extract_article(html, "https://example.de/a", body_selector="div[[[")
    assert GERMAN in art.text


def test_double_br_splits_paragraphs() -> None:
    part = "Ein Satz über das Verbot der Komponenten und die Fristen für die Betreiber der Netze in Deutschland."
    html = f"<html><body><div class='text'>{part} Eins.<br><br>{part} Zwei.<br/><br/>{part} Drei.</div></body></html>"
    art = extract_article(html, "https://example.de/a")
    assert art.text.split("\n\n") == [f"{part} Eins.", f"{part} Zwei.", f"{part} Drei."]


def test_paragraphs_sharing_a_sentence_are_all_kept() -> None:
    shared = "The city council approved a new budget for parks and libraries on Friday after a long debate."
    paras = [f"{shared} Paragraph {i} adds its own details about schools, roads, and the harbour, "
             f"which the mayor described at length to reporters in the town hall." * 2 for i in range(4)]
    html = "<html><body><article>" + "".join(f"<p>{p}</p>" for p in paras) + "</article></body></html>"
    assert extract_article(html, "https://example.com/a").text.split("\n\n") == paras


def test_flattened_second_copy_of_the_article_is_dropped() -> None:
    paras = [f"Paragraph {i}: {GERMAN}" for i in range(4)]
    html = ("<html><body><article>" + "".join(f"<p>{p}</p>" for p in paras)
            + "<div class='reader'>" + " ".join(paras) + "</div></article></body></html>")
    assert extract_article(html, "https://example.de/a").text.split("\n\n") == paras


def test_jsonld_article_body_used_for_script_rendered_page() -> None:
    body = "\n".join(["The agency's order takes effect in thirty days and covers every new device model."] * 6)
    html = ('<html><head><script type="application/ld+json">'
            + json.dumps({"@type": "NewsArticle", "headline": "Order", "articleBody": body})
            + '</script></head><body><div id="root"></div><script>window.app()</script></body></html>')
    art = extract_article(html, "https://example.com/x")
    assert art.is_article
    assert art.text.startswith("The agency's order takes effect")


# ---------------------------------------------------------------- charsets


def _german_page(charset_meta: str = "") -> str:
    return (f"<html><head>{charset_meta}<title>Verbot</title></head>"
            f"<body><article><p>{GERMAN}</p><p>{GERMAN}</p></article></body></html>")


def test_meta_charset_windows_1252() -> None:
    data = _german_page('<meta charset="windows-1252">').encode("cp1252")
    assert GERMAN in extract_article(data, "https://example.de/a").text


def test_http_equiv_charset_latin1() -> None:
    meta = '<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1">'
    data = _german_page(meta).encode("latin-1")
    assert GERMAN in extract_article(data, "https://example.de/a").text


def test_utf8_bom() -> None:
    data = codecs.BOM_UTF8 + _german_page().encode("utf-8")
    art = extract_article(data, "https://example.de/a")
    assert GERMAN in art.text
    assert art.title == "Verbot"


def test_utf16_bom() -> None:
    data = _german_page().encode("utf-16")  # with BOM
    assert GERMAN in extract_article(data, "https://example.de/a").text


def test_undeclared_legacy_encoding_is_detected() -> None:
    data = _german_page().encode("cp1252")  # no charset anywhere, not valid UTF-8
    art = extract_article(data, "https://example.de/a")
    assert "Größere Übergangsfristen" in art.text


def test_shift_jis_with_meta_charset() -> None:
    text = "政府は同社の通信機器の使用禁止をすべての省庁に拡大し、来年四月から適用すると発表した。" * 3
    html = f'<html><head><meta charset="shift_jis"></head><body><article><p>{text}</p></article></body></html>'
    art = extract_article(html.encode("shift_jis"), "https://example.jp/a")
    assert text in art.text
    assert art.language == "ja"


def test_declared_utf8_but_broken_bytes() -> None:
    data = _german_page('<meta charset="utf-8">').encode("utf-8") + b"\xff\xfe\xfa trailing garbage"
    art = extract_article(data, "https://example.de/a")
    assert art.text  # still an answer


# ---------------------------------------------------------------- robustness


@pytest.mark.parametrize("payload", [
    b"", "", None, b"\x00\x00\x00", "   ", b"\xff" * 100, "<html>", "<<<>>>", "<p>unclosed <b>bold <i>both",
    "<!DOCTYPE html><html><body></body></html>", "plain text without any markup at all",
    '<script type="application/ld+json">{not json</script>', "<svg><script>alert(1)</script></svg>",
    '<script type="application/ld+json">[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]</script>',
])
def test_never_raises_on_odd_input(payload: object) -> None:
    art = extract_article(payload, "https://example.com/x")  # type: ignore[arg-type]
    assert isinstance(art, ExtractedArticle)
    json.dumps(art.to_dict())


def test_empty_page_is_no_article() -> None:
    art = extract_article(b"", "https://example.com/x")
    assert not art.is_article and art.text == ""


def test_broken_html_still_yields_text() -> None:
    html = "<html><body><div><p>" + GERMAN + "<p>" + GERMAN.replace("Freitag", "Montag") + "</div></span></table>"
    art = extract_article(html, "https://example.de/a")
    assert "Montag" in art.text and "Freitag" in art.text


def test_script_heavy_page_without_text_is_no_article() -> None:
    html = "<html><body>" + "<script>var x = 1;</script>" * 2000 + "<div id='app'></div></body></html>"
    art = extract_article(html, "https://example.com/x")
    assert not art.is_article


def test_huge_page_is_handled() -> None:
    paras = "".join(f"<p>Absatz {i}: {GERMAN}</p>" for i in range(20_000))
    html = "<html><body><article>" + paras + "</article></body></html>"
    assert len(html) > 4_000_000
    art = extract_article(html, "https://example.de/a")
    assert art.is_article and GERMAN in art.text


def test_deeply_nested_markup() -> None:
    html = "<div>" * 5000 + "<p>" + GERMAN + "</p>" + "</div>" * 5000
    art = extract_article(html, "https://example.de/a")
    assert GERMAN in art.text
