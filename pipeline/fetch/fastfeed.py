"""A fast path for well-formed RSS 2.0/0.9x and Atom feeds, with ElementTree.

feedparser costs ~5 ms for a 20-item feed, three quarters of a cycle's CPU. Most feeds are
plain, well-formed RSS 2.0 or Atom; those are read here in a fraction of that time. Anything
unusual (malformed XML, RDF, xml:base, unknown roots) returns None and goes to feedparser,
which stays the reference: tests check both paths agree on the same feeds.
"""

from __future__ import annotations

import email.utils
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from selectolax.lexbor import LexborHTMLParser

from pipeline.fetch.results import Candidate

ATOM = "{http://www.w3.org/2005/Atom}"
DC = "{http://purl.org/dc/elements/1.1/}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
MAX_SUMMARY = 2000


def plain_text(value: str | None, limit: int | None = None) -> str | None:
    """Text of an HTML fragment (feed summaries and titles are often HTML), whitespace collapsed."""
    if not value:
        return None
    if "<" in value or "&" in value:
        tree = LexborHTMLParser(value)
        tree.strip_tags(["script", "style", "noscript", "template"])
        root = tree.body or tree.root
        value = root.text(separator=" ") if root is not None else ""
    text = " ".join(value.split())
    if limit is not None and len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0] + " …"
    return text or None


def parse_date(value: str | None) -> datetime | None:
    """RFC 822 (RSS) or ISO 8601 (Atom) to an aware UTC datetime; None when unreadable."""
    if not value or not value.strip():
        return None
    text = value.strip()
    dt: datetime | None = None
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        try:
            dt = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            import calendar

            from feedparser.datetimes import _parse_date  # the lenient parser, for odd formats

            try:
                parsed = _parse_date(text)
                if not parsed:
                    return None
                dt = datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
            except (ValueError, OverflowError, OSError, TypeError):
                return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def _text(el: ET.Element | None) -> str | None:
    if el is None:
        return None
    value = "".join(el.itertext()).strip()
    return value or None


def http_url(href: object, base: str) -> str | None:
    """``href`` resolved against ``base`` when it is an http(s) URL, else None (also for non-strings)."""
    if not href or not isinstance(href, str):
        return None
    try:  # a malformed URL ("http://[::1") is one bad item, not a broken document
        url = urljoin(base, href.strip())
        parts = urlsplit(url)  # "https:x" keeps its scheme but has no host: not fetchable
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return None
    if ok and not url.startswith(parts.scheme + "://"):
        url = urlunsplit(parts)  # "HTTPS://x" (urljoin keeps another scheme's spelling): one spelling
    return url if ok else None


_EMAIL_NAME = re.compile(r"^\S+@\S+\s*\((.+)\)$")  # RSS <author>: "jo@example.com (Jo Smith)"
_EMAIL = re.compile(r"^\S+@\S+$")


def person_name(name: str) -> str | None:
    name = " ".join(name.split())
    m = _EMAIL_NAME.match(name)
    if m:
        return m.group(1).strip() or None
    return None if not name or _EMAIL.match(name) else name


def person_names(raw: Iterable[object]) -> list[str]:
    """Distinct author names, in order, of raw author strings (non-strings and bare e-mails dropped)."""
    return list(dict.fromkeys(n for n in (person_name(r) for r in raw if isinstance(r, str)) if n))


def alternate_link(links: Iterable[Any], base: str) -> str | None:
    """The first http(s) ``rel=alternate`` HTML link among Atom ``<link>`` elements or feedparser's link
    dicts (both answer ``.get``)."""
    for link in links:
        if link.get("rel", "alternate") == "alternate" and link.get("type", "text/html") in (
            "text/html",
            "application/xhtml+xml",
        ):
            url = http_url(link.get("href"), base)
            if url:
                return url
    return None


def parse_simple_feed(body: bytes, url: str) -> list[Candidate] | None:
    """Candidates of a plain RSS 2.0/0.9x or Atom feed, or None to let feedparser decide."""
    if b"xml:base" in body or b"<!ENTITY" in body:
        return None
    try:
        root = ET.fromstring(body)
    except (ET.ParseError, ValueError, LookupError):
        # ValueError/LookupError: a declared encoding expat cannot read (Shift_JIS, GBK, EUC-KR…) or
        # an unknown one; feedparser transcodes those.
        return None
    if root.tag == "rss":
        channel = root.find("channel")
        return (
            None
            if channel is None
            else [c for c in map(lambda i: _rss_item(i, url), channel.iter("item")) if c]
        )
    if root.tag == f"{ATOM}feed":
        return [c for c in (_atom_entry(e, url) for e in root.iter(f"{ATOM}entry")) if c]
    return None


def _rss_item(item: ET.Element, base: str) -> Candidate | None:
    guid_el = item.find("guid")
    guid = _text(guid_el)
    link = http_url(_text(item.find("link")), base)
    if link is None and guid and guid_el is not None and guid_el.get("isPermaLink", "true") != "false":
        link = http_url(guid, base) if guid.startswith(("http://", "https://")) else None
    if link is None:
        return None
    published = parse_date(_text(item.find("pubDate")))
    updated = parse_date(_text(item.find(f"{DC}date"))) or parse_date(_text(item.find(f"{ATOM}updated")))
    summary = _text(item.find("description")) or _text(item.find(f"{CONTENT}encoded"))
    names = [_text(a) for a in [*item.findall("author"), *item.findall(f"{DC}creator")]]
    return Candidate(
        url=link,
        guid=guid,
        title=plain_text(_text(item.find("title"))),
        summary=plain_text(summary, MAX_SUMMARY),
        published_at=published,
        updated_at=updated or published,
        authors=person_names(names),
    )


def _atom_entry(entry: ET.Element, base: str) -> Candidate | None:
    link = alternate_link(entry.findall(f"{ATOM}link"), base)
    if link is None:
        return None
    names = [_text(a.find(f"{ATOM}name")) for a in entry.findall(f"{ATOM}author")]
    summary = _text(entry.find(f"{ATOM}summary")) or _text(entry.find(f"{ATOM}content"))
    return Candidate(
        url=link,
        guid=_text(entry.find(f"{ATOM}id")),
        title=plain_text(_text(entry.find(f"{ATOM}title"))),
        summary=plain_text(summary, MAX_SUMMARY),
        published_at=parse_date(_text(entry.find(f"{ATOM}published"))),
        updated_at=parse_date(_text(entry.find(f"{ATOM}updated"))),
        authors=person_names(names),
    )
