"""One walk of the parsed page for the elements both metadata and main-text extraction look for: the
JSON-LD scripts, the first <h1>, the author elements and the <main> candidates. Each was a query of its
own, and every query walks the whole tree (~0.1 ms on a 300 KB page) whatever it finds.

lexbor lists a node once per selector of the list that it matches, so how often a node occurs tells
how many of the selectors it matched. A node's tag and whether it carries rel, itemprop or role
attributes say which selectors those can be. Where that leaves a doubt (a script that could be an author,
a node that could be an author or a main…), authors and mains are None, for the callers to query, and
the scripts and the h1 are queried on their own: the answers are always those of the separate queries.
"""

from __future__ import annotations

from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser, LexborNode

LD_SEL = 'script[type*="ld+json" i]'
AUTHOR_SEL = '[itemprop="author"] [itemprop="name"], [rel="author"]'
MAIN_SEL = "main, [role=main]"
_SCAN_SEL = f"{LD_SEL}, h1, {AUTHOR_SEL}, {MAIN_SEL}"
_AUTHOR_ATTRS = frozenset({"rel", "itemprop"})


@dataclass
class Scan:
    ld: list[LexborNode]  # the JSON-LD scripts
    h1: LexborNode | None  # the first <h1>
    authors: list[LexborNode] | None  # as tree.css(AUTHOR_SEL) lists them; None: not known
    mains: list[LexborNode] | None  # as tree.body.css(MAIN_SEL) lists them; None: not known


def scan_document(tree: LexborHTMLParser) -> Scan:
    """What the separate queries would find on ``tree`` (unmodified), from one walk of it."""
    counts: dict[int, list] = {}
    for node in tree.css(_SCAN_SEL):
        seen = counts.get(node.mem_id)
        if seen is None:
            counts[node.mem_id] = [node, 1]
        else:
            seen[1] += 1
    ld: list[LexborNode] = []
    h1: LexborNode | None = None
    authors: list[LexborNode] | None = []
    mains: list[LexborNode] | None = []
    for node, n in counts.values():
        tag = node.tag
        names = {key.rpartition(":")[2].lower() for key in node.attributes}
        by_author = not _AUTHOR_ATTRS.isdisjoint(names)
        by_role = "role" in names
        if tag == "script" or tag == "h1":
            # an ld script or h1 that could also be an author or a main: ask each query on its own
            if by_author or (tag == "script" and by_role):
                ld, h1 = tree.css(LD_SEL), tree.css_first("h1")
                return Scan(ld, h1, None, None)
            if tag == "script":
                if n != 1:
                    return Scan(tree.css(LD_SEL), tree.css_first("h1"), None, None)
                ld.append(node)
            else:
                if h1 is None:
                    h1 = node
                if n > 1 and mains is not None:  # the rest are [role=main]
                    mains.extend([node] * (n - 1))
            continue
        is_main = tag == "main"
        if by_author and by_role:
            authors = mains = None
        elif by_author:  # author matches and maybe <main>
            if authors is not None:
                authors.extend([node] * (n - is_main))
            if is_main and mains is not None:
                mains.append(node)
        elif not (is_main or by_role):  # matched none of the selectors it can: do not guess
            return Scan(tree.css(LD_SEL), tree.css_first("h1"), None, None)
        elif mains is not None:  # <main> and/or [role=main]
            mains.extend([node] * n)
    if mains:
        mains = _in_body(tree, mains)
    return Scan(ld, h1, authors, mains)


def _in_body(tree: LexborHTMLParser, nodes: list[LexborNode]) -> list[LexborNode] | None:
    """The nodes that are the body or inside it (the body's own query would find only those)."""
    body = tree.body
    if body is None:
        return None
    body_id = body.mem_id
    inside: list[LexborNode] = []
    for node in nodes:
        up: LexborNode | None = node
        while up is not None:
            if up.mem_id == body_id:
                inside.append(node)
                break
            up = up.parent
    return inside
