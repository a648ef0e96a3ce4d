"""A growing local news web for daemon tests: N sources, each an RSS feed that gains items over time.

Each article page is distinct text (so nothing is a near-duplicate by accident); ``advertised``
records every URL any feed ever listed, so a test can check that all of them were stored once.
"""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path

from tests.testweb import LocalWeb, LoggedRequest, Response

_WORDS = ("agency regulators network carriers equipment security review spectrum license vendor supply "
          "chain telecom rule order commission hearing lawmakers import export drone software update "
          "cameras modules routers cloud data privacy market court appeal filing deadline compliance "
          "replacement program funding subsidy operator rural wireless broadband audit report risk").split()
_NAMES = ("Huawei", "ZTE", "Kaspersky", "DJI", "Hikvision", "TikTok", "China Mobile", "Federal Communications "
          "Commission", "Commerce Department", "Bureau of Industry and Security")


def article_html(title: str, seed: int, published: datetime) -> str:
    rng = random.Random(seed)
    paras = []
    for _ in range(6):
        sentences = []
        for _ in range(4):
            words = [rng.choice(_WORDS) for _ in range(rng.randint(10, 18))]
            words.insert(rng.randint(0, len(words)), rng.choice(_NAMES))
            sentences.append(" ".join(words).capitalize() + f" {rng.randint(10, 9999)}.")
        paras.append("<p>" + escape(" ".join(sentences)) + "</p>")
    return (f"<!doctype html><html lang=en><head><title>{escape(title)}</title>"
            f'<meta property="article:published_time" content="{published.isoformat()}"></head><body>'
            f"<nav><a href='/'>Home</a></nav><article><h1>{escape(title)}</h1>{''.join(paras)}</article>"
            "<footer>Test News</footer></body></html>")


class NewsWeb:
    """Sources ``s0``…``s{n-1}`` at ``/s{i}/feed.xml``; each feed request adds one item while growing."""

    def __init__(self, web: LocalWeb, sources: int, *, initial: int = 3, page_delay: float = 0.0) -> None:
        self.web = web
        self.sources = sources
        self.page_delay = page_delay
        self.growing = True
        self._lock = threading.Lock()
        self._items: dict[int, int] = dict.fromkeys(range(sources), initial)
        self.advertised: set[str] = set()
        self.start = datetime.now(UTC).replace(microsecond=0)
        for i in range(sources):
            web.route(f"/s{i}/feed.xml", self._feed_handler(i))
        web.set_default(self._page)

    def base(self) -> str:
        return self.web.url("").rstrip("/")

    def article_url(self, src: int, n: int) -> str:
        return f"{self.base()}/s{src}/article-{n}"

    def _feed_handler(self, src: int):
        def handle(_req: LoggedRequest) -> Response:
            with self._lock:
                count = self._items[src]
                if self.growing:
                    self._items[src] = count + 1
                urls = [self.article_url(src, n) for n in range(count)]
                self.advertised.update(urls)
            when = format_datetime(self.start)
            items = "".join(f"<item><title>Source {src} story {n}</title><link>{u}</link><guid>{u}</guid>"
                            f"<pubDate>{when}</pubDate></item>" for n, u in enumerate(urls))
            body = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Source {src}</title>'
                    f"<link>{self.base()}/s{src}/</link><description>test</description>{items}</channel></rss>")
            return Response(body, content_type="application/rss+xml")
        return handle

    def _page(self, req: LoggedRequest) -> Response:
        parts = req.path.strip("/").split("/")
        if len(parts) == 2 and parts[0].startswith("s") and parts[1].startswith("article-"):
            src, n = int(parts[0][1:]), int(parts[1].removeprefix("article-"))
            html = article_html(f"Source {src} story {n}: regulators act", src * 100_000 + n,
                                self.start - timedelta(hours=1))
            return Response(html, delay=self.page_delay)
        return Response(b"not found", 404, "text/plain")

    def freeze(self) -> None:
        """Stop adding items: from now on every feed lists the same URLs."""
        with self._lock:
            self.growing = False

    def page_requests(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.web.requests():
            if "/article-" in r.path:
                counts[r.path] = counts.get(r.path, 0) + 1
        return counts

    def write_config(self, path: Path, *, interval: str = "10s", digest_time: str = "00:00",
                     output_dir: str = "digests", extra: str = "") -> Path:
        lines = ["[settings]", "allow_private_networks = true", 'per_host_delay = "0s"',
                 "per_host_concurrency = 16", "max_retries = 0", "respect_robots = false",
                 f'digest_time = "{digest_time}"', f'output_dir = "{output_dir}"', 'timezone = "UTC"', extra, ""]
        for i in range(self.sources):
            lines += ["[[source]]", f'key = "s{i}"', f'name = "Source {i}"', 'kind = "feed"',
                      f'url = "{self.base()}/s{i}/feed.xml"', f'interval = "{interval}"', ""]
        path.write_text("\n".join(lines))
        return path
