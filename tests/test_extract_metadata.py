"""Metadata sources of the extraction stage: each publication-date method, titles, authors, language."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

import pytest

from pipeline.extract import extract_article, extract_metadata_only

URL = "https://news.example.org/politics/some-story-123"
PARAS = "".join(
    f"<p>Paragraph {i} of the article says that the ministry extended the ban on the equipment of the vendor "
    f"to all federal agencies, with effect from next year, after a long consultation.</p>"
    for i in range(4)
)


def page(head: str = "", body: str = "", lang: str = "en") -> str:
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">{head}</head>'
            f"<body><article><h1>Ministry extends vendor ban</h1>{body}{PARAS}</article></body></html>")


def ld(obj: object) -> str:
    return f'<script type="application/ld+json">{json.dumps(obj)}</script>'


@dataclass
class FeedItem:
    title: str | None = None
    published_at: datetime | None = None
    authors: list[str] = field(default_factory=list)
    summary: str | None = None


def test_jsonld_graph_gives_date_authors_and_headline() -> None:
    html = page(ld({"@context": "https://schema.org", "@graph": [
        {"@type": "WebSite", "name": "Example"},
        {"@type": ["NewsArticle"], "headline": "Ministry extends vendor ban",
         "datePublished": "2024-03-01T10:00:00+01:00", "dateModified": "2024-03-02T08:00:00+01:00",
         "author": [{"@type": "Person", "name": "Ann Smith"}, {"@type": "Person", "name": "Bo Li"}],
         "publisher": {"@type": "Organization", "name": "Example News"}},
    ]}))
    art = extract_article(html, URL)
    assert art.published_at == datetime(2024, 3, 1, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    assert art.published_at.utcoffset() == timedelta(hours=1)  # the page's offset is kept
    assert art.published_at_method == "json-ld"
    assert art.modified_at == datetime(2024, 3, 2, 7, 0, tzinfo=UTC)
    assert art.authors == ["Ann Smith", "Bo Li"]
    assert art.title == "Ministry extends vendor ban"
    assert art.site_name == "Example News"


def test_jsonld_top_level_list_and_string_author() -> None:
    html = page(ld([{"@type": "Organization", "name": "X"},
                    {"@type": "ReportageNewsArticle", "datePublished": "2023-11-05", "author": "Carla Ruiz"}]))
    art = extract_article(html, URL)
    assert art.published_at is not None and art.published_at.date().isoformat() == "2023-11-05"
    assert art.published_at.tzinfo is not None
    assert art.authors == ["Carla Ruiz"]


def test_broken_jsonld_is_tolerated() -> None:
    html = page('<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": '
                '"2022-02-02T12:00:00Z",}</script>')
    art = extract_article(html, URL)
    assert art.published_at_method == "json-ld"
    assert art.published_at == datetime(2022, 2, 2, 12, tzinfo=UTC)


def test_opengraph_article_published_time() -> None:
    html = page('<meta property="og:title" content="Ministry extends vendor ban | Example">'
                '<meta property="og:site_name" content="Example">'
                '<meta property="article:modified_time" content="2024-06-02T09:00:00-04:00">'
                '<meta property="article:published_time" content="2024-06-01T21:30:00-04:00">'
                '<meta property="article:author" content="Dana White">')
    art = extract_article(html, URL)
    assert art.published_at_method == "opengraph"
    assert art.published_at == datetime(2024, 6, 1, 21, 30, tzinfo=timezone(timedelta(hours=-4)))
    assert art.published_at.date().isoformat() == "2024-06-01"  # the page's own day, not UTC's
    assert art.modified_at is not None and art.modified_at.day == 2
    assert art.site_name == "Example"
    assert art.authors == ["Dana White"]


def test_author_lists_are_split_and_cleaned() -> None:
    html = page(ld({"@type": "NewsArticle", "datePublished": "2024-01-01",
                    "author": [{"name": "Von Anna Berg (ab) und Karl Ek, dpa"}, {"name": "kontakt@example.org"}]}))
    assert extract_article(html, URL).authors == ["Anna Berg", "Karl Ek", "dpa"]


def test_dublin_core() -> None:
    html = page('<meta name="DC.date.issued" content="2021-09-15">'
                '<meta name="DC.creator" content="Erik Berg">')
    art = extract_article(html, URL)
    assert art.published_at_method == "dublin-core"
    assert art.published_at.date().isoformat() == "2021-09-15"
    assert art.authors == ["Erik Berg"]


def test_generic_meta_date() -> None:
    art = extract_article(page('<meta name="pubdate" content="20200131T080000Z">'), URL)
    assert art.published_at_method == "meta"
    assert art.published_at == datetime(2020, 1, 31, 8, tzinfo=UTC)


def test_itemprop_element() -> None:
    html = page(body='<span itemprop="datePublished" content="2019-07-04T12:00:00+00:00">4 July</span>')
    art = extract_article(html, URL)
    assert art.published_at_method == "itemprop"
    assert art.published_at.date().isoformat() == "2019-07-04"


def test_time_element_prefers_publication_over_update() -> None:
    html = page(body='<time class="updated" datetime="2024-02-10T10:00:00+01:00">updated</time>'
                     '<time datetime="2024-02-08T07:45:00+01:00" pubdate>8 Feb</time>')
    art = extract_article(html, URL)
    assert art.published_at_method == "time-element"
    assert art.published_at.date().isoformat() == "2024-02-08"


def test_url_path_date() -> None:
    art = extract_article(page(), "https://example.org/2023/10/07/vendor-ban/")
    assert art.published_at_method == "url"
    assert art.published_at.date().isoformat() == "2023-10-07"


def test_feed_item_fallback() -> None:
    item = FeedItem(title="Feed title", published_at=datetime(2024, 1, 2, 3, 4, tzinfo=UTC), authors=["Feed Author"])
    art = extract_article(page(), URL, feed_item=item)
    assert art.published_at_method == "feed"
    assert art.published_at == datetime(2024, 1, 2, 3, 4, tzinfo=UTC)
    assert art.authors == ["Feed Author"]


def test_feed_item_title_when_page_has_none() -> None:
    html = "<html><body>" + PARAS + "</body></html>"
    art = extract_article(html, URL, feed_item=FeedItem(title="From the feed"))
    assert art.title == "From the feed"


def test_feed_item_odd_shapes_are_tolerated() -> None:
    """Duck typing: a string author, a naive datetime, an HTML summary, a non-string title."""
    item = FeedItem(title=None, published_at=datetime(2024, 1, 2, 3, 4), summary="<p>Short &amp; <b>sweet</b></p>")
    item.authors = "Solo Author"  # type: ignore[assignment]
    art = extract_article("<html><body>" + PARAS + "</body></html>", URL, feed_item=item)
    assert art.published_at == datetime(2024, 1, 2, 3, 4, tzinfo=UTC)
    assert art.authors == ["Solo Author"]
    assert art.description == "Short & sweet"


def test_page_metadata_wins_over_feed() -> None:
    item = FeedItem(published_at=datetime(2024, 1, 9, tzinfo=UTC))
    art = extract_article(page(ld({"@type": "NewsArticle", "datePublished": "2024-01-08T10:00:00Z"})), URL,
                          feed_item=item)
    assert art.published_at_method == "json-ld"
    assert art.published_at.day == 8


def test_text_date_after_label() -> None:
    html = page(body="<p class='info'>Veröffentlicht am 3. Mai 2024, 14:05 Uhr</p>", lang="de")
    art = extract_article(html, URL)
    assert art.published_at_method == "text"
    assert art.published_at.date().isoformat() == "2024-05-03"


def test_prefer_original_publication_over_update() -> None:
    html = page(ld({"@type": "NewsArticle", "dateModified": "2024-05-09T10:00:00Z",
                    "datePublished": "2024-05-01T10:00:00Z"})
                + '<meta property="article:modified_time" content="2024-05-09T10:00:00Z">')
    art = extract_article(html, URL)
    assert art.published_at.day == 1
    assert art.modified_at is not None and art.modified_at.day == 9


def test_earlier_structured_publication_date_wins() -> None:
    """JSON-LD restamped on an update; OpenGraph still has the first publication."""
    html = page(ld({"@type": "NewsArticle", "datePublished": "2024-05-04T08:00:00+02:00"})
                + '<meta property="article:published_time" content="2024-05-02T07:00:00+02:00">')
    art = extract_article(html, URL)
    assert art.published_at.date().isoformat() == "2024-05-02"
    assert art.published_at_method == "opengraph"


def test_url_day_beats_a_later_metadata_day() -> None:
    """A publisher that stamps datePublished with the update time still shows the original day in its URL."""
    html = page(ld({"@type": "NewsArticle", "datePublished": "2024-05-04T08:00:00+02:00"}))
    art = extract_article(html, "https://example.org/2024/05/02/story/")
    assert art.published_at.date().isoformat() == "2024-05-02"


def test_naive_datetime_takes_page_offset_hint() -> None:
    html = page(ld({"@type": "NewsArticle", "datePublished": "2024-04-01 10:00:00",
                    "dateModified": "2024-04-01T12:00:00+02:00"}))
    art = extract_article(html, URL)
    assert art.published_at == datetime(2024, 4, 1, 10, tzinfo=timezone(timedelta(hours=2)))


def test_naive_datetime_without_hint_is_utc() -> None:
    art = extract_article(page('<meta name="date" content="2024-04-01 10:00">'), URL)
    assert art.published_at == datetime(2024, 4, 1, 10, tzinfo=UTC)


def test_implausible_dates_are_ignored() -> None:
    art = extract_article(page('<meta property="article:published_time" content="2999-01-01T00:00:00Z">'), URL)
    assert art.published_at is None or art.published_at.year < 2999


def test_canonical_and_description() -> None:
    html = page('<link rel="canonical" href="/politics/canonical-story">'
                '<meta name="description" content="A short summary.">')
    art = extract_article(html, URL)
    assert art.canonical_url == "https://news.example.org/politics/canonical-story"
    assert art.description == "A short summary."


def test_title_drops_site_suffix() -> None:
    html = ('<html><head><title>Ministry extends the ban on vendor equipment | Example News</title>'
            '<meta property="og:title" content="Ministry extends the ban on vendor equipment | Example News">'
            "</head><body>" + PARAS + "</body></html>")
    assert extract_article(html, URL).title == "Ministry extends the ban on vendor equipment"


@pytest.mark.parametrize(("lang_attr", "body", "expected"), [
    ("", "<p>" + "Die Regierung hat das Verbot der Geräte des Herstellers auf alle Behörden ausgeweitet, "
     "und die Frist endet im nächsten Jahr. " * 5 + "</p>", "de"),
    ("en", "<p>" + "El gobierno amplió la prohibición de los equipos del fabricante a todas las agencias y "
     "el plazo vence el próximo año. " * 5 + "</p>", "es"),
    ("", "<p>" + "政府は同社の通信機器の使用禁止をすべての省庁に拡大し、来年から適用すると発表した。" * 5 + "</p>", "ja"),
    ("fr", "<p>Court.</p>", "fr"),
])
def test_language(lang_attr: str, body: str, expected: str) -> None:
    html = f'<html lang="{lang_attr}"><body><article>{body}</article></body></html>'
    first = extract_article(html, URL)
    assert first.language == expected
    assert extract_article(html, URL).language == first.language  # deterministic


def test_metadata_only_matches_full_extraction_dates() -> None:
    html = page('<meta property="article:published_time" content="2024-06-01T21:30:00-04:00">')
    assert extract_metadata_only(html, URL).published_at == extract_article(html, URL).published_at
