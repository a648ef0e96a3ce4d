"""Single-pass multi-pattern matcher over tokens (a token trie walked from each token).

Entity names and topic terms share one trie, so one pass over an article finds both. Each
pattern carries the case checks it needs: acronyms and CamelCase words must match exactly
("BIS" is not "bis"), capitalised words need a capital ("Champagne" is not "champagne").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from pipeline.enrich.text import alias_tokens

_END = ""  # trie key holding the patterns that end at a node (no token is empty)

# case check modes for one token
EXACT, CAP, ANY = 0, 1, 2


@dataclass(frozen=True)
class Pattern:
    kind: str  # strong | ambiguous | weak | veto | term
    target: str  # entity key, or the term's group for topic terms
    tokens: tuple[str, ...]
    checks: tuple[tuple[int, int], ...]  # (token index, mode) for tokens that need a case check
    length: int

    def accepts(self, toks: list[str], start: int) -> bool:
        for idx, mode in self.checks:
            surface = toks[start + idx]
            want = self.tokens[idx]
            if mode == EXACT:
                if surface != want and not (len(want) >= 5 and surface == want.upper()):
                    return False
            elif mode == CAP and not surface[:1].isupper():
                return False
        return True


def _token_mode(tok: str, strict_caps: bool) -> int:
    letters = [c for c in tok if c.isalpha()]
    if not letters:
        return ANY
    if any(c.isupper() for c in letters[1:]):
        return EXACT  # BIS, DoD, TikTok, U.S.
    if letters[0].isupper() and strict_caps:
        return CAP
    return ANY


def make_pattern(text: str, kind: str, target: str) -> Pattern | None:
    toks = alias_tokens(text)
    if not toks:
        return None
    single = len(toks) == 1
    checks = []
    for i, tok in enumerate(toks):
        # single words and context-dependent names keep their capitals; long names match any case
        mode = _token_mode(tok, strict_caps=single or kind in ("ambiguous", "weak"))
        if mode != ANY:
            checks.append((i, mode))
    return Pattern(kind, target, tuple(toks), tuple(checks), len(toks))


class Match(NamedTuple):
    """One occurrence (a tuple: an article can hold hundreds of thousands, and a frozen dataclass costs
    three times as much to build)."""

    pattern: Pattern
    start: int  # token index
    end: int  # token index (exclusive)
    nested: bool = False  # found inside a longer strong match ("FCC" in "FCC Covered List")


class TokenTrie:
    """Patterns keyed by lower-cased tokens; ``scan`` walks it once per token position."""

    def __init__(self, patterns: Iterable[Pattern]) -> None:
        self.root: dict = {}
        patterns = list(patterns)
        for p in patterns:
            node = self.root
            for tok in p.tokens:
                node = node.setdefault(tok.lower(), {})
            node.setdefault(_END, []).append(p)
        # long names that contain another strong name ("FCC Covered List"): only these need a nested scan
        self._has_nested: set[int] = set()
        for p in patterns:
            if p.kind == "strong" and p.length > 1:
                low = [t.lower() for t in p.tokens]
                if self._nested(list(p.tokens), low, 0, p.length):
                    self._has_nested.add(id(p))

    def scan(self, toks: list[str], low: list[str]) -> tuple[list[Match], list[Match]]:
        """Entity matches (longest at each position; a strong match consumes its tokens) and term matches.

        What a token matches on its own depends only on its surface form, so it is worked out once per
        distinct form: a text repeating a name 300,000 times costs a dictionary look-up per mention."""
        root = self.root
        entity_matches: list[Match] = []
        term_matches: list[Match] = []
        n = len(toks)
        skip_to = 0
        single: dict[str, tuple[list[Pattern], Pattern | None, dict | None]] = {}
        for i in [k for k, t in enumerate(low) if t in root]:
            if i < skip_to:
                continue
            one = single.get(toks[i])
            if one is None:
                one = single[toks[i]] = self._single(toks, i, root[low[i]])
            best_ent, best_term, node = one
            best_len = 1 if best_ent else 0
            j = i + 1
            if node is not None and j < n and (node := node.get(low[j])) is not None:
                best_ent = list(best_ent)
                while True:  # longer names: their case checks look at several tokens
                    ends = node.get(_END)
                    if ends:
                        length = j - i + 1
                        for p in ends:
                            if not p.accepts(toks, i):
                                continue
                            if p.kind == "term":
                                best_term = p
                            elif length > best_len:
                                best_ent, best_len = [p], length
                            elif length == best_len:
                                best_ent.append(p)
                    j += 1
                    if j >= n:
                        break
                    node = node.get(low[j])
                    if node is None:
                        break
            if best_term is not None:
                term_matches.append(Match(best_term, i, i + best_term.length))
            if best_ent:
                strong = False
                for p in best_ent:
                    entity_matches.append(Match(p, i, i + best_len))
                    strong = strong or p.kind == "strong"
                if strong:
                    if best_len > 1 and any(id(p) in self._has_nested for p in best_ent):
                        entity_matches.extend(self._nested(toks, low, i, i + best_len))
                    skip_to = i + best_len
        return entity_matches, term_matches

    @staticmethod
    def _single(toks: list[str], i: int, node: dict) -> tuple[list[Pattern], Pattern | None, dict | None]:
        """The one-token names and term that ``toks[i]`` matches, and its trie node when longer names
        continue from it (None otherwise)."""
        ents: list[Pattern] = []
        term: Pattern | None = None
        for p in node.get(_END, ()):
            if p.accepts(toks, i):
                if p.kind == "term":
                    term = p
                else:
                    ents.append(p)
        return ents, term, node if len(node) > (_END in node) else None

    def _nested(self, toks: list[str], low: list[str], start: int, end: int) -> list[Match]:
        """Strong names lying wholly inside a longer strong match; the linker decides whether they count."""
        out: list[Match] = []
        for i in range(start, end):
            node = self.root.get(low[i])
            j = i
            while node is not None and j < end:
                for p in node.get(_END, ()):
                    if p.kind == "strong" and (j + 1 - i) < (end - start) and p.accepts(toks, i):
                        out.append(Match(p, i, j + 1, nested=True))
                j += 1
                if j >= end:
                    break
                node = node.get(low[j])
        return out
