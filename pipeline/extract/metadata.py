"""Page metadata from JSON-LD, OpenGraph/article:*, Dublin Core and other meta tags, itemprop, <time>
elements, the feed item, the URL and, last, dates written in the page header.

Each publication-date source is tried in order of reliability; the first plausible one wins and is
recorded as ``published_at_method``.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser, LexborNode

from . import jsonld
from .dates import date_from_url, find_human_dates, localise, parse_machine_date, plausible
from .scan import AUTHOR_SEL, Scan, scan_document

# meta key (property/name/itemprop, lower-cased) -> (kind, method)
_PUBLISHED_META = {
    "article:published_time": "opengraph", "og:article:published_time": "opengraph",
    "article:published": "opengraph", "og:published_time": "opengraph", "published_time": "opengraph",
    "dc.date.issued": "dublin-core", "dcterms.issued": "dublin-core", "dc.date.created": "dublin-core",
    "dcterms.created": "dublin-core", "dc.date": "dublin-core", "dcterms.date": "dublin-core",
    "dc.date.published": "dublin-core",
    "datepublished": "itemprop", "datecreated": "itemprop",
    "pubdate": "meta", "publishdate": "meta", "publish-date": "meta", "publish_date": "meta",
    "publication_date": "meta", "publicationdate": "meta", "date": "meta", "date.available": "meta",
    "sailthru.date": "meta", "parsely-pub-date": "meta", "article.published": "meta",
    "article_date_original": "meta", "original-publish-date": "meta", "originalpublicationdate": "meta",
    "cxenseparse:recs:publishtime": "meta", "rnews:datepublished": "meta", "citation_publication_date": "meta",
    "article.created": "meta", "created": "meta", "firstpublished": "meta", "first_published": "meta",
    "nv:date": "meta", "ga-publish-date": "meta", "dc.date.available": "dublin-core",
    "bt:pubdate": "meta", "og:pubdate": "opengraph", "pub_date": "meta", "release_date": "meta",
    "date_published": "meta", "publishdatetime": "meta", "published": "meta", "content_date": "meta",
}
_MODIFIED_META = {
    "article:modified_time", "og:updated_time", "article:modified", "og:article:modified_time",
    "datemodified", "dcterms.modified", "dc.date.modified", "last-modified", "lastmod", "article:updated_time",
    "updated_time", "revised", "dateupdated", "modified",
}
_METHOD_RANK = {"json-ld": 0, "opengraph": 1, "dublin-core": 2, "meta": 3, "itemprop": 4}

_DATEISH_SEL = (
    '[class*="date" i], [class*="time" i], [class*="publish" i], [class*="posted" i], [id*="date" i], '
    '[class*="datum" i], [class*="fecha" i], [class*="byline" i], [class*="meta" i], [class*="dateline" i]'
)


@dataclass
class Metadata:
    title: str | None = None
    canonical_url: str | None = None
    site_name: str | None = None
    description: str | None = None
    authors: list[str] = field(default_factory=list)
    declared_language: str | None = None
    published_at: datetime | None = None
    published_at_method: str | None = None
    modified_at: datetime | None = None
    article_body: str | None = None
    og_type: str | None = None
    ld_types: set[str] = field(default_factory=set)
    h1: str | None = None


def _head_nodes(head: LexborNode | None) -> tuple[list[LexborNode], list[LexborNode], LexborNode | None]:
    """The <meta>s, the <link>s and the first <title> of the head, in one walk of it."""
    metas: list[LexborNode] = []
    links: list[LexborNode] = []
    title: LexborNode | None = None
    # all elements, picked by tag id: cheaper than lexbor matching "meta, link[rel], title" at each node.
    # The links are all kept: one without rel reads as rel "" where they are used, as none.
    for node in head.css("*") if head is not None else ():
        tag_id = node.tag_id
        if tag_id == _META_ID:
            metas.append(node)
        elif tag_id == _LINK_ID:
            links.append(node)
        elif tag_id == _TITLE_ID and title is None:
            title = node
    return metas, links, title


_META_ID, _LINK_ID, _TITLE_ID = (LexborHTMLParser("").create_node(name).tag_id for name in ("meta", "link", "title"))


def _collect_meta(metas: list[LexborNode]) -> dict[str, list[str]]:
    meta: dict[str, list[str]] = {}
    for node in metas:
        attrs = node.attributes
        content = attrs.get("content")
        if content is None:
            content = attrs.get("value") or attrs.get("datetime")
        if not content:
            continue
        for key_attr in ("property", "name", "itemprop", "http-equiv"):
            key = attrs.get(key_attr)
            if key:
                meta.setdefault(key.strip().lower(), []).append(content.strip())
    return meta


def _first(meta: dict[str, list[str]], *keys: str) -> str | None:
    for key in keys:
        for value in meta.get(key, ()):
            if value:
                return html_lib.unescape(value).strip() or None
    return None


def _absolute(url: str, href: str) -> str | None:
    """``href`` resolved against the page URL, or None when malformed ("http://[::1" raises ValueError
    in urljoin): a bad canonical link must not cost the page its article."""
    try:
        return urljoin(url, href.strip())
    except ValueError:
        return None


def extract_metadata(tree: LexborHTMLParser, url: str, feed_item: object | None = None, *,
                     source: str | Callable[[], str] | None = None, want_text_dates: bool = True,
                     scan: Scan | None = None) -> Metadata:
    """Metadata of a parsed page; ``source`` (the decoded HTML, or a function making it: it is seldom
    needed) enables the embedded-JSON date search; ``scan`` is the page's scan_document() if made."""
    md = Metadata()
    head = tree.head or tree.root
    metas, links, title_node = _head_nodes(head)
    meta = _collect_meta(metas)

    canonical = None
    for link in links:
        attrs = link.attributes  # one dict per link: building it is the cost
        rel = (attrs.get("rel") or "").lower().split()
        href = attrs.get("href")
        if "canonical" in rel and href:
            canonical = _absolute(url, href)
            break
    og_url = _first(meta, "og:url")
    md.canonical_url = canonical or (_absolute(url, og_url) if og_url else None)

    if scan is None:
        scan = scan_document(tree)
    h1 = scan.h1
    ld_raw = [n.text(deep=True) or "" for n in scan.ld]
    objects = jsonld.parse_blocks(ld_raw) if ld_raw else []
    for obj in objects:
        md.ld_types |= jsonld.types_of(obj)
    article = jsonld.pick_article(objects, jsonld.norm_urls(url, md.canonical_url))

    # timezone hint: any explicit offset on the page, for dates written without one
    tz_hint = _tz_hint(article, meta)

    md.published_at, md.published_at_method, md.modified_at = _dates(
        tree, url, article, meta, feed_item, source, tz_hint, want_text_dates=want_text_dates)

    # ---- other fields
    md.h1 = _clean(h1.text(deep=True, separator=" ")) if h1 is not None else None
    ld_title = jsonld.text_of(article.get("headline") or article.get("name")) if article else None
    og_title = _first(meta, "og:title", "twitter:title")
    html_title = _clean(title_node.text(deep=True)) if title_node is not None else None
    md.site_name = _first(meta, "og:site_name", "application-name", "publisher", "twitter:site")
    if md.site_name is None and article is not None:
        md.site_name = jsonld.text_of(article.get("publisher"))
    md.title = _choose_title(_clean(ld_title), _clean(og_title), md.h1, html_title, md.site_name)
    md.description = _clean(_first(meta, "description", "og:description", "twitter:description")) or (
        _clean(jsonld.text_of(article.get("description"))) if article else None)

    md.authors = _authors(tree, article, meta, feed_item, scan.authors)

    lang = None
    html_node = tree.root
    if html_node is not None:
        attrs = html_node.attributes
        lang = attrs.get("lang") or attrs.get("xml:lang")
    lang = lang or _first(meta, "content-language", "og:locale", "language", "dc.language")
    if not lang and article is not None:
        lang = jsonld.text_of(article.get("inLanguage"))
    md.declared_language = _iso639(lang)

    md.og_type = (_first(meta, "og:type") or "").lower() or None
    if article is not None:
        body = jsonld.text_of(article.get("articleBody") or article.get("text"))
        md.article_body = html_lib.unescape(body) if body else None
    if feed_item is not None:
        if md.title is None:
            t = getattr(feed_item, "title", None)
            md.title = _clean(t) if isinstance(t, str) else None
        if md.description is None:
            summary = getattr(feed_item, "summary", None)
            md.description = _clean(re.sub(r"<[^>]+>", " ", summary)) if isinstance(summary, str) else None
    return md


def _dates(tree: LexborHTMLParser, url: str, article: dict[str, Any] | None, meta: dict[str, list[str]],
           feed_item: object | None, source: str | Callable[[], str] | None, tz_hint: tzinfo | None, *,
           want_text_dates: bool
           ) -> tuple[datetime | None, str | None, datetime | None]:
    """(published, method, modified): publication-date sources in order of reliability, first plausible
    one wins (see _choose_published for original-versus-update)."""
    candidates: list[tuple[datetime, str]] = []
    modified: datetime | None = None
    if article is not None:
        for key in ("datePublished", "dateCreated", "uploadDate"):
            dt = parse_machine_date(jsonld.text_of(article.get(key)), tz_hint)
            if dt:
                candidates.append((dt, "json-ld"))
                break
        modified = parse_machine_date(jsonld.text_of(article.get("dateModified")), tz_hint)
    meta_cands: list[tuple[int, datetime, str]] = []
    for key, values in meta.items():
        method = _PUBLISHED_META.get(key)
        if method is None:
            continue
        for value in values[:2]:
            dt = parse_machine_date(value, tz_hint)
            if dt:
                meta_cands.append((_METHOD_RANK[method], dt, method))
                break
    meta_cands.sort(key=lambda c: c[0])
    candidates.extend((dt, method) for _, dt, method in meta_cands)
    if modified is None:
        for key in _MODIFIED_META:
            if key in meta:
                modified = parse_machine_date(meta[key][0], tz_hint)
                if modified:
                    break
    if not candidates:
        dt = _itemprop_date(tree, tz_hint)
        if dt:
            candidates.append((dt, "itemprop"))
    if not candidates:
        dt = _time_element_date(tree, tz_hint)
        if dt:
            candidates.append((dt, "time-element"))
    if not candidates and feed_item is not None:
        dt = _feed_date(feed_item, tz_hint)
        if dt:
            candidates.append((dt, "feed"))
    if not candidates and want_text_dates:
        dt = _labelled_date(tree, tz_hint)
        if dt:
            candidates.append((dt, "text"))
    if not candidates and source:
        dt = _embedded_json_date(source() if callable(source) else source, tz_hint)
        if dt:
            candidates.append((dt, "embedded-json"))
    url_dt = date_from_url(url)
    if not candidates and url_dt:
        candidates.append((url_dt, "url"))
    if not candidates and want_text_dates:
        dt = _text_date(tree, tz_hint)
        if dt:
            candidates.append((dt, "text"))
    if candidates:
        published, method = _choose_published(candidates, url_dt)
        return published, method, modified
    return None, None, modified



def _authors(tree: LexborHTMLParser, article: dict[str, Any] | None, meta: dict[str, list[str]],
             feed_item: object | None, author_nodes: list[LexborNode] | None = None) -> list[str]:
    authors: list[str] = []
    if article is not None:
        authors = jsonld.names_of(article.get("author") or article.get("creator"))
    if not authors:
        for key in ("author", "article:author", "dc.creator", "dcterms.creator", "byl", "sailthru.author",
                    "parsely-author", "citation_author"):
            for value in meta.get(key, ()):
                if value and not value.startswith("http"):
                    authors.extend(jsonld.names_of(html_lib.unescape(value)))
            if authors:
                break
    if not authors:
        if author_nodes is None:
            author_nodes = tree.css(AUTHOR_SEL)
        authors = [_clean(n.text(deep=True)) or "" for n in author_nodes[:5]]
    if not authors and feed_item is not None:
        fa = getattr(feed_item, "authors", None) or []
        if isinstance(fa, str):
            fa = [fa]
        authors = [a for a in fa if isinstance(a, str)] if isinstance(fa, list | tuple) else []
    return _dedupe([name for a in authors if a for name in _author_names(a)])


def _choose_published(cands: list[tuple[datetime, str]], url_dt: datetime | None) -> tuple[datetime, str]:
    """The most reliable candidate, unless it looks like an update: an earlier day stated by another
    structured source (JSON-LD, OpenGraph, Dublin Core) or by the URL, within weeks before it, is taken
    as the original publication."""
    best_dt, best_method = cands[0]
    for dt, method in cands[1:]:
        if method in _STRUCTURED and dt.date() < best_dt.date() and (best_dt - dt).days <= _UPDATE_WINDOW_DAYS:
            best_dt, best_method = dt, method
    if url_dt is not None and url_dt.date() < best_dt.date():
        if (best_dt.date() - url_dt.date()).days <= 31:
            return localise(url_dt.replace(tzinfo=None), best_dt.tzinfo), "url"
    return best_dt, best_method


_STRUCTURED = frozenset({"json-ld", "opengraph", "dublin-core"})
_UPDATE_WINDOW_DAYS = 90


def _tz_hint(article: dict[str, Any] | None, meta: dict[str, list[str]]) -> tzinfo | None:
    values: list[str] = []
    if article is not None:
        values += [jsonld.text_of(article.get(k)) or "" for k in ("datePublished", "dateModified")]
    for key in ("article:published_time", "article:modified_time", "og:updated_time"):
        values += meta.get(key, [])[:1]
    for value in values:
        dt = parse_machine_date(value)
        if dt is not None and re.search(r"(?:Z|[+-]\d\d:?\d\d)\s*$", value):
            return dt.tzinfo
    return None


def _itemprop_date(tree: LexborHTMLParser, tz_hint: tzinfo | None) -> datetime | None:
    for node in tree.css('[itemprop="datePublished"], [itemprop="dateCreated"]')[:3]:
        attrs = node.attributes
        value = attrs.get("content") or attrs.get("datetime") or node.text(deep=True)
        dt = parse_machine_date(value, tz_hint)
        if dt:
            return dt
    return None


def _time_element_date(tree: LexborHTMLParser, tz_hint: tzinfo | None) -> datetime | None:
    """The first <time datetime> inside the article header region, else the first on the page; a
    ``pubdate`` attribute or a 'publish' class wins over other times (e.g. 'updated')."""
    nodes = tree.css("time[datetime]")
    if not nodes:
        return None
    preferred: list[LexborNode] = []
    others: list[LexborNode] = []
    for node in nodes[:30]:
        attrs = node.attributes
        cls = ((attrs.get("class") or "") + " " + (attrs.get("itemprop") or "")).lower()
        parent = node.parent
        pcls = (parent.attributes.get("class") or "").lower() if parent is not None else ""
        if "pubdate" in attrs or "publish" in cls or "publish" in pcls or "created" in cls:
            preferred.append(node)
        elif "update" in cls or "modif" in cls or "update" in pcls or "modif" in pcls:
            continue
        else:
            others.append(node)
    for node in preferred + others:
        dt = parse_machine_date(node.attributes.get("datetime"), tz_hint)
        if dt:
            return dt
    return None


def _feed_date(feed_item: object, tz_hint: tzinfo | None) -> datetime | None:
    value = getattr(feed_item, "published_at", None)
    if isinstance(value, datetime) and plausible(value):
        return localise(value, tz_hint)
    if isinstance(value, str):
        return parse_machine_date(value, tz_hint)
    return None


_TEXT_DATE_SCAN = 20_000  # dates written in the page sit near its top
_SOURCE_DATE_SCAN = 2_000_000

# Publication-date keys in the state objects of script-rendered pages (Next.js, Arc, …).
_JSON_DATE_KEYS = ("datePublished", "date_published", "publishedAt", "published_at", "publishDate", "publish_date",
                   "pubDate", "firstPublicationDate", "firstPublishedAt", "first_published_at", "createDate",
                   "createdAt", "displayDate")
_JSON_VALUE_RE = re.compile(r"""["']?\s*:\s*["']?([0-9][0-9T:.+\-Z ]{7,30})""")


def _embedded_json_date(source: str, tz_hint: tzinfo | None) -> datetime | None:
    """The first publication date under a well-known key in inline scripts (located with str.find, which
    is far faster on multi-megabyte pages than a regex alternation)."""
    hits: list[tuple[int, int]] = []
    for key in _JSON_DATE_KEYS:
        pos = source.find(key, 0, _SOURCE_DATE_SCAN)
        while pos != -1 and len(hits) < 200:
            hits.append((pos, len(key)))
            pos = source.find(key, pos + len(key), _SOURCE_DATE_SCAN)
    for pos, size in sorted(hits):
        if pos and (source[pos - 1].isalnum() or source[pos - 1] == "_"):
            continue
        m = _JSON_VALUE_RE.match(source, pos + size)
        if not m:
            continue
        value = m.group(1).strip()
        if re.fullmatch(r"\d{12,14}", value):  # 202404251407: compact date and time
            value = value[:8]
        dt = parse_machine_date(value, tz_hint)
        if dt:
            return dt
    return None


_LABELLED_DATE_RE = re.compile(
    r"(?:datum|date|published|posted|veröffentlicht|erschienen|publié|publicado|pubblicato|publisert|"
    r"publicerad|gepubliceerd|opublikowano|yayınlanma|yayın tarihi)\s*(?:on|am|le|el|il|:)?\s*:?\s*",
    re.I,
)


# Where a label can start: its first three letters, as IGNORECASE matches them (ASCII case, and "ſ" for
# "s"). The label pattern, having no literal start under IGNORECASE, was tried at every character (2-5 ms
# on 20,000 characters); this one lets the regex engine skip to the few candidates.
_LABEL_START_RE = re.compile(r"[dDpPvVeEgGoOyY](?=[aA][tTyY]|[uU][bB]|[oOrR][sSſ]|[eE][rRpP]|[pP][uU])")


def _labels(text: str) -> Iterator[re.Match[str]]:
    """What ``_LABELLED_DATE_RE.finditer(text)`` yields (its matches are never empty)."""
    candidate, label = _LABEL_START_RE.search, _LABELLED_DATE_RE.match
    pos = 0
    while (start := candidate(text, pos)) is not None:
        m = label(text, start.start())
        if m is None:
            pos = start.start() + 1
        else:
            yield m
            pos = m.end()


def _labelled_date(tree: LexborHTMLParser, tz_hint: tzinfo | None) -> datetime | None:
    """A date written right after a label such as "Datum", "Published" or "Veröffentlicht"."""
    body = tree.body
    if body is None:
        return None
    text = body.text(deep=True, separator=" ")[:_TEXT_DATE_SCAN]
    for m in _labels(text):
        found = find_human_dates(text[m.end():m.end() + 40], tz_hint, limit=1)
        if found and found[0][0] == 0:
            return found[0][1]
    return None


def _text_date(tree: LexborHTMLParser, tz_hint: tzinfo | None) -> datetime | None:
    """A date written in date-like elements of the page, or else in the text after the headline."""
    month_first = False
    for node in tree.css(_DATEISH_SEL)[:40]:
        text = node.text(deep=True, separator=" ")
        if not text or len(text) > 300:
            continue
        found = find_human_dates(text, tz_hint, month_first=month_first, limit=1)
        if found:
            return found[0][1]
    h1 = tree.css_first("h1")
    scope = h1.parent if h1 is not None and h1.parent is not None else tree.body
    if scope is None:
        return None
    text = scope.text(deep=True, separator=" ")[:3000]
    found = find_human_dates(text, tz_hint, month_first=month_first, limit=1)
    return found[0][1] if found else None


def _clean(text: str | None) -> str | None:
    if not text:
        return None
    t = " ".join(html_lib.unescape(text).split())
    return t or None


def _choose_title(ld: str | None, og: str | None, h1: str | None, html_title: str | None,
                  site_name: str | None) -> str | None:
    """The headline: the <h1> when a metadata title confirms it (it may otherwise be a logo), else the
    most specific metadata title without the site-name part."""
    meta_titles = [t for t in (ld, og, html_title) if t]
    if h1 and any(h1 == t or (len(h1) >= 15 and t.startswith(h1)) for t in meta_titles):
        return h1
    for title in meta_titles:
        return _strip_site(title, site_name)
    return h1


_SEPARATORS = (" | ", " - ", " – ", " — ", " · ", " » ", " :: ", "|")
_SUFFIX_RE = re.compile(r"^(.{15,}?)\s*(?:\s[|–—·»-]\s|\|)\s*([^|–—·»]{1,40})$")


def _strip_site(title: str, site_name: str | None) -> str:
    if site_name:
        for sep in _SEPARATORS:
            if title.endswith(sep + site_name):
                return title[: -len(sep + site_name)].strip()
            if title.startswith(site_name + sep):
                return title[len(site_name + sep):].strip()
    m = _SUFFIX_RE.match(title)
    if m and len(m.group(2)) < len(m.group(1)):
        return m.group(1).strip()
    return title


_NAME_SPLIT = re.compile(r"\s*(?:,|;|/|&|\s(?:and|und|og|och|en|et|y|e|i|ve|và)\s)\s*", re.I)
_BY_PREFIX = re.compile(r"^(?:by|von|par|por|di|av|af|door|text:|von:)\s+", re.I)
_NOT_A_NAME = re.compile(r"@|https?:|^\d+$", re.I)


def _author_names(raw: str) -> list[str]:
    """Names from an author string: split lists ("A und B, dpa"), drop "By", initials in brackets,
    reporter titles, e-mail addresses and numeric ids. A newsroom or agency named as the author is kept:
    it is who signs the piece."""
    names: list[str] = []
    for part in _NAME_SPLIT.split(" ".join(raw.split())):
        name = _BY_PREFIX.sub("", part).strip()
        name = re.sub(r"\s*\([^)]{1,12}\)$", "", name)  # "Elena Oberholzer (obe)"
        name = re.sub(r"\s*(?:기자|記者|特派員|编辑|記者)$", "", name).strip(" .-")
        if not name or _NOT_A_NAME.search(name):
            continue
        names.append(name)
    return names


def _dedupe(items: list[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        key = item.casefold()
        if item and key not in seen and len(item) < 120:
            seen.add(key)
            out.append(item)
    return out


def _iso639(lang: str | None) -> str | None:
    if not lang:
        return None
    code = lang.strip().replace("_", "-").split("-", 1)[0].lower()
    return code if re.fullmatch(r"[a-z]{2}", code) else None
