"""Listing pages to candidates: a CSS selector picks the article links."""

from __future__ import annotations

import ipaddress
from urllib.parse import urldefrag, urlsplit

from selectolax.lexbor import LexborHTMLParser

from pipeline.fetch.fastfeed import http_url
from pipeline.fetch.results import Candidate

# Second-level labels under which registrations happen one level deeper (example.co.uk).
_SHORT_SLD = {"co", "com", "net", "org", "gov", "ac", "edu", "go", "or", "ne", "gv", "mil"}


def site_of(host: str) -> str:
    """An approximate registrable domain: "news.example.co.uk" -> "example.co.uk".

    A heuristic instead of the Public Suffix List; it only decides which links on a listing
    page count as the site's own articles.
    """
    host = host.lower().rstrip(".")
    try:
        return str(ipaddress.ip_address(host.strip("[]")))  # an address is its own site
    except ValueError:
        pass
    labels = host.split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SHORT_SLD:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def parse_listing(html: str, url: str, link_selector: str, *, same_site: bool = True) -> list[Candidate]:
    """Links picked by ``link_selector`` (an <a> or an element containing one), absolute, deduplicated."""
    tree = LexborHTMLParser(html)
    base = url
    base_el = tree.css_first("base[href]")
    if base_el is not None and base_el.attributes.get("href"):
        base = http_url(base_el.attributes["href"], url) or url
    home = site_of(urlsplit(url).hostname or "")
    seen: dict[str, Candidate] = {}
    for node in tree.css(link_selector):
        a = node if node.tag == "a" else node.css_first("a[href]")
        if a is None:
            continue
        href = (a.attributes.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
            continue
        absolute = http_url(href, base)  # None for a malformed one ("http://[::1") or another scheme
        if absolute is None:
            continue
        link, _ = urldefrag(absolute)
        parts = urlsplit(link)
        if same_site and site_of(parts.hostname) != home:
            continue
        if link.rstrip("/") == url.rstrip("/"):
            continue
        if link not in seen:
            title = " ".join(a.text(separator=" ").split()) or a.attributes.get("title") or None
            seen[link] = Candidate(url=link, title=title)
    return list(seen.values())


_FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/rdf+xml",
    "application/json",
)


def discover_feeds(html: str, url: str) -> list[str]:
    """Feed URLs an HTML page advertises with <link rel="alternate" type="application/rss+xml" ...>."""
    if "<link" not in html[:200_000].lower():
        return []
    tree = LexborHTMLParser(html)
    found: list[str] = []
    for link in tree.css("link[href]"):
        rel = (link.attributes.get("rel") or "").lower().split()
        kind = (link.attributes.get("type") or "").lower().split(";")[0].strip()
        if "alternate" in rel and kind in _FEED_TYPES:
            href = http_url(link.attributes.get("href"), url)
            if href and href not in found:
                found.append(href)
    return found
