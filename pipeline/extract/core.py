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
    if ((utf8.count(b"<") if utf8 is not None else text.count("<")) > _NESTING_CHECK_TAGS
            and (flat := _bound_nesting(text)) is not None):
        text, utf8 = flat, None
    return LexborHTMLParser(utf8 if utf8 is not None else text), text


# The HTML tree builder checks the open elements on every block start tag ("a <p> in button scope?")
# and re-creates every unclosed formatting element in each new block, so its cost grows with the square
# of the nesting depth: 100,000 nested <div>s take 10 s to parse, 20,000 "<i x=n><p>" pairs run out of
# memory. Browsers cap the tree depth for the same reason. Pages with many tags are checked (counting
# them costs 0.1 ms on a typical page; the check itself ~1 ms); deeper nesting than real pages have is
# flattened before parsing (the text stays, the excess tags go). Below the threshold nested blocks cost
# at most ~0.1 s, but a few thousand distinct unclosed formatting elements can still take ~1 GB.
_NESTING_CHECK_TAGS = 10_000  # "<" characters; the 258 pages of the news-pages dataset have at most 8,100
_NEST_TAG_RE = re.compile(
    r"<(/?)(?:(address|article|aside|blockquote|center|details|dialog|dir|div|dl|fieldset|figcaption|figure"
    r"|footer|header|hgroup|main|menu|nav|ol|section|summary|ul|search)|(b|big|code|em|font|i|nobr|s|small|strike"
    r"|strong|tt|u))(?=[\s/>])[^>]*>", re.I)
_MAX_BLOCK_DEPTH = 512  # real pages: under 100
_MAX_FORMAT_DEPTH = 64  # real pages: under 20


def _bound_nesting(text: str) -> str | None:
    """``text`` without the block and formatting tags nested beyond the caps, or None when none is."""
    block = fmt = 0
    too_deep = False
    for close, is_block, _ in _NEST_TAG_RE.findall(text):
        if is_block:
            block = max(block - 1, 0) if close else block + 1
            too_deep = too_deep or block > _MAX_BLOCK_DEPTH
        else:
            fmt = max(fmt - 1, 0) if close else fmt + 1
            too_deep = too_deep or fmt > _MAX_FORMAT_DEPTH
        if too_deep:
            break
    if not too_deep:
        return None
    depth = {True: 0, False: 0}

    def keep(match: re.Match[str]) -> str:
        kind = bool(match.group(2))
        cap = _MAX_BLOCK_DEPTH if kind else _MAX_FORMAT_DEPTH
        if match.group(1):  # an end tag: dropped when its start tag was
            depth[kind] = max(depth[kind] - 1, 0)
            return "" if depth[kind] >= cap else match.group(0)
        depth[kind] += 1
        return "" if depth[kind] > cap else match.group(0)

    log.info("flattened nesting deeper than %d blocks or %d formatting elements", _MAX_BLOCK_DEPTH,
             _MAX_FORMAT_DEPTH)
    return _NEST_TAG_RE.sub(keep, text)


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
