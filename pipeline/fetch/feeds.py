"""Feeds to candidates: RSS 0.9x/1.0/2.0, Atom and RDF through feedparser; JSON Feed by hand."""

from __future__ import annotations

import calendar
import io
import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

import feedparser
from feedparser.datetimes import _parse_date

from pipeline.fetch.errors import ParseError
from pipeline.fetch.fastfeed import (
    MAX_SUMMARY,
    alternate_link,
    http_url,
    parse_simple_feed,
    person_names,
    plain_text,
)
from pipeline.fetch.results import Candidate

log = logging.getLogger(__name__)

_JSON_TYPES = ("application/feed+json", "application/json")


def parse_feed(
    body: bytes, url: str, content_type: str | None = None, *, fast: bool = True
) -> list[Candidate]:
    """Candidates of a feed document, in document order; raises ParseError when nothing is readable.

    Plain RSS 2.0 and Atom take the ElementTree fast path (:mod:`pipeline.fetch.fastfeed`) unless
    ``fast`` is False; everything else goes through feedparser.
    """
    ctype = (content_type or "").split(";", 1)[0].strip().lower()
    head = body[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if ctype in _JSON_TYPES or head.startswith(b"{"):
        return parse_json_feed(body, url)
    if fast:
        simple = parse_simple_feed(body, url)
        if simple is not None:
            return simple
    return parse_with_feedparser(body, url, content_type)


def parse_with_feedparser(body: bytes, url: str, content_type: str | None = None) -> list[Candidate]:
    # A BytesIO, never bytes: feedparser treats a bytes/str argument that looks like a path or URL
    # as something to open, which would let a hostile body read local files.
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    # Summaries become plain text below, so feedparser need not sanitise or rewrite their HTML.
    try:
        parsed = feedparser.parse(
            io.BytesIO(body), response_headers=headers, sanitize_html=False, resolve_relative_uris=False
        )
    except (ValueError, LookupError, RecursionError, AttributeError, TypeError, re.error) as exc:
        # feedparser is lenient but not total: lone surrogates, odd charsets and deep nesting can
        # still raise from its SGML fallback, and an <!ENTITY> value holding a backslash from its
        # DOCTYPE rewrite (used as a re.sub template); to the caller that is just a malformed feed.
        raise ParseError(f"malformed feed: {_describe(exc)}", url=url) from None
    out = [c for c in (_from_entry(e, url) for e in parsed.entries) if c is not None]
    if not out and parsed.get("bozo"):
        exc = parsed.get("bozo_exception")
        raise ParseError(f"malformed feed: {_describe(exc)}", url=url)
    if not out and not parsed.get("version") and not parsed.entries:
        raise ParseError("not a feed (no RSS, Atom, RDF or JSON Feed found)", url=url)
    if parsed.get("bozo") and out:
        log.info(
            "feed lenient parse url=%s error=%r items=%d",
            url,
            _describe(parsed.get("bozo_exception")),
            len(out),
        )
    return out


def _describe(exc: Any) -> str:
    if exc is None:
        return "unknown error"
    return f"{type(exc).__name__}: {exc}"


def _ts(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _entry_link(entry: Any, base: str) -> str | None:
    url = alternate_link(entry.get("links") or (), base) or http_url(entry.get("link"), base)
    if url:
        return url
    guid = entry.get("id")
    if guid and entry.get("guidislink", True):  # RSS <guid isPermaLink="true"> is the article URL
        return http_url(guid, base) if str(guid).startswith(("http://", "https://")) else None
    return None


def _authors(entry: Any) -> list[str]:
    raw = [a.get("name", "") for a in entry.get("authors") or () if isinstance(a, dict)]
    if not raw and entry.get("author"):
        raw = [str(entry["author"])]
    return person_names(raw)


def _from_entry(entry: Any, base: str) -> Candidate | None:
    url = _entry_link(entry, base)
    if not url:
        return None
    return Candidate(
        url=url,
        guid=entry.get("id") or None,
        title=plain_text(entry.get("title")),
        summary=plain_text(entry.get("summary"), MAX_SUMMARY),
        published_at=_ts(entry.get("published_parsed")) or _ts(entry.get("created_parsed")),
        updated_at=_ts(entry.get("updated_parsed")),
        authors=_authors(entry),
    )


def _iso(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        parsed = _parse_date(value)  # feedparser's lenient RFC 822/3339 parser
        return _ts(parsed)
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def parse_json_feed(body: bytes, url: str) -> list[Candidate]:
    """JSON Feed 1.0/1.1 (https://jsonfeed.org/version/1.1)."""
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ParseError(f"malformed JSON feed: {exc}", url=url) from None
    if not isinstance(doc, dict) or not str(doc.get("version", "")).startswith(
        "https://jsonfeed.org/version/"
    ):
        raise ParseError("JSON document is not a JSON Feed (no jsonfeed.org version)", url=url)
    items = doc.get("items")
    if not isinstance(items, list):
        raise ParseError("JSON Feed without an items list", url=url)
    base = doc.get("home_page_url") if isinstance(doc.get("home_page_url"), str) else url
    feed_authors = _json_authors(doc)
    out: list[Candidate] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        link = http_url(item.get("url"), base) or http_url(item.get("external_url"), base)
        if not link:
            continue
        summary = item.get("summary") or item.get("content_text") or item.get("content_html")
        title = item.get("title")
        out.append(
            Candidate(
                url=link,
                guid=str(item["id"]) if item.get("id") is not None else None,
                title=plain_text(title) if isinstance(title, str) else None,
                summary=plain_text(summary, MAX_SUMMARY) if isinstance(summary, str) else None,
                published_at=_iso(item.get("date_published")),
                updated_at=_iso(item.get("date_modified")),
                authors=_json_authors(item) or feed_authors,
            )
        )
    return out


def _json_authors(obj: dict[str, Any]) -> list[str]:
    raw = obj.get("authors")
    if not isinstance(raw, list):
        raw = [obj["author"]] if isinstance(obj.get("author"), dict) else []
    names = [a.get("name", "").strip() for a in raw if isinstance(a, dict) and isinstance(a.get("name"), str)]
    return [n for n in names if n]
