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

from .scan import MAIN_SEL

_JUNK_SEL = (
    "script, style, noscript, template, svg, iframe, object, embed, canvas, button, select, textarea, input, "
    "nav, aside, footer, figure, figcaption, dialog, video, audio, picture, map, menu, head"
)
_JUNK_TAGS = frozenset(tag.strip() for tag in _JUNK_SEL.split(","))
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
        lowered = _CAMEL_RE.sub("-", token).lower()
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


_CAMEL_RE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")  # a plain replacement: a template costs a call per match
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
_BLOCKS_LINKS_BREAKS = _BLOCKS + ", a, br"


def _tag_ids(names: frozenset[str]) -> frozenset[int]:
    """lexbor's ids of these tag names (comparing ids spares making a tag's name string)."""
    return frozenset(LexborHTMLParser("").create_node(name).tag_id for name in names)


_LINK_TAG_ID = next(iter(_tag_ids(frozenset({"a"}))))
_BODY_TAG_ID = next(iter(_tag_ids(frozenset({"body"}))))
_BR_TAG_ID = next(iter(_tag_ids(frozenset({"br"}))))
_NEVER_LEAF = frozenset({"table", "ul", "ol"})  # blocks that hold blocks, never text of their own
# Blocks skipped when inside a link (a linked card); headings in links stay (linked headlines).
_LINKED_SKIP = frozenset({"p", "div", "li", "dd", "td", "blockquote", "section", "header"})
_HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_NEVER_LEAF_IDS = _tag_ids(_NEVER_LEAF)
_JUNK_IDS = _tag_ids(_JUNK_TAGS)
_BLOCKS_LINKS_BREAKS_IDS = _tag_ids(frozenset(tag.strip() for tag in _BLOCKS_LINKS_BREAKS.split(",")))
_HEADING_IDS = _tag_ids(_HEADING_TAGS)
_LINKED_SKIP_IDS = _tag_ids(_LINKED_SKIP)

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
    r"[\W\d_]*)\W*$",
    re.I,
)
# Photo credits ending a line. Apart from _BOILER_LINE (a line is furniture when either matches): tried
# at each of 80 starts this alternative cost 6 us a line, so it runs only on lines naming an agency.
_AGENCIES = ("getty images", "reuters", "dpa", "afp", "ap photo", "imago", "shutterstock", "keystone")
_CREDIT_LINE = re.compile(rf"^(?:.{{0,80}}(?:{'|'.join(_AGENCIES)})\s*\)?)\W*$", re.I)


def _boiler_line(text: str) -> bool:
    if _BOILER_LINE.match(text):
        return True
    # The characters that match a letter of the agencies under re.I casefold to it (with the dot of
    # "İ" dropped and "ı" mapped): a line without an agency in its folded text cannot match.
    folded = text.casefold().replace("\u0307", "").replace("ı", "i")
    return any(agency in folded for agency in _AGENCIES) and _CREDIT_LINE.match(text) is not None


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
    # Each verdict reads only the node's tag and role, and removal only unlinks, so the order of the
    # removals does not matter: the junk tags are picked from all elements by id ("*" and a test in
    # Python cost half of lexbor matching the 25 type selectors at every node), the roles apart.
    junk = _JUNK_IDS
    for node in [node for node in root.css("*") if node.tag_id in junk]:
        node.decompose(False)
    for node in root.css("[role]"):
        if node.tag_id not in _JUNK_IDS and node.tag not in _PROTECTED_TAGS \
                and (node.attributes.get("role") or "").lower() in _JUNK_ROLES:
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
    known = verdicts.get
    for node in root.css(_CLASSED_SEL):
        # the two lookups cost less than the dict of all attributes (data-*, style…) that node.attributes builds;
        # indexing spares the call of attrs.get (which indexes and catches the KeyError)
        try:
            value = node.attrs["class"]
        except KeyError:
            value = None
        kind = 0
        if value:
            kind = known(value)
            if kind is None:
                kind = verdicts[value] = _boiler_kind(value, tokens)
        value = node.id
        if value:
            verdict = known(value)
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
        # skip_empty: whitespace-only text nodes strip to nothing, and skipping them is cheaper
        size = len(node.text(deep=True, strip=True, skip_empty=True))
        if size < _SMALL_NODE:
            return False
        if self._total < 0:
            self._total = len(self._root.text(deep=True, strip=True, skip_empty=True))
        return size >= _WRAPPER_SHARE * self._total


_SMALL_NODE = 300
_WRAPPER_SHARE = 0.4


def extract_body(tree: LexborHTMLParser, *, title: str | None = None, body_selector: str | None = None,
                 mains: list[LexborNode] | None = None) -> Body:
    """Paragraphs of the article's main text (the tree is modified: junk is removed). ``mains``: what
    ``tree.body.css(MAIN_SEL)`` gives on the unmodified tree, if known (scan.scan_document)."""
    root = tree.body
    if root is None:
        return Body([])
    if body_selector:
        try:
            chosen = tree.css(body_selector)
        except Exception:  # noqa: BLE001 - an invalid selector from the config must not break extraction
            chosen = []
        if chosen:
            mains = None  # the tree changes below
            for node in chosen:
                for junk in node.css(_JUNK_SEL):
                    junk.decompose(False)
            paras = _serialise(chosen, title, strict=False)
            if paras:
                return Body(paras)
    # The page's one <main> (when it holds real text) is where the article is: scoring inside it is
    # cheaper and keeps site chrome out of the running.
    if mains is None:
        mains = root.css(MAIN_SEL)
    if len(mains) == 1 and _text_longer(mains[0], _MAIN_MIN_TEXT):
        root = mains[0]
    remove_junk(root)
    best, leaves = _best_container(root)
    if best is None:
        return Body(_serialise([root], title, strict=True))
    chosen = [leaf for leaf in leaves if best in leaf.chain]
    paragraphs = _blocks_to_paragraphs(_lede(leaves, chosen) + chosen, title, strict=True)
    return Body(paragraphs, listing=_is_listing(chosen))


def _text_longer(node: LexborNode, limit: int) -> bool:
    """``len(node.text(deep=True, strip=True)) > limit``, reading the text nodes in order only until that
    is decided (the whole text of a big container costs ~0.2 ms); past a few hundred nodes the walk in
    Python would cost more than lexbor's, so the rest is measured at once."""
    total = 0
    seen = 0
    for child in node.traverse(include_text=True, skip_empty=True):
        seen += 1
        if seen > _TEXT_WALK_MAX:
            return len(node.text(deep=True, strip=True, skip_empty=True)) > limit
        text = child.text_content
        if text is not None:
            total += len(text.strip())
            if total > limit:
                return True
    return False


_TEXT_WALK_MAX = 300


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

    __slots__ = ("node", "text", "length", "chain", "has_link", "_link_len", "has_br")

    def __init__(self, node: LexborNode, chain: list[int], marks: _Marks | None = None) -> None:
        self.node = node
        self.text = _norm(node.text(deep=True))
        self.length = len(self.text)
        self.chain = chain
        if marks is None:  # not known from _leaf_blocks: a selector call each (~2 us, the most of a leaf)
            has_link: bool = node.css_first("a") is not None
            self.has_br: bool | None = None
        else:
            nid = node.mem_id
            has_link = nid in marks.links
            self.has_br = nid in marks.breaks
        self.has_link = self.length > 0 and has_link
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
    marks = _Marks()
    # credited text per chain (sibling leaves share theirs), spread over the chain's nodes at the end
    credit: dict[int, list] = {}
    for node in _leaf_blocks(root, skip_linked=True, marks=marks):
        parent = node.parent
        if parent is None:
            continue
        pid = parent.mem_id
        chain = chains.get(pid)
        if chain is None:
            chain = _ancestor_chain(parent, chains, nodes)
        leaf = _Leaf(node, chain, marks)
        leaves.append(leaf)
        if leaf.length < _MIN_PROSE or node.tag_id in _HEADING_IDS:
            continue
        if leaf.has_link and leaf.link_len > 0.5 * leaf.length:
            continue
        if chain:
            entry = credit.get(pid)
            if entry is None:
                credit[pid] = [chain, leaf.length]
            else:
                entry[1] += leaf.length
    for chain, length in credit.values():
        for nid in chain:
            good[nid] = good.get(nid, 0) + length
    if not good:
        return None, leaves
    best_good = max(good.values())
    # ties are broken by document order (the order nodes were first met), never by memory address, so
    # that the same page always gives the same text
    order = {nid: i for i, nid in enumerate(nodes)}
    wanted = [nid for nid, g in good.items() if g >= _CANDIDATE_SHARE * best_good]
    totals = _candidate_totals(wanted, good, nodes, chains)
    ranked: list[tuple[float, int, int]] = []
    for nid, total in totals.items():
        g = good[nid]
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


def _candidate_totals(wanted: list[int], good: dict[int, int], nodes: dict[int, LexborNode],
                      chains: dict[int, list[int]]) -> dict[int, int]:
    """``len(node.text(deep=True, strip=True))`` of the wanted nodes that can rank among the best
    ``_LINK_CHECKS`` (the others are left out: only those are looked at).

    The candidates nest (a container and its wrappers up to the body), and measuring each one's whole
    text walked the page's text several times: a node that holds candidates adds up its children here,
    reusing the lengths of the candidates, deepest first. While a wrapper's sum grows, its value
    (credited text minus the rest) can only fall: once it is below the third best value known, the
    wrapper cannot rank and the rest of its text (a footer, the scripts of a whole page) is not read.
    """
    want = set(wanted)
    holds: set[int] = set()  # ancestors of candidates (as far as the chains tell): summed child by child
    for nid in wanted:
        holds.update(chains[nid][1:])
    done: dict[int, int] = {}
    given_up: dict[int, int] = {}  # candidate -> a lower bound of its length (where its sum stopped)
    best: list[float] = []  # the best _LINK_CHECKS values known, in decreasing order

    def settle(cid: int, total: int) -> None:
        done[cid] = total
        g = good[cid]
        best.append(g - _OTHER_WEIGHT * max(total - g, 0))
        best.sort(reverse=True)
        del best[_LINK_CHECKS:]

    def hopeless(cid: int, at_least: int) -> bool:
        g = good[cid]
        return len(best) == _LINK_CHECKS and g - _OTHER_WEIGHT * max(at_least - g, 0) < best[-1]

    for nid in sorted(wanted, key=lambda n: -len(chains[n])):  # deepest first, roughly
        if nid in done or nid in given_up:
            continue
        if nid not in holds:
            settle(nid, len(nodes[nid].text(deep=True, strip=True, skip_empty=True)))
            continue
        frames: list[list] = [[nid, 0, nodes[nid].first_child, nodes[nid], 0]]
        while frames:
            frame = frames[-1]
            child = frame[2]
            frame[4] += 1
            if frame[4] > _CHILD_WALK_MAX:  # thousands of children: lexbor measures the rest faster
                frame[1], child = len(frame[3].text(deep=True, strip=True, skip_empty=True)), None
            if child is None:
                frames.pop()
                if frame[0] in want and frame[0] not in given_up:
                    settle(frame[0], frame[1])
                if frames:
                    frames[-1][1] += frame[1]
                    if len(frames) == 1 and hopeless(nid, frames[0][1]):
                        given_up[nid] = frames[0][1]
                        break
                continue
            frame[2] = child.next
            cid = child.mem_id
            known = done.get(cid)
            if known is None:
                bound = given_up.get(cid)
                if bound is not None and hopeless(nid, sum(f[1] for f in frames) + bound):
                    given_up[nid] = sum(f[1] for f in frames) + bound
                    break
                if cid in holds or bound is not None:
                    frames.append([cid, 0, child.first_child, child, 0])
                    continue
                known = len(child.text(deep=True, strip=True, skip_empty=True))
                if cid in want:
                    settle(cid, known)
            frame[1] += known
            if len(frames) == 1 and hopeless(nid, frame[1]):
                given_up[nid] = frame[1]
                break
    return done


_CHILD_WALK_MAX = 2_000


class _Marks:
    """Ids of the blocks that hold a link, and a <br> (as their nearest block ancestor)."""

    __slots__ = ("links", "breaks")

    def __init__(self) -> None:
        self.links: set[int] = set()
        self.breaks: set[int] = set()


def _leaf_blocks(root: LexborNode, *, skip_linked: bool, marks: _Marks | None = None) -> list[LexborNode]:
    """The leaf text blocks under ``root`` (blocks without block descendants) in document order; with
    ``skip_linked``, without the blocks inside a link (cards whose whole text is a link). ``marks``
    receives the blocks that hold links and line breaks.

    One pass over the blocks: each marks its nearest block ancestor as no leaf, and learns from it
    whether it sits in a link, so the cost is linear in the size of the tree. (The selectors
    ``:not(:has(…))`` and ``a p`` did this in lexbor, but walk every block's subtree and ancestors:
    quadratic on a page of thousands of nested elements.) The links and <br>s are found in the same walk
    and climb to their nearest block the same way: cheaper than asking every leaf for them.
    """
    # all elements, the blocks, links and <br>s picked by tag id: cheaper than lexbor matching the 22
    # type selectors of _BLOCKS_LINKS_BREAKS at every node, which finds the same nodes in the same order
    wanted = _BLOCKS_LINKS_BREAKS_IDS
    found = [(node, tag_id) for node in root.css("*") if (tag_id := node.tag_id) in wanted]
    if not found:
        return []
    root_id = root.mem_id
    root_linked = False
    node: LexborNode | None = root
    while node is not None:  # a link around the container itself
        if node.tag_id == _LINK_TAG_ID:
            root_linked = True
            break
        node = node.parent
    linked: dict[int, bool] = {}  # block id -> inside a link
    # non-block node id -> (its nearest block ancestor, 0 for none; a link between the two)
    hops: dict[int, tuple[int, bool]] = {}
    not_leaf: set[int] = set()
    blocks: list[tuple[LexborNode, int, int]] = []
    for block, tag_id in found:
        path: list[tuple[int, bool]] | None = None
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
            if path is None:
                path = []
            path.append((nid, node.tag_id == _LINK_TAG_ID))
            node = node.parent
        through = tail
        if path is not None:
            for nid, is_link in reversed(path):  # the nodes walked through learn the same answer
                through = through or is_link
                hops[nid] = (anchor, through)
        if tag_id == _LINK_TAG_ID or tag_id == _BR_TAG_ID:
            if anchor and marks is not None:
                (marks.links if tag_id == _LINK_TAG_ID else marks.breaks).add(anchor)
            continue
        if anchor:
            not_leaf.add(anchor)
        bid = block.mem_id
        linked[bid] = through or (linked[anchor] if anchor else root_linked)
        blocks.append((block, bid, tag_id))
    out = []
    for block, bid, tag_id in blocks:
        if bid in not_leaf or tag_id in _NEVER_LEAF_IDS:
            continue
        if skip_linked and linked[bid] and tag_id in _LINKED_SKIP_IDS:
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
        if node.tag_id == _BODY_TAG_ID:
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
        marks = _Marks()
        found = _leaf_blocks(container, skip_linked=strict, marks=marks)
        if found:
            leaves.extend(_Leaf(node, [], marks) for node in found)
        else:
            leaves.append(_Leaf(container, []))
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
                if len(text) < 160 and _boiler_line(text):
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
    if leaf.length > _BR_MIN and (leaf.has_br if leaf.has_br is not None else leaf.node.css_first("br") is not None):
        html = leaf.node.html or ""
        if _BR_RE.search(html):
            parts = _BR_RE.split(leaf.node.inner_html or "")
            texts = [_norm(LexborHTMLParser(p).text(deep=True)) for p in parts if p.strip()]
            return [t for t in texts if t]
    return [leaf.text]


_BR_MIN = 120
