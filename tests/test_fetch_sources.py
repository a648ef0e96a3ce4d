"""Sources to candidates on the local test web: feeds, sitemaps, listing pages, conditional GET."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from pipeline.config import Settings, Source
from pipeline.fetch import Fetcher, SourceResult, SourceState
from pipeline.fetch.charset import decode_body
from pipeline.fetch.errors import ParseError
from pipeline.fetch.feeds import parse_feed
from pipeline.fetch.listing import parse_listing, site_of
from pipeline.fetch.sitemaps import parse_sitemap, parse_w3c_date
from tests.testweb import LocalWeb, LoggedRequest, Response, testweb_fixture  # noqa: F401 - fixture

FAST = Settings(
    allow_private_networks=True,
    per_host_delay=0.0,
    per_host_concurrency=4,
    connect_timeout=1.0,
    read_timeout=1.0,
    total_timeout=3.0,
    max_retries=0,
    max_body_size=1_000_000,
)


def fetch(
    web: LocalWeb,
    kind: str,
    path: str,
    state: SourceState | None = None,
    settings: Settings = FAST,
    **source: Any,
) -> SourceResult:
    src = Source(key="s", name="s", kind=kind, url=web.url(path), **source)

    async def go() -> SourceResult:
        async with Fetcher(settings) as f:
            return await f.fetch_source(src, state or SourceState())

    return asyncio.run(go())


RSS2 = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>News</title>
<link>https://example.com/</link>
<item><title>Older story</title><link>/news/older</link><guid isPermaLink="false">id-1</guid>
 <pubDate>Mon, 01 Jan 2024 10:00:00 GMT</pubDate><description>First &amp; old</description>
 <author>desk@example.com (Jo Smith)</author></item>
<item><title>Newer story</title><link>https://example.com/news/newer</link>
 <pubDate>Tue, 02 Jan 2024 09:30:00 +0100</pubDate><dc:creator>Ann Lee</dc:creator></item>
<item><title>No link at all</title><description>dropped</description></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom news</title><id>urn:x</id>
<updated>2024-03-01T00:00:00Z</updated>
<entry><title>Atom one</title><id>urn:uuid:1</id><link rel="alternate" href="https://example.org/a/1"/>
 <link rel="enclosure" href="https://example.org/a/1.mp3" type="audio/mpeg"/>
 <published>2024-03-01T08:00:00+02:00</published><updated>2024-03-02T08:00:00Z</updated>
 <author><name>Kim</name></author><summary>Sum one</summary></entry>
</feed>"""

RDF = """<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://example.net/"><title>RDF</title><link>https://example.net/</link></channel>
<item rdf:about="https://example.net/r/1"><title>RDF one</title><link>https://example.net/r/1</link>
 <dc:date>2024-02-01T12:00:00Z</dc:date><dc:creator>Lee</dc:creator></item>
</rdf:RDF>"""

RSS091 = """<?xml version="1.0"?><rss version="0.91"><channel><title>Old</title><link>https://old.example/</link>
<description>d</description><language>en</language>
<item><title>Ninety-one</title><link>https://old.example/91</link><description>x</description></item>
</channel></rss>"""

JSONFEED = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "JF",
    "home_page_url": "https://jf.example/",
    "authors": [{"name": "Feed Author"}],
    "items": [
        {
            "id": "1",
            "url": "/posts/1",
            "title": "JSON one",
            "summary": "s1",
            "date_published": "2024-04-01T10:00:00Z",
            "date_modified": "2024-04-02T10:00:00+02:00",
        },
        {
            "id": "2",
            "external_url": "https://other.example/2",
            "content_text": "body two",
            "authors": [{"name": "Item Author"}],
        },
        {"id": "3", "title": "no url"},
    ],
}
JSONFEED_10 = {
    "version": "https://jsonfeed.org/version/1",
    "title": "JF1",
    "items": [
        {
            "id": "a",
            "url": "https://jf.example/a",
            "author": {"name": "Old Style"},
            "date_published": "2023-12-31T23:00:00-01:00",
        }
    ],
}


def test_rss2_items_become_candidates_newest_first(testweb: LocalWeb) -> None:
    testweb.add("/feed.xml", RSS2, content_type="application/rss+xml")
    r = fetch(testweb, "feed", "/feed.xml")
    assert r.status == "ok" and r.http_status == 200 and r.error is None
    assert r.items_seen == 2  # the item without a link is not a candidate
    newer, older = r.candidates
    assert newer.url == "https://example.com/news/newer"
    assert newer.published_at == datetime(2024, 1, 2, 8, 30, tzinfo=UTC)
    assert newer.authors == ["Ann Lee"]
    assert older.url == testweb.url("/news/older")  # relative link resolved against the feed URL
    assert older.title == "Older story" and older.summary == "First & old"
    assert older.authors == ["Jo Smith"]
    assert older.guid and older.guid.endswith("id-1")
    assert r.body_hash and r.bytes > 0


def test_atom_rdf_and_rss091(testweb: LocalWeb) -> None:
    testweb.add("/atom", ATOM, content_type="application/atom+xml")
    testweb.add("/rdf", RDF, content_type="application/rdf+xml")
    testweb.add("/rss091", RSS091, content_type="text/xml")
    atom = fetch(testweb, "feed", "/atom").candidates
    assert [c.url for c in atom] == ["https://example.org/a/1"]
    assert atom[0].published_at == datetime(2024, 3, 1, 6, 0, tzinfo=UTC)
    assert atom[0].updated_at == datetime(2024, 3, 2, 8, 0, tzinfo=UTC)
    assert atom[0].authors == ["Kim"] and atom[0].guid == "urn:uuid:1" and atom[0].summary == "Sum one"
    rdf = fetch(testweb, "feed", "/rdf").candidates
    assert rdf[0].url == "https://example.net/r/1" and rdf[0].title == "RDF one"
    assert rdf[0].updated_at == datetime(
        2024, 2, 1, 12, 0, tzinfo=UTC
    )  # dc:date and rdf[0].authors == ["Lee"]
    old = fetch(testweb, "feed", "/rss091").candidates
    assert [(c.url, c.title) for c in old] == [("https://old.example/91", "Ninety-one")]


def test_json_feed_11_and_10(testweb: LocalWeb) -> None:
    testweb.add("/feed.json", json.dumps(JSONFEED), content_type="application/feed+json")
    testweb.add("/feed10.json", json.dumps(JSONFEED_10), content_type="application/json")
    r = fetch(testweb, "feed", "/feed.json")
    assert r.status == "ok"
    by_url = {c.url: c for c in r.candidates}
    assert set(by_url) == {"https://jf.example/posts/1", "https://other.example/2"}
    one = by_url["https://jf.example/posts/1"]
    assert one.title == "JSON one" and one.guid == "1" and one.authors == ["Feed Author"]
    assert one.published_at == datetime(2024, 4, 1, 10, 0, tzinfo=UTC)
    assert one.updated_at == datetime(2024, 4, 2, 8, 0, tzinfo=UTC)
    assert by_url["https://other.example/2"].authors == ["Item Author"]
    old = fetch(testweb, "feed", "/feed10.json").candidates
    assert old[0].authors == ["Old Style"] and old[0].published_at == datetime(2024, 1, 1, 0, 0, tzinfo=UTC)


def test_malformed_feeds(testweb: LocalWeb) -> None:
    testweb.add("/garbage", "<rss><channel><item><title>broken", content_type="application/rss+xml")
    testweb.add(
        "/notjson",
        '{"version": "https://jsonfeed.org/version/1.1", "items": [',
        content_type="application/json",
    )
    testweb.add(
        "/html",
        '<html><head><link rel="alternate" type="application/rss+xml" href="/rss/news.xml">'
        "</head><body><p>just a page</p></body></html>",
        content_type="text/html",
    )
    # Unescaped "&" makes this invalid XML, but feedparser's lenient mode still reads the item.
    testweb.add(
        "/lenient", RSS2.replace("First &amp; old", "First & old"), content_type="application/rss+xml"
    )
    bad = fetch(testweb, "feed", "/garbage")
    assert bad.status == "error" and "malformed feed" in (bad.error or "")
    assert bad.body_hash is None  # so the next fetch parses again
    assert fetch(testweb, "feed", "/notjson").error.startswith("malformed JSON feed")
    html_error = fetch(testweb, "feed", "/html").error or ""
    assert html_error.startswith("got an HTML page where a feed was expected")
    assert f"the page links to feeds: {testweb.url('/rss/news.xml')}" in html_error
    testweb.add(
        "/empty", '<rss version="2.0"><channel><title>quiet</title></channel></rss>', content_type="text/xml"
    )
    empty = fetch(testweb, "feed", "/empty")
    assert empty.status == "ok" and empty.candidates == []
    lenient = fetch(testweb, "feed", "/lenient")
    assert lenient.status == "ok" and len(lenient.candidates) == 2


def test_feed_body_is_never_treated_as_a_path() -> None:
    # feedparser opens str/bytes arguments that look like file names; we must pass a stream.
    try:
        parse_feed(b"/etc/hostname", "https://x.example/feed")
    except Exception as exc:  # noqa: BLE001
        assert "feed" in str(exc)
    else:
        raise AssertionError("a file path in the body must not parse as a feed")


def test_conditional_get_304_and_unchanged_body(testweb: LocalWeb) -> None:
    def handler(req: LoggedRequest) -> Response:
        if req.headers.get("if-none-match") == '"v1"':
            return Response(b"", 304, None, {"ETag": '"v1"'})
        return Response(
            RSS2,
            content_type="application/rss+xml",
            headers={"ETag": '"v1"', "Last-Modified": "Mon, 01 Jan 2024 10:00:00 GMT"},
        )

    testweb.route("/cond.xml", handler)
    first = fetch(testweb, "feed", "/cond.xml")
    assert first.status == "ok" and first.etag == '"v1"'
    assert first.last_modified == "Mon, 01 Jan 2024 10:00:00 GMT"
    state = SourceState(first.etag, first.last_modified, first.body_hash)
    second = fetch(testweb, "feed", "/cond.xml", state)
    sent = testweb.requests("/cond.xml")[-1].headers
    assert sent["if-none-match"] == '"v1"' and sent["if-modified-since"] == "Mon, 01 Jan 2024 10:00:00 GMT"
    assert second.status == "not_modified" and second.http_status == 304 and second.candidates == []
    assert (second.etag, second.last_modified, second.body_hash) == (
        first.etag,
        first.last_modified,
        first.body_hash,
    )

    # Validators that do not fit the sources row (or are not printable) are not kept.
    testweb.add(
        "/odd.xml",
        RSS2,
        content_type="application/rss+xml",
        headers={"ETag": '"' + "x" * 2000 + '"', "Last-Modified": "Mon, 01 Jan 2024 10:00:00 GMT;" + "x" * 90},
    )
    odd = fetch(testweb, "feed", "/odd.xml")
    assert odd.status == "ok" and odd.etag is None and odd.last_modified is None

    # A server that sends fresh validators for the same body: the body hash catches it, no parsing.
    counter = iter(range(100))
    testweb.route(
        "/newetag.xml",
        lambda _r: Response(
            RSS2, content_type="application/rss+xml", headers={"ETag": f'"e{next(counter)}"'}
        ),
    )
    a = fetch(testweb, "feed", "/newetag.xml")
    b = fetch(testweb, "feed", "/newetag.xml", SourceState(a.etag, None, a.body_hash))
    assert b.status == "unchanged" and b.candidates == [] and b.etag == '"e1"' and b.body_hash == a.body_hash


URLSET = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
<url><loc>https://site.example/a</loc><lastmod>2024-05-01</lastmod>
 <image:image><image:loc>https://site.example/a.jpg</image:loc></image:image></url>
<url><loc>https://site.example/b</loc><lastmod>2024-05-03T10:00:00+02:00</lastmod></url>
<url><loc>https://site.example/c?x=1&amp;y=2</loc></url>
</urlset>"""

NEWS = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>https://news.example/n1</loc><news:news><news:publication><news:name>N</news:name>
 <news:language>en</news:language></news:publication><news:publication_date>2024-06-01T09:00:00Z</news:publication_date>
 <news:title>Ban takes effect</news:title></news:news></url>
<url><loc>https://news.example/n2</loc><news:news><news:publication_date>2024-06-02</news:publication_date>
 <news:title>Second</news:title></news:news></url>
</urlset>"""


def _index(web: LocalWeb, children: list[tuple[str, str | None]]) -> str:
    parts = [
        f"<sitemap><loc>{web.url(p)}</loc>" + (f"<lastmod>{m}</lastmod>" if m else "") + "</sitemap>"
        for p, m in children
    ]
    return (
        '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + "".join(parts)
        + "</sitemapindex>"
    )


def test_sitemap_urlset_and_news(testweb: LocalWeb) -> None:
    testweb.add("/sitemap.xml", URLSET, content_type="application/xml")
    testweb.add("/news.xml", NEWS, content_type="text/xml")
    r = fetch(testweb, "sitemap", "/sitemap.xml")
    assert r.status == "ok"
    assert [c.url for c in r.candidates] == [
        "https://site.example/b",
        "https://site.example/a",
        "https://site.example/c?x=1&y=2",
    ]  # newest first, undated last
    assert r.candidates[0].updated_at == datetime(2024, 5, 3, 8, 0, tzinfo=UTC)
    news = fetch(testweb, "sitemap", "/news.xml").candidates
    assert [(c.url, c.title) for c in news] == [
        ("https://news.example/n2", "Second"),
        ("https://news.example/n1", "Ban takes effect"),
    ]
    assert news[1].published_at == datetime(2024, 6, 1, 9, 0, tzinfo=UTC)


def test_sitemap_index_follows_newest_children_bounded(testweb: LocalWeb) -> None:
    for i in range(8):
        testweb.add(
            f"/sm-{i}.xml", URLSET.replace("site.example/", f"site.example/{i}/"), content_type="text/xml"
        )
    testweb.add(
        "/index.xml",
        _index(testweb, [(f"/sm-{i}.xml", f"2024-01-0{i + 1}") for i in range(8)]),
        content_type="application/xml",
    )
    src = Source(key="s", name="s", kind="sitemap", url=testweb.url("/index.xml"))

    async def go() -> SourceResult:
        async with Fetcher(FAST, max_child_sitemaps=3) as f:
            return await f.fetch_source(src, SourceState())

    r = asyncio.run(go())
    assert r.status == "ok" and r.error is None
    fetched = {req.path for req in testweb.requests() if req.path.startswith("/sm-")}
    assert fetched == {"/sm-7.xml", "/sm-6.xml", "/sm-5.xml"}  # the three newest by lastmod
    assert len(r.candidates) == 9 and r.bytes > len(URLSET) * 3


def test_sitemap_gzip_file_and_gzip_encoding(testweb: LocalWeb) -> None:
    testweb.add("/sitemap.xml.gz", gzip.compress(URLSET.encode()), content_type="application/x-gzip")
    testweb.add_gzipped("/enc.xml", NEWS, content_type="application/xml")
    assert len(fetch(testweb, "sitemap", "/sitemap.xml.gz").candidates) == 3
    r = fetch(testweb, "sitemap", "/enc.xml")
    assert len(r.candidates) == 2
    assert testweb.requests("/enc.xml")[0].headers["accept-encoding"].startswith("gzip, deflate")


def test_sitemap_index_with_failing_child_and_malformed_sitemaps(testweb: LocalWeb) -> None:
    testweb.add("/ok.xml", URLSET, content_type="text/xml")
    testweb.add(
        "/broken.xml", "<urlset><url><loc>https://x.example/1</loc></url><url><loc>", content_type="text/xml"
    )
    testweb.add("/junk.xml", "<<<<not xml", content_type="text/xml")
    testweb.add(
        "/index.xml", _index(testweb, [("/ok.xml", None), ("/missing.xml", None)]), content_type="text/xml"
    )
    r = fetch(testweb, "sitemap", "/index.xml")
    assert r.status == "ok" and len(r.candidates) == 3
    assert r.error and "1 of 2 child sitemaps failed" in r.error and "404" in r.error
    salvaged = fetch(testweb, "sitemap", "/broken.xml")
    assert salvaged.status == "ok" and [c.url for c in salvaged.candidates] == ["https://x.example/1"]
    junk = fetch(testweb, "sitemap", "/junk.xml")
    assert junk.status == "error" and "malformed sitemap XML" in (junk.error or "")
    testweb.add("/index2.xml", _index(testweb, [("/junk.xml", None)]), content_type="text/xml")
    assert "all 1 child sitemaps failed" in (fetch(testweb, "sitemap", "/index2.xml").error or "")


def test_w3c_dates() -> None:
    assert parse_w3c_date("2024-05") == datetime(2024, 5, 1, tzinfo=UTC)
    assert parse_w3c_date("2024-05-01T10:00:00.123-0500") == datetime(
        2024, 5, 1, 15, 0, 0, 123000, tzinfo=UTC
    )
    assert parse_w3c_date("yesterday") is None


LISTING = """<html><head><base href="/section/"></head><body>
<nav><a href="/about">About</a></nav>
<div class="teaser"><h2><a href="story-1.html">  Story
 one </a></h2></div>
<div class="teaser"><h2><a href="https://www.site.example:{port}/section/story-2.html#comments">Story two</a></h2></div>
<div class="teaser"><h2><a href="https://ads.other.example/click">Sponsored</a></h2></div>
<div class="teaser"><h2><a href="story-1.html">Story one again</a></h2></div>
<div class="teaser"><h2><a href="javascript:void(0)">JS</a></h2></div>
<div class="teaser"><span>no link</span></div>
</body></html>"""


def test_html_listing_selector_relative_links_same_site(testweb: LocalWeb) -> None:
    testweb.add("/list", LISTING.format(port=testweb.port), host="news.site.example")
    src = Source(
        key="s",
        name="s",
        kind="html",
        url=testweb.url("/list", host="news.site.example"),
        link_selector="div.teaser",
    )

    async def go() -> SourceResult:
        async with Fetcher(FAST, resolver=testweb.resolve) as f:
            return await f.fetch_source(src, SourceState())

    r = asyncio.run(go())
    assert r.status == "ok", r.error
    assert [(c.url, c.title) for c in r.candidates] == [
        (f"http://news.site.example:{testweb.port}/section/story-1.html", "Story one"),
        (f"https://www.site.example:{testweb.port}/section/story-2.html", "Story two"),
    ]


def test_site_of() -> None:
    assert site_of("news.bbc.co.uk") == "bbc.co.uk"
    assert site_of("www.example.com") == site_of("example.com") == "example.com"
    assert site_of("ads.other.example") != site_of("news.site.example")
    assert site_of("127.0.0.1") != site_of("10.0.0.1")


def test_candidates_capped_newest_first(testweb: LocalWeb) -> None:
    items = "".join(
        f"<item><title>t{i}</title><link>https://e.example/{i}</link>"
        f"<pubDate>Mon, {i + 1:02d} Jan 2024 10:00:00 GMT</pubDate></item>"
        for i in range(20)
    )
    testweb.add(
        "/many.xml",
        f'<rss version="2.0"><channel><title>x</title>{items}</channel></rss>',
        content_type="application/rss+xml",
    )
    r = fetch(testweb, "feed", "/many.xml", max_articles=3)
    assert r.items_seen == 20 and [c.url for c in r.candidates] == [
        f"https://e.example/{i}" for i in (19, 18, 17)
    ]
    r = fetch(testweb, "feed", "/many.xml", settings=replace(FAST, max_articles_per_source=5))
    assert len(r.candidates) == 5


RICH_RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>Rich</title><link>https://rich.example/</link>
<item><title>Ban on &lt;b&gt;routers&lt;/b&gt; &amp; modems</title><link>https://rich.example/1</link>
 <guid isPermaLink="true">https://rich.example/1</guid><pubDate>Wed, 05 Jun 2024 14:03:00 -0400</pubDate>
 <description><![CDATA[<p>The <a href="/x">agency</a> said <script>alert(1)</script>on Tuesday&nbsp;it will act.</p>]]></description>
 <dc:creator>Ann Lee</dc:creator><dc:creator>Bo Chen</dc:creator></item>
<item><title>Guid only</title><guid>https://rich.example/2</guid><pubDate>2024-06-04T10:00:00Z</pubDate>
 <content:encoded><![CDATA[<div>Full   text</div>]]></content:encoded></item>
</channel></rss>"""


def test_fast_feed_path_agrees_with_feedparser() -> None:
    def view(cands: list) -> list[tuple]:
        return [
            (
                c.url,
                c.title,
                c.summary,
                c.published_at,
                c.updated_at,
                c.authors,
                c.guid if c.guid and c.guid.startswith("http") else None,
            )
            for c in cands
        ]

    for doc in (RSS2, ATOM, RSS091, RICH_RSS):
        fast, slow = (
            parse_feed(doc.encode(), "https://base.example/feed", fast=True),
            parse_feed(doc.encode(), "https://base.example/feed", fast=False),
        )
        assert view(fast) == view(slow), doc[:80]
    rich = parse_feed(RICH_RSS.encode(), "https://rich.example/feed")
    assert rich[0].title == "Ban on routers & modems"
    assert rich[0].summary == "The agency said on Tuesday it will act."
    assert rich[1].url == "https://rich.example/2" and rich[1].summary == "Full text"


_XMLISH = st.one_of(
    st.binary(max_size=2000),
    st.text(
        alphabet=st.sampled_from(list("<>/=\"' &;!?[]-abcdefghilmnorstuvx:0123456789\n")), max_size=400
    ).map(lambda t: t.encode()),
    st.sampled_from([RSS2, ATOM, RDF, URLSET, NEWS, json.dumps(JSONFEED)]).flatmap(
        lambda doc: st.integers(0, len(doc)).map(lambda cut: doc[:cut].encode())
    ),  # truncated documents
)


@given(body=_XMLISH, ctype=st.sampled_from([None, "text/xml", "application/json", "text/html; charset=foo"]))
@hypothesis_settings(max_examples=150, deadline=None)
def test_hostile_bodies_never_crash_the_parsers(body: bytes, ctype: str | None) -> None:
    for parse in (
        lambda: parse_feed(body, "https://h.example/f", ctype),
        lambda: parse_sitemap(body, "https://h.example/s"),
    ):
        try:
            result = parse()
        except ParseError:
            continue
        assert result is not None
    assert isinstance(parse_listing(body.decode("utf-8", "replace"), "https://h.example/", "a"), list)
    text, encoding = decode_body(body, ctype)
    assert isinstance(text, str) and encoding


@pytest.mark.parametrize("label", ["undefined", "punycode", "idna"])
def test_python_only_codecs_are_not_charsets(label: str) -> None:
    """A page labelled with a codec no web page uses must not make decode_body raise (it promises not
    to) nor spend seconds in it (punycode decoding is quadratic: this body took 1.4 s)."""
    body = b"<p>" + b"a" * 50_000 + b"-" + b"b" * 50_000
    started = time.perf_counter()
    text, encoding = decode_body(body, f"text/html; charset={label}")
    assert (text, encoding) == (body.decode(), "utf-8")
    assert time.perf_counter() - started < 1.0


def test_unchanged_sitemap_index_still_reads_its_children(testweb: LocalWeb) -> None:
    testweb.add("/news-sm.xml", NEWS, content_type="text/xml")
    testweb.add(
        "/idx.xml",
        _index(testweb, [("/news-sm.xml", None)]),
        content_type="text/xml",
        headers={"ETag": '"same"'},
    )
    first = fetch(testweb, "sitemap", "/idx.xml")
    assert first.status == "ok" and len(first.candidates) == 2 and first.body_hash.startswith("index:")
    assert len(first.body_hash) == 64  # the width of sources.body_hash
    testweb.add("/news-sm.xml", NEWS.replace("news.example/n2", "news.example/n3"), content_type="text/xml")
    second = fetch(
        testweb, "sitemap", "/idx.xml", SourceState(first.etag, first.last_modified, first.body_hash)
    )
    assert second.status == "ok" and "https://news.example/n3" in {c.url for c in second.candidates}
    assert "if-none-match" not in testweb.requests("/idx.xml")[-1].headers


def test_odd_feed_dates_go_through_the_lenient_parser_without_raising() -> None:
    from pipeline.fetch.fastfeed import parse_date

    parse_date("2024-13-45")  # the lenient parser's own oddities must not raise
    assert parse_date("Mon, 32 Jan 2024 00:00:00 GMT") is None
    assert parse_date("not a date at all") is None
    assert parse_date("Thu, 20 Jun 2024 15:00:00 +0000").isoformat() == "2024-06-20T15:00:00+00:00"


def _urlset(*urls: str) -> str:
    locs = "".join(f"<url><loc>{u}</loc></url>" for u in urls)
    return f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</urlset>'


@pytest.mark.parametrize("path", ["/top.xml", "/redirected-top.xml"])  # a redirect is no extra level
def test_nested_sitemap_indexes_are_followed_to_the_depth_limit(testweb: LocalWeb, path: str) -> None:
    testweb.add_redirect("/redirected-top.xml", "/top.xml")
    testweb.add("/top.xml", _index(testweb, [("/mid.xml", None)]), content_type="text/xml")
    testweb.add("/mid.xml", _index(testweb, [("/low.xml", None)]), content_type="text/xml")
    testweb.add(
        "/low.xml", _index(testweb, [("/leaf.xml", None), ("/deep.xml", None)]), content_type="text/xml"
    )
    testweb.add("/leaf.xml", _urlset("https://site.example/deep-news"), content_type="text/xml")
    testweb.add("/deep.xml", _index(testweb, [("/deeper.xml", None)]), content_type="text/xml")
    testweb.add("/deeper.xml", _urlset("https://site.example/too-deep"), content_type="text/xml")
    r = fetch(testweb, "sitemap", path)
    assert r.status == "ok" and [c.url for c in r.candidates] == ["https://site.example/deep-news"]
    assert "nested deeper than 3 levels" in (r.error or "") and "/deep.xml" in (r.error or "")
    assert testweb.requests("/deeper.xml") == []


def test_sitemap_index_loops_are_not_followed(testweb: LocalWeb) -> None:
    testweb.add(
        "/a.xml",
        _index(testweb, [("/a.xml", None), ("/b.xml", None), ("/c.xml", None)]),
        content_type="text/xml",
    )
    testweb.add("/b.xml", _index(testweb, [("/a.xml", None), ("/c.xml", None)]), content_type="text/xml")
    testweb.add("/c.xml", _urlset("https://site.example/c"), content_type="text/xml")
    r = fetch(testweb, "sitemap", "/a.xml")
    assert r.status == "ok" and [c.url for c in r.candidates] == ["https://site.example/c"]
    assert "loop not followed" in (r.error or "")
    assert [len(testweb.requests(p)) for p in ("/a.xml", "/b.xml", "/c.xml")] == [1, 1, 1]


def test_nested_index_budget_goes_to_the_newest_branch(testweb: LocalWeb) -> None:
    months = []
    for m in (1, 2, 3):
        days = [(f"/2024-0{m}-{d:02d}.xml", f"2024-0{m}-{d:02d}") for d in (27, 28, 26)]
        for path, _ in days:
            testweb.add(path, _urlset(f"https://site.example{path}.html"), content_type="text/xml")
        testweb.add(f"/month-{m}.xml", _index(testweb, days), content_type="text/xml")
        months.append((f"/month-{m}.xml", f"2024-0{m}-28"))
    testweb.add("/months.xml", _index(testweb, months), content_type="text/xml")
    src = Source(key="s", name="s", kind="sitemap", url=testweb.url("/months.xml"))

    async def go() -> SourceResult:
        async with Fetcher(replace(FAST, per_host_concurrency=1), max_child_sitemaps=3) as f:
            return await f.fetch_source(src, SourceState())

    r = asyncio.run(go())
    assert r.status == "ok" and r.error is None
    fetched = [req.path for req in testweb.requests() if req.path not in ("/months.xml", "/robots.txt")]
    assert fetched == ["/month-3.xml", "/2024-03-28.xml", "/2024-03-27.xml"]
    assert [c.url for c in r.candidates] == [
        "https://site.example/2024-03-28.xml.html",
        "https://site.example/2024-03-27.xml.html",
    ]


def test_feed_and_sitemap_urls_serving_an_html_page_say_so(testweb: LocalWeb) -> None:
    soft_404 = "<!DOCTYPE html><html><head><title>Page not found</title></head><body>Oops</body></html>"
    testweb.add("/feed.xml", soft_404)  # e.g. a redesign dropped the feed; the CMS answers 200
    testweb.add("/sitemap.xml", soft_404)
    for kind, path in (("feed", "/feed.xml"), ("sitemap", "/sitemap.xml")):
        r = fetch(testweb, kind, path)
        assert r.status == "error" and r.http_status == 200
        assert f"got an HTML page titled 'Page not found' where a {kind} was expected" in (r.error or "")


def test_empty_200_body_is_reported_as_empty(testweb: LocalWeb) -> None:
    testweb.add("/feed.xml", " \n", content_type="application/rss+xml")
    r = fetch(testweb, "feed", "/feed.xml")
    assert r.status == "error" and r.error == "empty response body (HTTP 200)" and r.body_hash is None


def test_gone_source_tells_the_operator_to_update_it(testweb: LocalWeb) -> None:
    testweb.add("/feed.xml", "gone", 410, content_type="text/plain")
    r = fetch(testweb, "feed", "/feed.xml")
    assert r.status == "error" and r.http_status == 410
    assert "HTTP 410 Gone" in (r.error or "") and "update or disable the source" in (r.error or "")


def test_permanently_moved_source_is_noted(testweb: LocalWeb) -> None:
    testweb.add("/new.xml", RSS2, content_type="application/rss+xml")
    testweb.add_redirect("/old.xml", "/new.xml", 301)
    testweb.add_redirect("/tmp.xml", "/new.xml", 302)
    r = fetch(testweb, "feed", "/old.xml")
    assert r.status == "ok" and len(r.candidates) == 2
    assert r.error == f"moved permanently to {testweb.url('/new.xml')}: update the source URL"
    assert fetch(testweb, "feed", "/tmp.xml").error is None  # a temporary redirect is no news


def test_undated_numbered_child_sitemaps_are_read_highest_number_first(testweb: LocalWeb) -> None:
    # WordPress's own wp-sitemap.xml: no lastmod, page 1 holds the oldest posts.
    pages = [f"/wp-sitemap-posts-post-{n}.xml" for n in range(1, 8)] + ["/wp-sitemap-users-1.xml"]
    for path in pages:
        testweb.add(path, _urlset(f"https://site.example{path}.html"), content_type="text/xml")
    testweb.add("/wp-sitemap.xml", _index(testweb, [(p, None) for p in pages]), content_type="text/xml")
    src = Source(key="s", name="s", kind="sitemap", url=testweb.url("/wp-sitemap.xml"))

    async def go() -> SourceResult:
        async with Fetcher(FAST, max_child_sitemaps=3) as f:
            return await f.fetch_source(src, SourceState())

    r = asyncio.run(go())
    assert r.status == "ok"
    assert {req.path for req in testweb.requests() if req.path.startswith("/wp-sitemap-")} == {
        "/wp-sitemap-posts-post-7.xml",
        "/wp-sitemap-posts-post-6.xml",
        "/wp-sitemap-posts-post-5.xml",
    }


def test_child_sitemap_order_survives_absurd_numbers() -> None:
    from pipeline.fetch.fetcher import numbered_newest_first

    children = [(f"https://h.example/sm-{'9' * 5000}.xml", None), ("https://h.example/sm-2.xml", None)]
    assert [u for u, _ in numbered_newest_first(children)] == [u for u, _ in children]


def test_listing_page_with_a_malformed_link_keeps_its_other_links() -> None:
    """One unterminated IPv6 link (urljoin raises ValueError on it) made the whole listing page fail."""
    html = ('<base href="http://[::1"><a href="http://[::1/x">bad</a><a href="/news/ok">good</a>'
            '<a href="mailto:x@example.com">mail</a>')
    found = parse_listing(html, "https://example.com/news/", "a")
    assert [c.url for c in found] == ["https://example.com/news/ok"]
