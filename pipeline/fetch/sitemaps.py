"""Sitemaps to candidates: sitemap indexes, urlsets and Google News sitemaps.

Parsed with the standard library's expat (which refuses external entities and, since expat
2.4, entity-expansion bombs); element names are matched by local name so that odd or missing
namespaces do not matter.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import unescape

from pipeline.charset import declared_charset
from pipeline.fetch.errors import ParseError
from pipeline.fetch.fastfeed import http_url
from pipeline.fetch.results import Candidate

log = logging.getLogger(__name__)

_LOC_SALVAGE = re.compile(r"<(?:\w+:)?loc>\s*([^<\s]+)\s*</(?:\w+:)?loc>", re.I)


@dataclass
class Sitemap:
    kind: str  # "index" or "urlset"
    candidates: list[Candidate] = field(default_factory=list)
    children: list[tuple[str, datetime | None]] = field(default_factory=list)  # index entries
    salvaged: bool = False  # malformed XML; <loc>s recovered with a regex


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def parse_w3c_date(value: str | None) -> datetime | None:
    """W3C datetime (2024-05-01, 2024-05-01T10:00Z, 2024-05-01T10:00:00+02:00) as aware UTC."""
    if not value:
        return None
    text = value.strip()
    if re.fullmatch(r"\d{4}-\d{2}", text):
        text += "-01"
    elif re.fullmatch(r"\d{4}", text):
        text += "-01-01"
    text = re.sub(r"[zZ]$", "+00:00", text)
    text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text)
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC)


def _http(loc: str | None, base: str) -> str | None:
    return http_url(unescape(loc), base) if loc else None


def _text(el: ET.Element, name: str) -> str | None:
    for child in el.iter():
        if child is not el and _local(child.tag) == name and child.text and child.text.strip():
            return child.text.strip()
    return None


def _xml_root(body: bytes) -> ET.Element:
    """ET.fromstring, also for a declared encoding expat cannot read itself: the multi-byte legacy ones
    (Shift_JIS, EUC-JP, GBK, Big5, EUC-KR raise ValueError) and unknown names (LookupError). Those
    bodies are decoded by Python's codecs (UTF-8 when the name is unknown) and parsed as text, where
    expat ignores the declaration."""
    try:
        return ET.fromstring(body)
    except (ValueError, LookupError):
        text = body.decode(declared_charset(body[:1024], xml_first=True) or "utf-8", "replace")
        # a decoder may leave lone surrogates (UTF-7, UTF-16), which cannot be handed to expat
        return ET.fromstring(text.encode("utf-8", "replace").decode("utf-8"))


def parse_sitemap(body: bytes, url: str) -> Sitemap:
    """Parse one sitemap document; raises ParseError if it is neither XML nor salvageable."""
    try:
        root = _xml_root(body)
    except ET.ParseError as exc:
        locs = [
            u for u in (_http(m, url) for m in _LOC_SALVAGE.findall(body.decode("utf-8", "replace"))) if u
        ]
        if not locs:
            raise ParseError(f"malformed sitemap XML: {exc}", url=url) from None
        log.info("sitemap salvaged url=%s error=%r locs=%d", url, str(exc), len(locs))
        return Sitemap("urlset", [Candidate(url=u) for u in dict.fromkeys(locs)], salvaged=True)
    root_name = _local(root.tag)
    if root_name == "sitemapindex":
        children = []
        for el in root:
            if _local(el.tag) == "sitemap":
                loc = _http(_text(el, "loc"), url)
                if loc:
                    children.append((loc, parse_w3c_date(_text(el, "lastmod"))))
        return Sitemap("index", children=children)
    if root_name != "urlset":
        raise ParseError(f"not a sitemap (root element <{root_name}>)", url=url)
    out: list[Candidate] = []
    for el in root:
        if _local(el.tag) != "url":
            continue
        loc = None
        for child in el:  # the <url>'s own <loc>, not an <image:loc> further down
            if _local(child.tag) == "loc" and child.text:
                loc = _http(child.text, url)
                break
        if not loc:
            continue
        news = next((c for c in el if _local(c.tag) == "news"), None)
        published = parse_w3c_date(_text(news, "publication_date")) if news is not None else None
        lastmod = parse_w3c_date(next((c.text for c in el if _local(c.tag) == "lastmod"), None))
        title = _text(news, "title") if news is not None else None
        out.append(Candidate(url=loc, title=title, published_at=published, updated_at=lastmod))
    return Sitemap("urlset", out)
