"""extract_article(): decode, parse once with lexbor, read metadata, extract the main text, detect the
language, and decide whether the page holds an article at all. Never raises."""

from __future__ import annotations

import logging
import re

from selectolax.lexbor import LexborHTMLParser

from .body import extract_body
from .decode import decode_with_utf8
from .jsonld import ARTICLE_TYPES
from .language import choose_language
from .metadata import Metadata, extract_metadata
from .model import ExtractedArticle

log = logging.getLogger(__name__)

MAX_CHARS = 8_000_000  # beyond this a "page" is not a news article; parse only the head of it
MIN_ARTICLE_CHARS = 200
_ARTICLE_OG = {"article", "news", "blog", "newsarticle"}
_INDEX_LD = {"collectionpage", "searchresultspage", "itemlist", "profilepage"}


def _parse(html: str | bytes | None) -> tuple[LexborHTMLParser, str] | None:
    """Decode and parse once. Valid UTF-8 input goes to lexbor as bytes, which spares re-encoding the
    decoded text (lexbor works on UTF-8)."""
    text, utf8 = decode_with_utf8(html)
    if len(text) > MAX_CHARS:
        text, utf8 = text[:MAX_CHARS], None
    if (b"\x00" in utf8) if utf8 is not None else ("\x00" in text):
        text, utf8 = text.replace("\x00", ""), None
    if not text or text.isspace():
        return None
    return LexborHTMLParser(utf8 if utf8 is not None else text), text


def extract_article(html: str | bytes, url: str, *, feed_item: object | None = None,
                    body_selector: str | None = None) -> ExtractedArticle:
    """Extract one page's article; on any failure an ``is_article=False`` result, never an exception."""
    url = url if isinstance(url, str) else str(url or "")
    try:
        return _extract(html, url, feed_item, body_selector)
    except Exception as exc:  # noqa: BLE001 - robustness contract: one bad page must not stop a cycle
        log.warning("extract failed url=%s error=%s", url, type(exc).__name__, exc_info=log.isEnabledFor(10))
        return _fallback(url, feed_item)


def extract_metadata_only(html: str | bytes, url: str, *, feed_item: object | None = None) -> ExtractedArticle:
    """Metadata and publication date without the main text: cheaper where the body is not needed (the
    publication-date benchmark, re-dating stored pages). ``text`` is empty and ``is_article`` is False,
    as the body was not assessed."""
    try:
        parsed = _parse(html)
        if parsed is None:
            return _fallback(url, feed_item)
        md = extract_metadata(parsed[0], url, feed_item, source=parsed[1])
        return _result(url, md, "", md.declared_language, is_article=False)
    except Exception as exc:  # noqa: BLE001
        log.warning("extract_metadata failed url=%s error=%s", url, type(exc).__name__)
        return _fallback(url, feed_item)


def _fallback(url: str, feed_item: object | None) -> ExtractedArticle:
    """The explicit "no article" answer, keeping the feed's title when there is one."""
    try:
        title = getattr(feed_item, "title", None) if feed_item is not None else None
    except Exception:  # noqa: BLE001 - a hostile feed object must not break the fallback
        title = None
    return ExtractedArticle(url=url, title=title if isinstance(title, str) else None, is_article=False)


def _extract(html: str | bytes, url: str, feed_item: object | None, body_selector: str | None) -> ExtractedArticle:
    parsed = _parse(html)
    if parsed is None:
        return _fallback(url, feed_item)
    tree, source = parsed
    md = extract_metadata(tree, url, feed_item, source=source)
    body = extract_body(tree, title=md.title, body_selector=body_selector)
    paragraphs = body.paragraphs
    text = "\n\n".join(paragraphs)
    ld_body = md.article_body
    if ld_body and len(ld_body) > max(2 * len(text), MIN_ARTICLE_CHARS) and not body_selector:
        # The page hides its text (script-rendered) but the structured data carries it.
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n|\r\n|\n", ld_body) if p.strip()]
        text = "\n\n".join(" ".join(p.split()) for p in paragraphs)
    language = choose_language(md.declared_language, text or md.title or "")
    return _result(url, md, text, language, is_article=_is_article(md, text, listing=body.listing))


def _is_article(md: Metadata, text: str, *, listing: bool = False) -> bool:
    """Enough prose makes an article; a page that declares itself a listing (CollectionPage, ItemList…)
    or whose text is a run of linked headlines with summaries needs to declare an article to count."""
    declared_article = bool(md.ld_types & ARTICLE_TYPES) or (md.og_type or "") in _ARTICLE_OG
    if not declared_article and (listing or (md.ld_types & _INDEX_LD and len(text) < 1500)):
        return False
    if len(text) >= MIN_ARTICLE_CHARS * 2:
        return True
    return (declared_article or md.published_at is not None) and len(text) >= MIN_ARTICLE_CHARS


def _result(url: str, md: Metadata, text: str, language: str | None, *, is_article: bool) -> ExtractedArticle:
    return ExtractedArticle(
        url=url,
        title=md.title,
        text=text,
        published_at=md.published_at,
        published_at_method=md.published_at_method,
        modified_at=md.modified_at,
        language=language,
        authors=md.authors,
        canonical_url=md.canonical_url,
        site_name=md.site_name,
        description=md.description,
        is_article=is_article,
    )
