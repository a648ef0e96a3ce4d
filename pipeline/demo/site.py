"""The demo's sample news web: a few fictional outlets served on 127.0.0.1, one port each.

Each outlet publishes the articles of ``data/articles.toml`` as ordinary news pages (navigation,
byline, OpenGraph and JSON-LD metadata, a "most read" box) and lists them in one kind of source:
an RSS feed, an Atom feed or a news sitemap. The Metro Bulletin's feed answers 500, so a demo run
shows how banwatch records and reports a broken source. Dates are relative to the day of the run,
so the sample news is always recent.
"""

from __future__ import annotations

import json
import re
import threading
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from xml.sax.saxutils import escape as xml_escape


@dataclass(frozen=True)
class Outlet:
    key: str
    name: str
    kind: str  # feed | sitemap
    source_path: str  # where its source lives on its site
    feed_format: str = "rss"  # rss | atom | sitemap
    broken: bool = False


OUTLETS = (
    Outlet("harbour", "The Harbour Times", "feed", "/rss.xml", "rss"),
    Outlet("ledger", "Norvania Daily Ledger", "feed", "/feeds/atom.xml", "atom"),
    Outlet("techwire", "TechWire Norvania", "sitemap", "/sitemap-news.xml", "sitemap"),
    Outlet("metro", "Metro Bulletin", "feed", "/feed/", "rss", broken=True),
)
_DATE = re.compile(r"\{date:([+-]?\d+)\}")


@dataclass(frozen=True)
class Page:
    outlet: str
    path: str
    title: str
    author: str
    published: datetime
    paragraphs: tuple[str, ...]
    copy_of: str | None = None  # path of the original when this is a syndicated copy


def long_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def _render(text: str, today: date) -> str:
    return _DATE.sub(lambda m: long_date(today + timedelta(days=int(m.group(1)))), text)


def load_pages(today: date) -> list[Page]:
    """Every page of the sample web, with dates relative to ``today``."""
    raw = tomllib.loads(resources.files("pipeline.demo").joinpath("data/articles.toml").read_text("utf-8"))
    pages: list[Page] = []
    for art in raw["article"]:
        day = today + timedelta(days=int(art["day"]))
        published = datetime(day.year, day.month, day.day, int(art.get("hour", 9)), tzinfo=UTC)
        paras = tuple(_render(" ".join(p.split()), today) for p in art["body"].strip().split("\n\n") if p.strip())
        path = f"/{day:%Y/%m/%d}/{art['slug']}.html"
        pages.append(Page(art["outlet"], path, _render(art["title"], today), art.get("author", ""), published,
                          paras))
        for cp in art.get("copy", []):
            when = published.replace(hour=int(cp.get("hour", published.hour)))
            pages.append(Page(cp["outlet"], f"/{day:%Y/%m/%d}/{cp['slug']}.html", _render(cp["title"], today),
                              art.get("author", ""), when, paras, copy_of=path))
    return pages


# ---------------------------------------------------------------- rendering


def article_html(outlet: Outlet, page: Page, base: str, others: list[Page]) -> str:
    url = base + page.path
    ld = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": page.title,
          "datePublished": page.published.isoformat(), "author": {"@type": "Person", "name": page.author},
          "publisher": {"@type": "Organization", "name": outlet.name}, "mainEntityOfPage": url}
    paras = "\n".join(f"      <p>{escape(p)}</p>" for p in page.paragraphs)
    most_read = "\n".join(f'        <li><a href="{escape(o.path)}">{escape(o.title)}</a></li>' for o in others[:4])
    credit = ('\n      <p class="credit">Distributed by the Norvania Press Agency.</p>'
              if page.copy_of else "")
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{escape(page.title)} | {escape(outlet.name)}</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="description" content="{escape(page.paragraphs[0][:200])}">
  <meta property="og:type" content="article">
  <meta property="og:site_name" content="{escape(outlet.name)}">
  <meta property="og:title" content="{escape(page.title)}">
  <meta property="og:url" content="{escape(url)}">
  <meta property="article:published_time" content="{page.published.isoformat()}">
  <meta name="author" content="{escape(page.author)}">
  <link rel="canonical" href="{escape(url)}">
  <script type="application/ld+json">{json.dumps(ld)}</script>
</head>
<body>
  <header class="masthead">
    <a class="logo" href="/">{escape(outlet.name)}</a>
    <nav><a href="/">Home</a> <a href="/news/">News</a> <a href="/business/">Business</a>
      <a href="/technology/">Technology</a> <a href="/subscribe/">Subscribe</a></nav>
  </header>
  <main>
    <article>
      <h1>{escape(page.title)}</h1>
      <p class="byline">By {escape(page.author)} · <time datetime="{page.published.isoformat()}">
        {long_date(page.published.date())}</time></p>
{paras}{credit}
    </article>
    <aside class="most-read">
      <h2>Most read</h2>
      <ul>
{most_read}
      </ul>
    </aside>
  </main>
  <footer>© {page.published.year} {escape(outlet.name)} · <a href="/about/">About us</a> ·
    <a href="/privacy/">Privacy</a> · A fictional outlet of the banwatch demo.</footer>
</body>
</html>
"""


def rss(outlet: Outlet, pages: list[Page], base: str) -> str:
    items = "\n".join(
        f"""  <item>
    <title>{xml_escape(p.title)}</title>
    <link>{xml_escape(base + p.path)}</link>
    <guid isPermaLink="true">{xml_escape(base + p.path)}</guid>
    <pubDate>{format_datetime(p.published)}</pubDate>
    <description>{xml_escape(p.paragraphs[0][:240])}</description>
  </item>""" for p in pages)
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0">
<channel>
  <title>{xml_escape(outlet.name)}</title>
  <link>{xml_escape(base)}/</link>
  <description>Latest news from {xml_escape(outlet.name)}</description>
{items}
</channel>
</rss>
"""


def atom(outlet: Outlet, pages: list[Page], base: str) -> str:
    updated = max((p.published for p in pages), default=datetime.now(UTC)).isoformat()
    entries = "\n".join(
        f"""  <entry>
    <title>{xml_escape(p.title)}</title>
    <link rel="alternate" href="{xml_escape(base + p.path)}"/>
    <id>{xml_escape(base + p.path)}</id>
    <published>{p.published.isoformat()}</published>
    <updated>{p.published.isoformat()}</updated>
    <author><name>{xml_escape(p.author)}</name></author>
    <summary>{xml_escape(p.paragraphs[0][:240])}</summary>
  </entry>""" for p in pages)
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>{xml_escape(outlet.name)}</title>
  <id>{xml_escape(base)}/</id>
  <link rel="alternate" href="{xml_escape(base)}/"/>
  <updated>{updated}</updated>
{entries}
</feed>
"""


def news_sitemap(outlet: Outlet, pages: list[Page], base: str) -> str:
    urls = "\n".join(
        f"""  <url>
    <loc>{xml_escape(base + p.path)}</loc>
    <lastmod>{p.published.isoformat()}</lastmod>
    <news:news>
      <news:publication><news:name>{xml_escape(outlet.name)}</news:name><news:language>en</news:language>
      </news:publication>
      <news:publication_date>{p.published.isoformat()}</news:publication_date>
      <news:title>{xml_escape(p.title)}</news:title>
    </news:news>
  </url>""" for p in pages)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
{urls}
</urlset>
"""


def home(outlet: Outlet, pages: list[Page]) -> str:
    items = "\n".join(f'<li><a href="{escape(p.path)}">{escape(p.title)}</a></li>' for p in pages)
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{escape(outlet.name)}</title>"
            f"</head><body><h1>{escape(outlet.name)}</h1><ul>{items}</ul></body></html>")


# ---------------------------------------------------------------- serving


@dataclass
class _Site:
    outlet: Outlet
    all_pages: list[Page]
    clock: Callable[[], datetime | None]
    server: ThreadingHTTPServer | None = None
    thread: threading.Thread | None = None
    requests: list[tuple[str, int]] = field(default_factory=list)

    @property
    def pages(self) -> list[Page]:
        """The pages published by now (the demo replays the news day by day)."""
        now = self.clock()
        return [p for p in self.all_pages if now is None or p.published <= now]

    @property
    def base(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def respond(self, path: str) -> tuple[int, str, str]:
        """(status, content type, body) for a request path."""
        o = self.outlet
        pages = self.pages
        newest = sorted(pages, key=lambda p: p.published, reverse=True)
        if path == "/robots.txt":
            return 200, "text/plain; charset=utf-8", "User-agent: *\nDisallow: /subscribe/\n"
        if path == o.source_path:
            if o.broken:
                return 500, "text/html; charset=utf-8", "<h1>500 Internal Server Error</h1>\n"
            if o.feed_format == "atom":
                return 200, "application/atom+xml; charset=utf-8", atom(o, newest, self.base)
            if o.feed_format == "sitemap":
                return 200, "application/xml; charset=utf-8", news_sitemap(o, newest, self.base)
            return 200, "application/rss+xml; charset=utf-8", rss(o, newest, self.base)
        if path in ("/", "/index.html"):
            return 200, "text/html; charset=utf-8", home(o, newest)
        for p in pages:
            if p.path == path:
                others = [q for q in newest if q.path != path]
                return 200, "text/html; charset=utf-8", article_html(o, p, self.base, others)
        return 404, "text/html; charset=utf-8", "<h1>404 Not Found</h1>\n"


def _handler(site: _Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "demo-news/1.0"

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            path = self.path.split("?", 1)[0]
            status, ctype, body = site.respond(path)
            payload = body.encode("utf-8")
            site.requests.append((path, status))
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # quiet: the demo prints its own summary
            return

    return Handler


class SampleWeb:
    """The outlets, each on its own 127.0.0.1 port; use as a context manager.

    ``published_until`` (None: everything) hides later pages from the feeds and the site, so a run
    can replay the news in the order it was published.
    """

    def __init__(self, today: date | None = None) -> None:
        self.today = today or datetime.now(UTC).date()
        self.published_until: datetime | None = None
        pages = load_pages(self.today)
        self.sites = {o.key: _Site(o, [p for p in pages if p.outlet == o.key], lambda: self.published_until)
                      for o in OUTLETS}

    def __enter__(self) -> SampleWeb:
        for site in self.sites.values():
            site.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
            site.server.daemon_threads = True
            site.thread = threading.Thread(target=site.server.serve_forever, name=f"demo-{site.outlet.key}",
                                           daemon=True)
            site.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for site in self.sites.values():
            if site.server is not None:
                site.server.shutdown()
                site.server.server_close()

    def source_url(self, key: str) -> str:
        site = self.sites[key]
        return site.base + site.outlet.source_path

    def outlets(self) -> Iterator[Outlet]:
        return (s.outlet for s in self.sites.values())

    def article_count(self) -> int:
        return sum(len(s.all_pages) for s in self.sites.values() if not s.outlet.broken)

    def publication_times(self) -> list[datetime]:
        """The moments at which the working outlets published something, oldest first."""
        return sorted({p.published for s in self.sites.values() if not s.outlet.broken for p in s.all_pages})
