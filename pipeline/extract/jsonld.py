"""Read schema.org JSON-LD blocks: lenient parsing, @graph and list flattening, and choosing the object
that describes the page's article."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

ARTICLE_TYPES = frozenset({
    "article", "newsarticle", "reportagenewsarticle", "analysisnewsarticle", "opinionnewsarticle",
    "reviewnewsarticle", "backgroundnewsarticle", "askpublicnewsarticle", "blogposting", "liveblogposting",
    "report", "scholarlyarticle", "techarticle", "socialmediaposting", "satiricalarticle", "advertisercontentarticle",
})
PAGE_TYPES = frozenset({"webpage", "itempage", "collectionpage", "medicalwebpage", "videoobject", "event"})
INDEX_TYPES = frozenset({"collectionpage", "searchresultspage", "itemlist", "profilepage"})

_OPENERS = ("//<![CDATA[", "<![CDATA[", "<!--")
_CLOSERS = ("//]]>", "]]>", "-->")


def parse_blocks(raw_blocks: list[str]) -> list[dict[str, Any]]:
    """Every JSON object in the given script texts, flattened through lists and @graph."""
    objects: list[dict[str, Any]] = []
    for raw in raw_blocks:
        data = _loads(raw)
        if data is not None:
            objects.extend(_flatten(data, 0))
    return objects


def _loads(raw: str) -> Any:
    text = raw.strip()
    for opener in _OPENERS:
        if text.startswith(opener):
            text = text[len(opener):]
            break
    text = text.rstrip().rstrip(";")
    for closer in _CLOSERS:
        if text.endswith(closer):
            text = text[: -len(closer)].rstrip().rstrip("/")
            break
    text = text.strip().rstrip(";")
    if not text:
        return None
    try:
        return json.loads(text, strict=False)
    except ValueError:
        pass
    # Common breakage: raw newlines/tabs inside strings are handled by strict=False; trailing commas and
    # several objects glued together are not.
    try:
        return json.loads(re.sub(r",\s*([}\]])", r"\1", text), strict=False)
    except ValueError:
        pass
    try:
        obj, _ = json.JSONDecoder(strict=False).raw_decode(text)
        return obj
    except ValueError:
        return None


def _flatten(data: Any, depth: int) -> Iterator[dict[str, Any]]:
    if depth > 4:
        return
    if isinstance(data, list):
        for item in data:
            yield from _flatten(item, depth + 1)
    elif isinstance(data, dict):
        graph = data.get("@graph")
        if graph is not None:
            yield from _flatten(graph, depth + 1)
        if "@type" in data:
            yield data
        main = data.get("mainEntity")
        if isinstance(main, dict | list):
            yield from _flatten(main, depth + 1)


def types_of(obj: dict[str, Any]) -> set[str]:
    t = obj.get("@type")
    if isinstance(t, str):
        return {t.rsplit("/", 1)[-1].lower()}
    if isinstance(t, list):
        return {x.rsplit("/", 1)[-1].lower() for x in t if isinstance(x, str)}
    return set()


def text_of(value: Any) -> str | None:
    """A plain string from a JSON-LD value that may be a string, a list or a {@value/name} object."""
    if isinstance(value, str):
        v = value.strip()
        return v or None
    if isinstance(value, list):
        for item in value:
            if (v := text_of(item)) is not None:
                return v
        return None
    if isinstance(value, dict):
        return text_of(value.get("@value") or value.get("name"))
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def names_of(value: Any) -> list[str]:
    """Author-like names from a string, an object with a name, or a list of them."""
    out: list[str] = []
    if isinstance(value, str):
        out.extend(p.strip() for p in re.split(r"\s*(?:,|;|\band\b|\bund\b|&)\s*", value) if p.strip())
    elif isinstance(value, dict):
        name = value.get("name")
        if isinstance(name, list):
            name = text_of(name)
        if isinstance(name, str) and name.strip():
            out.append(name.strip())
        elif isinstance(value.get("givenName"), str):
            out.append(f"{value.get('givenName', '')} {value.get('familyName', '')}".strip())
    elif isinstance(value, list):
        for item in value[:20]:
            out.extend(names_of(item))
    return out


def url_of(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, dict):
        return url_of(value.get("@id") or value.get("url"))
    if isinstance(value, list) and value:
        return url_of(value[0])
    return None


def pick_article(objects: list[dict[str, Any]], page_urls: set[str]) -> dict[str, Any] | None:
    """The object describing this page's article: an Article type, preferably the one naming this URL."""
    best: dict[str, Any] | None = None
    best_score = -1
    for obj in objects:
        types = types_of(obj)
        if types & ARTICLE_TYPES:
            score = 4
        elif types & PAGE_TYPES and ("datePublished" in obj or "headline" in obj):
            score = 1
        else:
            continue
        urls = {url_of(obj.get("url")), url_of(obj.get("mainEntityOfPage")), url_of(obj.get("@id"))}
        if any(u and _norm_url(u) in page_urls for u in urls):
            score += 2
        if obj.get("headline"):
            score += 1
        if score > best_score:
            best, best_score = obj, score
    return best


def _norm_url(url: str) -> str:
    return url.split("#", 1)[0].split("?", 1)[0].rstrip("/").lower().replace("http://", "https://")


def norm_urls(*urls: str | None) -> set[str]:
    return {_norm_url(u) for u in urls if u}
