"""Entity linking: gazetteer names -> trie patterns, and trie matches -> EntityHits.

Context rules (from the gazetteer's notes): an ``ambiguous`` name ("Commerce", "the Commission")
counts only when its entity, a relative (parent/child) or one of its ``context`` entities is named
outright; a ``weak`` name ("Beijing", "Chinese") only adds mentions to an entity named outright;
``veto`` phrases ("Bank for International Settlements") switch off an entity's acronyms.
"""

from __future__ import annotations

import re
from collections import Counter

from pipeline.enrich.gazetteer import Gazetteer
from pipeline.enrich.matcher import EXACT, Match, Pattern, make_pattern
from pipeline.enrich.model import EntityHit

_ACRONYM = re.compile(r"^[A-Z0-9.&]{2,6}$")


def _is_short_acronym(alias: str) -> bool:
    return bool(_ACRONYM.match(alias.replace(" ", "")))


def entity_patterns(gaz: Gazetteer) -> list[Pattern]:
    """Trie patterns for every name; a name shared by several entities goes to the most specific one."""
    owners: dict[tuple[str, ...], list[tuple[str, str, str]]] = {}
    for e in gaz.entities.values():
        named = [(a, "strong") for a in e.aliases]
        named += [(a, "ambiguous") for a in e.ambiguous]
        named += [(a, "weak") for a in e.weak]
        named += [(a, "ambiguous" if _is_short_acronym(a) else "strong") for a in e.unverified]
        named += [(a, "veto") for a in e.veto]
        if e.name not in e.aliases and e.name not in e.ambiguous:
            named.append((e.name, "strong"))
        for alias, kind in named:
            p = make_pattern(alias, kind, e.key)
            if p is None:
                continue
            sig = tuple(t.lower() for t in p.tokens) + (kind,)
            owners.setdefault(sig, []).append((e.key, alias, kind))
    patterns: list[Pattern] = []
    for claims in owners.values():
        kind = claims[0][2]
        keys = [k for k, _, _ in claims]
        if kind == "strong" and len(keys) > 1:
            keys = [_most_specific(gaz, keys, claims[0][1])]
        for key in dict.fromkeys(keys):
            alias = next(a for k, a, _ in claims if k == key)
            p = make_pattern(alias, kind, key)
            if p is not None:
                patterns.append(p)
    return patterns


def _most_specific(gaz: Gazetteer, keys: list[str], alias: str) -> str:
    """'AO Kaspersky Lab' is both an alias of Kaspersky and the name of its subsidiary: pick the subsidiary."""
    for k in keys:
        if gaz.entities[k].name.lower() == alias.lower():
            return k
    for k in keys:
        parent = gaz.entities[k].parent
        if parent in keys:
            return k
    return keys[0]


class Linker:
    def __init__(self, gaz: Gazetteer) -> None:
        self.gaz = gaz
        self._relatives: dict[str, frozenset[str]] = {}
        for e in gaz.entities.values():
            rel = set(e.context) | set(gaz.children.get(e.key, ()))
            if e.parent:
                rel.add(e.parent)
            self._relatives[e.key] = frozenset(rel)

    def _nested_counts(self, m: Match, outer: dict[int, list[Match]], reach: int) -> bool:
        """A government body named inside another name counts ("FCC" in "FCC Covered List"), a relative does not.

        ``outer`` holds the strong matches by start and ``reach`` their longest length: only those starting
        within ``reach`` tokens before ``m`` can hold it (comparing with every match was quadratic, minutes
        on a text repeating "FCC Covered List")."""
        inner = self.gaz.entities[m.pattern.target]
        if inner.type != "government_body":
            return False
        for start in range(m.start - reach + 1, m.start + 1):
            for o in outer.get(start, ()):
                if m.end <= o.end:
                    key = o.pattern.target
                    if key == inner.key or key in self._family(inner.key):
                        return False
        return True

    @staticmethod
    def _outer(matches: list[Match]) -> tuple[dict[int, list[Match]], int]:
        """The strong, not nested matches by start, and their longest length."""
        outer: dict[int, list[Match]] = {}
        reach = 1
        for o in matches:
            if not o.nested and o.pattern.kind == "strong":
                outer.setdefault(o.start, []).append(o)
                reach = max(reach, o.end - o.start)
        return outer, reach

    def _family(self, key: str) -> set[str]:
        e = self.gaz.entities[key]
        fam = set(self.gaz.children.get(key, ()))
        if e.parent:
            fam.add(e.parent)
            fam.update(self.gaz.children.get(e.parent, ()))
        return fam

    def resolve(self, matches: list[Match]) -> list[EntityHit]:
        strong: Counter[str] = Counter()
        vetoed: set[str] = set()
        pending: list[Match] = []
        outer: tuple[dict[int, list[Match]], int] | None = None
        for m in matches:
            kind = m.pattern.kind
            if m.nested:
                if outer is None:
                    outer = self._outer(matches)
                if not self._nested_counts(m, *outer):
                    continue
                strong[m.pattern.target] += 1
                continue
            if kind == "strong":
                strong[m.pattern.target] += 1
            elif kind == "veto":
                vetoed.add(m.pattern.target)
            else:
                pending.append(m)
        if vetoed:
            for m in matches:
                p = m.pattern
                if p.kind == "strong" and p.target in vetoed and p.length == 1 and p.checks and p.checks[0][1] == EXACT:
                    strong[p.target] -= 1
            strong = +strong
        counts = Counter(strong)
        # ambiguous names first (they may support each other only through strong names), then weak ones
        by_pos: dict[int, list[Pattern]] = {}
        for m in pending:
            by_pos.setdefault(m.start, []).append(m.pattern)
        for pats in by_pos.values():
            amb = [p for p in pats if p.kind == "ambiguous" and p.target not in vetoed]
            if amb:
                supported = [p for p in amb if p.target in strong or self._relatives[p.target] & strong.keys()]
                if supported:
                    best = max(supported, key=lambda p: (p.target in strong, len(self._relatives[p.target] & strong.keys())))
                    counts[best.target] += 1
                continue
            for p in pats:
                if p.kind == "weak" and p.target in strong:
                    counts[p.target] += 1
                    break
        hits = []
        for key, n in counts.items():
            e = self.gaz.entities[key]
            hits.append(EntityHit(key=key, name=e.name, type=e.type, country=e.country, origin="gazetteer",
                                  mentions=n, parent_key=e.parent))
        hits.sort(key=lambda h: (-h.mentions, h.key))
        return hits
