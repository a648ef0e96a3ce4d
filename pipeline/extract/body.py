"""Main-text extraction: find the container that holds the article's paragraphs and serialise its text
blocks, without navigation, share bars, related lists, cookie banners, comments or captions.

1. Junk: elements that never hold article text (scripts, nav, aside, footer, figures, ARIA landmarks)
   go; so do hidden elements and elements whose class/id names boilerplate ("share-bar",
   "article-comments", "onetrust-consent-sdk"), unless they hold a large share of the page's text.
2. Scoring: every leaf text block (a block element without block descendants) long enough to be prose
   and not made of links credits its length to its ancestors; the container with most credited text
   and least link and other text wins.
3. Serialising: the container's leaf blocks in order, minus link lists and furniture lines, with short
   blocks kept only between prose blocks and a lede just before the container added.

Speed comes from letting lexbor do the tree work in C (a handful of CSS queries per page) and touching
each leaf block once in Python; the ancestor chains of sibling blocks are shared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser, LexborNode

_JUNK_SEL = (
    "script, style, noscript, template, svg, iframe, object, embed, canvas, button, select, textarea, input, "
    "nav, aside, footer, figure, figcaption, dialog, video, audio, picture, map, menu, head"
)
_JUNK_TAGS = frozenset(tag.strip() for tag in _JUNK_SEL.split(","))
_JUNK_OR_ROLE_SEL = _JUNK_SEL + ", [role]"
_JUNK_ROLES = frozenset({"navigation", "complementary", "contentinfo", "banner", "dialog", "alert", "search"})

# Class/id words of boilerplate containers. A class token counts when its last segment (split on - and _)
# is one of these words, so "article-comments" and "share-bar" do, "comments-enabled" and "sidebar-grid"
# (layout wrappers) do not.
_BOILER_WORDS = frozenset((
    "share", "shares", "sharing", "sharebar", "social", "socials", "related", "recommend", "recommended",
    "recommendations", "comment", "comments", "kommentare", "cookie", "cookies", "consent", "gdpr",
    "newsletter", "subscribe", "subscription", "promo", "promotion", "advert", "advertisement", "ad", "ads",
    "adslot", "anzeige", "werbung", "banner", "sidebar", "breadcrumb", "breadcrumbs", "footer", "nav",
    "navbar", "navigation", "menu", "outbrain", "taboola", "popup", "modal", "toolbar", "pagination", "pager",
    "stories", "readmore", "tags", "taglist", "bio", "byline", "caption", "credit", "credits", "copyright",
    "disclaimer", "signup", "print", "masthead", "topics", "keywords", "trending", "mostread",
    "rating", "survey", "donate", "sponsor", "sponsored", "partner", "toc", "player", "gallery", "slideshow",
    "carousel", "teasers", "overlay", "flyout", "dropdown", "login",
))
# Words that mark boilerplate wherever they occur in a class token ("onetrust-consent-sdk").
_STRONG_WORDS = frozenset((
    "cookie", "cookies", "consent", "gdpr", "onetrust", "didomi", "usercentrics", "sourcepoint", "newsletter",
    "outbrain", "taboola", "breadcrumb", "breadcrumbs", "social", "sharing", "sharebar", "related",
))
_HIDDEN_SEL = ('[hidden], [aria-hidden="true"], [style*="display:none" i], [style*="display: none" i], '
               '[style*="visibility:hidden" i], [style*="visibility: hidden" i]')
_CLASSED_SEL = "[class], [id]"
_WEAK, _STRONG = 1, 2


# Whole class tokens of CSS frameworks that hide an element (Bootstrap, Tailwind, WordPress themes).
_HIDING_TOKENS = frozenset({"hidden", "is-hidden", "d-none", "hide", "visually-hidden", "sr-only",
                            "screen-reader-text", "invisible", "visuallyhidden"})
# A whole token "teaser" is a card linking to another story (as a segment it may be the lede:
# "article-teaser", so only the bare token counts).
_CARD_TOKENS = frozenset({"teaser"})


def _token_kind(token: str) -> int:
    """How surely one class token marks boilerplate: _STRONG (a segment such as "cookie" or "consent"
    anywhere), _WEAK (the last segment is a boilerplate word: "article-comments", or a hiding utility
    class), else 0."""
    if ":" in token:  # a utility-class variant ("print:hidden", "md:block") styles, it does not name
        return 0
    lowered = token.lower()
    if lowered in _HIDING_TOKENS or lowered in _CARD_TOKENS:
        return _WEAK
    if lowered != token:  # camelCase humps are segments too ("commentSection")
        lowered = _CAMEL_RE.sub(r"\1-\2", token).lower()
    segments = lowered.replace("_", "-").split("-")
    if not _STRONG_WORDS.isdisjoint(segments):
        return _STRONG
    while len(segments) > 1 and not segments[-1]:
        segments.pop()
    if segments[-1] in _BOILER_WORDS:
        return _WEAK
    # "comment-list", "newsletter-box": a boilerplate word qualified by a generic container word
    if len(segments) > 1 and segments[-1] in _CONTAINER_WORDS and segments[-2] in _BOILER_WORDS:
        return _WEAK
    return 0


_CAMEL_RE = re.compile(r"([a-z0-9])([A-Z])")
_CONTAINER_WORDS = frozenset({"list", "section", "area", "container", "wrapper", "wrap", "block", "box",
                              "thread", "form", "module", "panel", "bar", "links", "items", "widget"})


def _boiler_kind(value: str, cache: dict[str, int]) -> int:
    """The strongest token verdict of a class/id value (tokens repeat a lot within a page: cached)."""
    kind = 0
    for token in value.split():
        verdict = cache.get(token)
        if verdict is None:
            verdict = cache[token] = _token_kind(token)
        if verdict > kind:
            kind = verdict
    return kind


_PROTECTED_TAGS = frozenset({"html", "body", "main", "article"})

_BLOCKS = "p, h1, h2, h3, h4, h5, h6, li, blockquote, pre, dd, dt, td, th, div, section, header, table, ul, ol"
_NEVER_LEAF = frozenset({"table", "ul", "ol"})  # blocks that hold blocks, never text of their own
# Blocks skipped when inside a link (a linked card); headings in links stay (linked headlines).
_LINKED_SKIP = frozenset({"p", "div", "li", "dd", "td", "blockquote", "section", "header"})
_HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})

# Whole lines that are page furniture, in the languages of the news we read. Only short lines are tested.
_BOILER_LINE = re.compile(
    r"^(?:advertisement|anzeige|werbung|publicidad|publicité|pubblicità|reklame|annons|реклама:?|"
    r"share(?: this)?(?: article| story)?(?: in your social network)?|teilen|compartir|partager|condividi|"
    r"read (?:more|also|next)|lesen sie (?:auch|mehr)|mehr zum thema.*|weiterlesen|leer más|lire aussi|"
    r"lees ook|les også|läs också|czytaj (?:więcej|także)|noticia relacionada|passend zum artikel|"
    r"weitere informationen.*|dieses thema im programm:?|schlagwörter.*|zum anhören|audiobeitrag|embed|"
    r"related(?: articles?| stories| content)?|more from .{1,40}|sponsored|skip to (?:main )?content|"
    r"(?:accept|reject) (?:all )?cookies?|article content|author of the article:?|back to video|"
    r"we apologi[sz]e, but this video has failed to load\.?|table of contents|inhaltsverzeichnis|"
    r"(?:stand|aktualisiert(?: am)?|published|updated|publié le|mis à jour|actualizado|pubblicato|"
    r"publisert|oppdatert|publicerad|uppdaterad)\b.{0,60}\d{1,2}[:.h]\d\d.*|"
    r"(?:image|photo|foto|bild|bildrechte|credit|quelle|fuente|source)\s*:.*|"
    r".{0,80}(?:getty images|reuters|dpa|afp|ap photo|imago|shutterstock|keystone)\s*\)?|"
    r"[\W\d_]*)\W*$",
    re.I,
)


@dataclass(frozen=True)
class Body:
    paragraphs: list[str]
    listing: bool = False  # the container looks like a list of teasers (a section front), not one story


def _norm(text: str) -> str:
    return " ".join(text.split())


def _link_len(node: LexborNode, size: int) -> int:
    """Length of the link text under ``node`` (whose text is ``size`` long). A link inside another link
    is counted with its outer link only: links nest across tables (a marker stops the parser from closing
    them), and measuring each one's whole subtree was quadratic (10,000 "<a><table><tr><td>" took
    minutes). Links are measured one by one until their total passes what only nesting can explain."""
    links = node.css("a")
    total = 0
    for a in links:
        total += len(a.text(deep=True, strip=True))
        if total > 2 * size + 100:
            return _outer_link_len(node, links)
    return total


def _outer_link_len(node: LexborNode, links: list[LexborNode]) -> int:
    """The text length of the links that are not inside another link, each ancestor walked once."""
    link_ids = {a.mem_id for a in links}
    root_id = node.mem_id
    in_link: dict[int, bool] = {}  # node id -> it or an ancestor below ``node`` is a link
    total = 0
    for a in links:
        path: list[int] = []
        inside = False
        up = a.parent
        while up is not None:
            uid = up.mem_id
            if uid == root_id:
                break
            known = in_link.get(uid)
            if known is not None:
                inside = known
                break
            path.append(uid)
            if uid in link_ids:
                inside = True
                break
            up = up.parent
        for uid in path:  # the nodes walked through share the answer
            in_link[uid] = inside
        if not inside:
            total += len(a.text(deep=True, strip=True))
    return total


def remove_junk(root: LexborNode) -> None:
    """Drop elements that never hold article text (scripts, navigation, share bars, cookie banners…)."""
    for node in root.css(_JUNK_OR_ROLE_SEL):  # one walk of the tree for both
        if node.tag in _JUNK_TAGS:
            node.decompose(False)
        elif (node.attributes.get("role") or "").lower() in _JUNK_ROLES and node.tag not in _PROTECTED_TAGS:
            node.decompose(False)
    guard = _SizeGuard(root)
    for node in root.css(_HIDDEN_SEL):
        if node.tag not in _PROTECTED_TAGS and not guard.holds_much(node):
            node.decompose(False)
    verdicts, tokens = _VERDICTS, _TOKEN_VERDICTS
    if len(verdicts) > _VERDICTS_MAX:
        verdicts.clear()
    if len(tokens) > _VERDICTS_MAX:
        tokens.clear()
    for node in root.css(_CLASSED_SEL):
        attrs = node.attributes  # one dict: two lookups on the node cost twice as much
        kind = 0
        for key in ("class", "id"):
            value = attrs.get(key)
            if value:
                verdict = verdicts.get(value)
                if verdict is None:
                    verdict = verdicts[value] = _boiler_kind(value, tokens)
                if verdict > kind:
                    kind = verdict
        if not kind or node.tag in _PROTECTED_TAGS:
            continue
        if kind == _STRONG or not guard.holds_much(node):
            node.decompose(False)


# Verdicts of class/id values and of their tokens, kept across pages: a site's pages share a template, so
# classifying the same values again was a tenth of the extraction time. Pure functions of the string;
# cleared when large (the values of every site ever read would grow without bound).
_VERDICTS: dict[str, int] = {}
_TOKEN_VERDICTS: dict[str, int] = {}
_VERDICTS_MAX = 50_000


class _SizeGuard:
    """A class word or a hidden flag is weak evidence: a node holding a large share of the page's text is
    a layout wrapper ("content with-sidebar", a hidden streaming container), not boilerplate. The page
    total is only measured when a node is big enough for the question to arise."""

    def __init__(self, root: LexborNode) -> None:
        self._root = root
        self._total = -1

    def holds_much(self, node: LexborNode) -> bool:
        size = len(node.text(deep=True, strip=True))
        if size < _SMALL_NODE:
            return False
        if self._total < 0:
            self._total = len(self._root.text(deep=True, strip=True))
        return size >= _WRAPPER_SHARE * self._total


_SMALL_NODE = 300
_WRAPPER_SHARE = 0.4


def extract_body(tree: LexborHTMLParser, *, title: str | None = None, body_selector: str | None = None) -> Body:
    """Paragraphs of the article's main text (the tree is modified: junk is removed)."""
    root = tree.body
    if root is None:
        return Body([])
    if body_selector:
        try:
            chosen = tree.css(body_selector)
        except Exception:  # noqa: BLE001 - an invalid selector from the config must not break extraction
            chosen = []
        if chosen:
            for node in chosen:
                for junk in node.css(_JUNK_SEL):
                    junk.decompose(False)
            paras = _serialise(chosen, title, strict=False)
            if paras:
                return Body(paras)
    # The page's one <main> (when it holds real text) is where the article is: scoring inside it is
    # cheaper and keeps site chrome out of the running.
    mains = root.css("main, [role=main]")
    if len(mains) == 1 and len(mains[0].text(deep=True, strip=True)) > _MAIN_MIN_TEXT:
        root = mains[0]
    remove_junk(root)
    best, leaves = _best_container(root)
    if best is None:
        return Body(_serialise([root], title, strict=True))
    chosen = [leaf for leaf in leaves if best in leaf.chain]
    paragraphs = _blocks_to_paragraphs(_lede(leaves, chosen) + chosen, title, strict=True)
    return Body(paragraphs, listing=_is_listing(chosen))


def _is_listing(chosen: list[_Leaf]) -> bool:
    """Teaser lists alternate linked headlines with summaries; an article has few linked headings."""
    linked_heads = sum(1 for leaf in chosen if leaf.node.tag in _HEADING_TAGS and leaf.has_link
                       and leaf.link_len >= 0.8 * leaf.length)
    prose = sum(1 for leaf in chosen if leaf.length >= _MIN_PROSE and leaf.node.tag not in _HEADING_TAGS)
    return linked_heads >= _LISTING_HEADS and linked_heads >= 0.5 * prose


_LISTING_HEADS = 4


def _lede(leaves: list[_Leaf], chosen: list[_Leaf]) -> list[_Leaf]:
    """A summary paragraph set just before the article container (often a heading-styled standfirst in
    the article header): the one or two leaves right before the first chosen one, if long prose."""
    if not chosen:
        return []
    first = leaves.index(chosen[0])
    out: list[_Leaf] = []
    for leaf in reversed(leaves[max(0, first - 2):first]):
        if leaf.length >= _LEDE_MIN and not (leaf.has_link and leaf.link_len > 0.2 * leaf.length):
            out.insert(0, leaf)
        else:
            break
    return out


_LEDE_MIN = 100


class _Leaf:
    """A leaf text block with what scoring learnt about it, reused when serialising."""

    __slots__ = ("node", "text", "length", "chain", "has_link", "_link_len")

    def __init__(self, node: LexborNode, chain: list[int]) -> None:
        self.node = node
        self.text = _norm(node.text(deep=True))
        self.length = len(self.text)
        self.chain = chain
        self.has_link = self.length > 0 and node.css_first("a") is not None
        self._link_len = -1

    @property
    def link_len(self) -> int:
        if self._link_len < 0:
            self._link_len = _link_len(self.node, self.length) if self.has_link else 0
        return self._link_len


def _best_container(root: LexborNode) -> tuple[int | None, list[_Leaf]]:
    """The element that holds most article-like text and least of anything else, and the page's leaf
    blocks (with their ancestor chains) for serialisation.

    Article-like text is the text of leaf blocks long enough to be prose and not made of links. Each
    such block credits its length to its ancestors; the winner maximises credited text minus weighted
    link text and other text, so a container grows to take in more paragraphs only while they outweigh
    the furniture that comes with them.
    """
    good: dict[int, int] = {}
    nodes: dict[int, LexborNode] = {}
    chains: dict[int, list[int]] = {}  # node id -> ids of it and its ancestors (shared by sibling leaves)
    leaves: list[_Leaf] = []
    for node in _leaf_blocks(root, skip_linked=True):
        parent = node.parent
        if parent is None:
            continue
        chain = chains.get(parent.mem_id)
        if chain is None:
            chain = _ancestor_chain(parent, chains, nodes)
        leaf = _Leaf(node, chain)
        leaves.append(leaf)
        if leaf.length < _MIN_PROSE or node.tag in _HEADING_TAGS:
            continue
        if leaf.has_link and leaf.link_len > 0.5 * leaf.length:
            continue
        for nid in chain:
            good[nid] = good.get(nid, 0) + leaf.length
    if not good:
        return None, leaves
    best_good = max(good.values())
    # ties are broken by document order (the order nodes were first met), never by memory address, so
    # that the same page always gives the same text
    order = {nid: i for i, nid in enumerate(nodes)}
    ranked: list[tuple[float, int, int]] = []
    for nid, g in good.items():
        if g >= _CANDIDATE_SHARE * best_good:
            total = len(nodes[nid].text(deep=True, strip=True))
            ranked.append((g - _OTHER_WEIGHT * max(total - g, 0), nid, total))
    ranked.sort(key=lambda r: (-r[0], order[r[1]]))
    best: int | None = None
    best_value = float("-inf")
    for _, nid, total in ranked[:_LINK_CHECKS]:
        g = good[nid]
        links = _link_len(nodes[nid], total)
        value = g - _LINK_WEIGHT * links - _OTHER_WEIGHT * max(total - g - links, 0)
        if value > best_value:
            best, best_value = nid, value
    return best, leaves


def _leaf_blocks(root: LexborNode, *, skip_linked: bool) -> list[LexborNode]:
    """The leaf text blocks under ``root`` (blocks without block descendants) in document order; with
    ``skip_linked``, without the blocks inside a link (cards whose whole text is a link).

    One pass over the blocks: each marks its nearest block ancestor as no leaf, and learns from it
    whether it sits in a link, so the cost is linear in the size of the tree. (The selectors
    ``:not(:has(…))`` and ``a p`` did this in lexbor, but walk every block's subtree and ancestors:
    quadratic on a page of thousands of nested elements.)
    """
    blocks = root.css(_BLOCKS)
    if not blocks:
        return []
    root_id = root.mem_id
    root_linked = False
    node: LexborNode | None = root
    while node is not None:  # a link around the container itself
        if node.tag == "a":
            root_linked = True
            break
        node = node.parent
    linked: dict[int, bool] = {}  # block id -> inside a link
    # non-block node id -> (its nearest block ancestor, 0 for none; a link between the two)
    hops: dict[int, tuple[int, bool]] = {}
    not_leaf: set[int] = set()
    for block in blocks:
        path: list[int] = []
        path_links: list[bool] = []
        node = block.parent
        anchor, tail = 0, False
        while node is not None:
            nid = node.mem_id
            if nid in linked:
                anchor = nid
                break
            hop = hops.get(nid)
            if hop is not None:
                anchor, tail = hop
                break
            if nid == root_id:
                break
            path.append(nid)
            path_links.append(node.tag == "a")
            node = node.parent
        if anchor:
            not_leaf.add(anchor)
        through = tail
        for i in range(len(path) - 1, -1, -1):  # the nodes walked through learn the same answer
            through = through or path_links[i]
            hops[path[i]] = (anchor, through)
        linked[block.mem_id] = through or (linked[anchor] if anchor else root_linked)
    out = []
    for block in blocks:
        bid = block.mem_id
        if bid in not_leaf or block.tag in _NEVER_LEAF:
            continue
        if skip_linked and linked[bid] and block.tag in _LINKED_SKIP:
            continue
        out.append(block)
    return out


def _ancestor_chain(start: LexborNode, chains: dict[int, list[int]], nodes: dict[int, LexborNode]) -> list[int]:
    walked: list[int] = []
    node: LexborNode | None = start
    while node is not None and len(walked) < _MAX_DEPTH:
        nid = node.mem_id
        cached = chains.get(nid)
        if cached is not None:
            walked.extend(cached)
            break
        walked.append(nid)
        nodes[nid] = node
        if node.tag == "body":
            break
        node = node.parent
    del walked[_MAX_DEPTH:]
    for i, nid in enumerate(walked):
        if nid in chains:
            break
        chains[nid] = walked[i:]
    return walked


_MAIN_MIN_TEXT = 500
_MIN_PROSE = 25
_LEDE_HEADING = 100
_EDGE_PROSE = 40  # a block this long can start or end the article; shorter ones only sit between
_MAX_DEPTH = 14
_CANDIDATE_SHARE = 0.5
_OTHER_WEIGHT = 3.0
_LINK_WEIGHT = 4.0
_LINK_CHECKS = 3


def _serialise(containers: list[LexborNode], title: str | None, *, strict: bool) -> list[str]:
    """Text blocks of whole containers (a configured selector, or the body when nothing scored)."""
    leaves: list[_Leaf] = []
    for container in containers:
        found = _leaf_blocks(container, skip_linked=strict)
        leaves.extend(_Leaf(node, []) for node in (found if found else [container]))
    return _blocks_to_paragraphs(leaves, title, strict=strict)


def _blocks_to_paragraphs(leaves: list[_Leaf], title: str | None, *, strict: bool) -> list[str]:
    """Paragraph texts of leaf blocks in document order.

    In strict mode (generic extraction) link lists and boilerplate lines are dropped, and short blocks
    (sub-headings, bylines, "Article content") are kept only between two prose blocks, which trims the
    furniture that sits at the edges of an article container.
    """
    blocks: list[tuple[str, bool]] = []
    seen: set[str] = set()
    taken = _Taken()
    title_key = _norm(title).casefold() if title else None
    for leaf in leaves:
        if not leaf.length:
            continue
        tag = leaf.node.tag
        if strict and leaf.has_link:
            link = leaf.link_len
            if link > 0.5 * leaf.length or (tag == "li" and link > 0.2 * leaf.length):
                continue
        for text in _split_breaks(leaf):
            key = text.casefold()
            if key in seen or key == title_key:
                continue
            prose = True
            if strict:
                if len(text) < 160 and _BOILER_LINE.match(text):
                    continue
                if tag == "li" and len(text) < 15:
                    continue
                # a long "heading" is a lede set in a heading tag
                prose = len(text) >= (_LEDE_HEADING if tag in _HEADING_TAGS else _EDGE_PROSE)
            if len(text) > 400 and taken.covered(text) >= 0.5 * len(text):
                continue
            seen.add(key)
            blocks.append((text, prose))
            taken.add(text)
    if strict:
        first = next((i for i, b in enumerate(blocks) if b[1]), None)
        if first is None:
            return []
        last = max(i for i, b in enumerate(blocks) if b[1])
        blocks = blocks[first:last + 1]
    return [text for text, _ in blocks]


class _Taken:
    """The blocks taken so far, to tell when a long block mostly repeats them (a second copy of the
    article, e.g. for a read-aloud player or a print version, flattened into one block).

    Comparing every long block with every block before it is quadratic (37 s for a page of 11,000
    paragraphs), so past a few dozen blocks they are indexed by the characters after their first space:
    where a block occurs in a text, a space of the text is followed by its key, so the text is compared
    only with the blocks whose key follows one of its spaces, at the one position each can start. Blocks
    without a usable space (CJK) are compared whole. Crafted pages could still make many blocks share a
    key, so the comparisons of one page have a budget; beyond it no more blocks are dropped as repeats.
    """

    __slots__ = ("_all", "_indexed", "_by_key", "_whole", "_budget")

    def __init__(self) -> None:
        self._all: list[str] = []
        self._indexed = 0  # blocks of _all in the index (it is built when first needed)
        self._by_key: dict[str, list[tuple[int, str]]] = {}
        self._whole: list[str] = []
        self._budget = _REPEAT_BUDGET

    def add(self, text: str) -> None:
        if len(text) >= _REPEAT_MIN:
            self._all.append(text)

    def _index(self) -> None:
        for text in self._all[self._indexed:]:
            space = text.find(" ")
            if 0 <= space <= len(text) - 1 - _REPEAT_KEY:
                self._by_key.setdefault(text[space + 1:space + 1 + _REPEAT_KEY], []).append((space, text))
            else:
                self._whole.append(text)
        self._indexed = len(self._all)

    def covered(self, text: str) -> int:
        """Characters of ``text`` that are copies of taken blocks (each block counted once)."""
        budget = self._budget
        if budget <= 0:
            return 0
        if len(self._all) <= _REPEAT_DIRECT:  # few blocks: comparing them all is cheaper than the index
            self._budget = budget - len(self._all) * (_REPEAT_CHECK + len(text))
            return sum(len(block) for block in self._all if block in text)
        self._index()
        found: set[str] = set()
        by_key = self._by_key
        space = text.find(" ")
        while space >= 0 and budget > 0:
            candidates = by_key.get(text[space + 1:space + 1 + _REPEAT_KEY])
            if candidates:
                for offset, block in candidates:
                    budget -= _REPEAT_CHECK + len(block)
                    if space >= offset and block not in found and text.startswith(block, space - offset):
                        found.add(block)
            space = text.find(" ", space + 1)
        for block in self._whole:
            if budget <= 0:
                break
            budget -= _REPEAT_CHECK + len(text)
            if block in text:
                found.add(block)
        self._budget = budget
        return sum(len(block) for block in found)


_REPEAT_MIN = 60  # shorter blocks (datelines, "Read more") repeat without making a copy
_REPEAT_KEY = 12
_REPEAT_DIRECT = 48
_REPEAT_CHECK = 64  # a comparison's fixed cost, in characters, for the budget
_REPEAT_BUDGET = 50_000_000  # characters compared per page: tens of milliseconds


_BR_RE = re.compile(r"(?:<br\s*/?>\s*){2,}", re.I)


def _split_breaks(leaf: _Leaf) -> list[str]:
    """A leaf's text; a double <br> inside a long block separates paragraphs."""
    if leaf.length > _BR_MIN and leaf.node.css_first("br") is not None:
        html = leaf.node.html or ""
        if _BR_RE.search(html):
            parts = _BR_RE.split(leaf.node.inner_html or "")
            texts = [_norm(LexborHTMLParser(p).text(deep=True)) for p in parts if p.strip()]
            return [t for t in texts if t]
    return [leaf.text]


_BR_MIN = 120
