"""extract_article(): decode, parse once with lexbor, read metadata, extract the main text, detect the
language, and decide whether the page holds an article at all. Never raises."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import partial

from selectolax.lexbor import LexborHTMLParser

from .body import extract_body
from .decode import decode_lazily
from .jsonld import ARTICLE_TYPES
from .language import choose_language
from .metadata import Metadata, extract_metadata
from .model import ExtractedArticle
from .scan import scan_document

log = logging.getLogger(__name__)

MAX_CHARS = 8_000_000  # beyond this a "page" is not a news article; parse only the head of it
MIN_ARTICLE_CHARS = 200
_ARTICLE_OG = {"article", "news", "blog", "newsarticle"}
_INDEX_LD = {"collectionpage", "searchresultspage", "itemlist", "profilepage"}


def _parse(html: str | bytes | None) -> tuple[LexborHTMLParser, str | Callable[[], str]] | None:
    """Decode and parse once; the parser and the page's text (or, for UTF-8 input, a function making it:
    few pages need it). Valid UTF-8 input goes to lexbor as bytes, which spares re-encoding the decoded
    text (lexbor works on UTF-8), and its text is only made when a check below needs it."""
    text, utf8 = decode_lazily(html)
    if utf8 is not None:
        tags = utf8.count(b"<")
        if len(utf8) <= MAX_CHARS and b"\x00" not in utf8 and 0 < tags <= _NESTING_CHECK_TAGS:
            # no text needed: not too long (characters <= bytes), nothing to remove, not blank (it has
            # a "<"), no nesting check; the formatting check reads the bytes
            if (defused := _defuse_formatting(utf8, None, tags)) is not None:
                return LexborHTMLParser(defused), defused
            return LexborHTMLParser(utf8), partial(utf8.decode, "utf-8")
        text = utf8.decode("utf-8")
    if len(text) > MAX_CHARS:
        text, utf8 = text[:MAX_CHARS], None
    if (b"\x00" in utf8) if utf8 is not None else ("\x00" in text):
        text, utf8 = text.replace("\x00", ""), None
    if not text or text.isspace():
        return None
    tags = utf8.count(b"<") if utf8 is not None else text.count("<")
    if (defused := _defuse_formatting(utf8 if utf8 is not None else text, text, tags)) is not None:
        text, utf8 = defused, None
    if tags > _NESTING_CHECK_TAGS and (flat := _bound_nesting(text)) is not None:
        text, utf8 = flat, None
    return LexborHTMLParser(utf8 if utf8 is not None else text), text


# The HTML tree builder re-opens every formatting element (b, i, em, font…) that a closed block left
# unclosed, in each new block, with copies of its attributes ("reconstruct the active formatting
# elements"). Only identical elements are capped (3 of a kind), so a 38 KB page of 3,000 "<i x=n><p>"
# pairs made 4.5 million elements (1.6 GB), and 39 distinct plain ones followed by 100,000 blocks 690 MB.
# The copies are at most (tags) x (formatting elements, ~400 B each plus their attributes); when that
# product passes the budget, every formatting tag is renamed <wbr> before parsing: an empty element that
# is never re-opened nor nests (renaming touches only the name: no need to find where the tag ends, where
# quoted attribute values may hold ">"), and the text is the same. Finding the formatting tags
# costs ~0.1 ms on a typical page (the lookahead rejects most tags at their first two letters); the
# 258 pages of the news-pages dataset stay below 200 MB of the 512 MB budget (their tags are closed).
_FMT_NAMES = (r"(?:[bB](?:[iI][gG])?|[iI]|[uU]|[sS](?:[mM][aA][lL][lL]|[tT][rR](?:[iI][kK][eE]|[oO][nN][gG]))?"
              r"|[eE][mM]|[tT][tT]|[cC][oO][dD][eE]|[fF][oO][nN][tT])")  # <a> and <nobr> close their predecessor
_WS = r"\t\n\f\r "
# a start tag as the HTML tokenizer reads it (to weigh its attributes): a quoted value may hold ">"
_FMT_START = (rf"<(?=[bBiIsSuUeEtTcCfF][{_WS}/>iImMtToO]){_FMT_NAMES}(?=[{_WS}/>])"
              rf"""(?>[{_WS}/]+|[^{_WS}/>][^{_WS}/>=]*(?:[{_WS}]*=[{_WS}]*(?:"[^"]*"?|'[^']*'?|[^{_WS}>]*))?)*>?""")
_FMT_START_RE = re.compile(_FMT_START)
_FMT_START_BYTES_RE = re.compile(_FMT_START.encode())
_FMT_TAG_RE = re.compile(rf"<(/?){_FMT_NAMES}(?=[{_WS}/>])")
_FMT_ELEMENT_BYTES = 400  # one re-opened element in lexbor, before its attributes
_FMT_COPY_BUDGET = 512 << 20  # bytes of the bound; the real worst case is about a quarter of it


def _defuse_formatting(doc: str | bytes, text: str | None, tags: int) -> str | None:
    """``text`` with its formatting tags renamed <wbr> when the re-opened copies could take more
    than the budget, else None. ``doc`` is the page as parsed (bytes when UTF-8; ``text`` None: decoded
    here if needed), ``tags`` its "<" count."""
    found = (_FMT_START_BYTES_RE if isinstance(doc, bytes) else _FMT_START_RE).findall(doc)
    if not found or tags * (len(found) * _FMT_ELEMENT_BYTES + sum(map(len, found))) <= _FMT_COPY_BUDGET:
        return None
    log.info("renamed %d formatting tags to wbr (re-opening them could take %d MB)", len(found),
             tags * (len(found) * _FMT_ELEMENT_BYTES + sum(map(len, found))) >> 20)
    if text is None:
        text = doc.decode("utf-8") if isinstance(doc, bytes) else doc
    return _FMT_TAG_RE.sub(r"<\1wbr", text)


# The HTML tree builder walks the open elements on many start tags ("a <p> in button scope?", "a <ruby>
# in scope?"), so its cost grows with the square of the nesting depth: 100,000 nested <div>s took 10 s
# to parse, 50,000 "<span><p>x</p>" 2.4 s, 24,000 "<rt><pre><rt>" 6 s, 80,000 "<a><div>x</a>" 10 s. Browsers cap the tree depth
# (512) for the same reason. Pages with many tags are checked (counting them costs 0.07 ms on a typical
# page; the check ~1 us per tag): the open elements are followed roughly as the parser does (erring on
# the deep side), and start tags nested deeper than the cap are dropped with their end tags before
# parsing (the text stays). Below the threshold nesting costs at most ~0.1 s.
_NESTING_CHECK_TAGS = 10_000  # "<" characters; the 258 pages of the news-pages dataset have at most 8,100
_NEST_TAG_RE = re.compile(r"<(/?)([a-zA-Z][^\t\n\f\r />]*)([^>]*)>")
# elements that never stay open around what follows: void ones, and those that a sibling start tag
# closes or that the parser ignores when nested (table rows and cells nest only with their table)
_NOT_NESTING = frozenset({
    "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "image", "img", "input",
    "keygen", "link", "meta", "param", "source", "track", "wbr", "p", "li", "dd", "dt", "option", "optgroup",
    "tr", "td", "th", "thead", "tbody", "tfoot", "caption", "colgroup", "html", "head", "body", "frameset"})
_FOREIGN = frozenset({"svg", "math"})  # inside them "<x/>" closes itself; in HTML it stays open
# an end tag of one of these closes only its own element (the adoption agency keeps the blocks opened
# inside it open: "<a><div>x</a>" nests a div deeper each time)
_FORMATTING = frozenset({"a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong",
                         "tt", "u"})
# the HTML "special" elements: an ordinary end tag ("</span>") is ignored when one of them was opened
# after its element ("<span><div>x</span>" leaves both open); their own end tags close everything inside
_SPECIAL = frozenset({
    "address", "applet", "article", "aside", "blockquote", "button", "center", "details", "dialog", "dir", "div",
    "dl", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hgroup", "iframe", "listing", "main", "marquee", "menu", "nav", "noembed", "noframes", "noscript", "object",
    "ol", "plaintext", "pre", "script", "search", "section", "select", "style", "summary", "table", "template",
    "textarea", "title", "ul", "xmp", "mi", "mo", "mn", "ms", "mtext", "annotation-xml", "foreignobject", "desc"})
_MAX_DEPTH = 512  # as browsers; on the real pages this stack (which closes less than the parser) reaches 270


class _OpenElements:
    """The stack of open elements, approximately: enough to tell how deep the next start tag lands."""

    def __init__(self) -> None:
        self.stack: list[str] = []
        self.dropped: dict[str, int] = {}  # start tags dropped, by name, whose end tag is still to come
        self.foreign = 0

    def keep(self, close: str, name: str, rest: str) -> bool:
        name = name.lower()
        if name in _NOT_NESTING:
            return True
        stack = self.stack
        if close:
            if self.dropped.get(name):  # the innermost open one was dropped: so is its end tag
                self.dropped[name] -= 1
                return False
            if name in stack:
                at = len(stack) - 1 - stack[::-1].index(name)
                if name in _FORMATTING:
                    del stack[at]
                elif name in _SPECIAL or not any(n in _SPECIAL for n in stack[at + 1:]):
                    self.foreign -= sum(1 for n in stack[at:] if n in _FOREIGN)
                    del stack[at:]
            return True
        if self.foreign and rest.endswith("/"):
            return True
        if len(stack) >= _MAX_DEPTH:
            self.dropped[name] = self.dropped.get(name, 0) + 1
            return False
        stack.append(name)
        if name in _FOREIGN:
            self.foreign += 1
        return True


def _bound_nesting(text: str) -> str | None:
    """``text`` without the start tags nested deeper than the cap (and their end tags), or None when
    none is."""
    probe = _OpenElements()
    if all(probe.keep(*tag) for tag in _NEST_TAG_RE.findall(text)):
        return None
    elements = _OpenElements()
    log.info("flattened nesting deeper than %d elements", _MAX_DEPTH)
    return _NEST_TAG_RE.sub(lambda m: m.group(0) if elements.keep(*m.groups()) else "", text)


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
    scan = scan_document(tree)
    md = extract_metadata(tree, url, feed_item, source=source, scan=scan)
    body = extract_body(tree, title=md.title, body_selector=body_selector, mains=scan.mains)
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
