"""Typed dates: find the dates a text states, normalise them, and give each a role.

Absolute dates ("Sept. 29, 2024", "29 September", "March 2025", "in 2027", "mid-2026"), weekdays
("said Tuesday"), relative periods ("last month") and offsets ("within 90 days") are resolved
against the publication date; tense decides the direction ("took effect on Friday" looks back,
"takes effect on Friday" and "is scheduled for Monday" look forward, "was signed on April 24" is
in the past). A date's role comes from the cue closest to it in its sentence: an immediate cue
("effective", "by", "until", "no later than", "starting", "extended ... to") decides; otherwise the
nearest verb cue (ruled, filed, extended, announced...) to the left, then to the right. Events
cannot lie after publication or behind a modal ("said it would ... next month"): those are "other",
as are periods ("since 2021"), availability ("on sale from today") and market moves. "With
immediate effect" makes the day of an announcement in the same sentence its effective date too.
Without any cue, a past-tense verb with an official actor in its clause ("the framework was agreed in
March 2021") reports an action on that day; datelines ("OSLO, June 11 (Reuters) -"), dated records
("a memo dated May 2") and the ends of ranges stay "other". Modals ("could", "might") make a plan,
days in a list share the year stated at its end, and an extension's new date leans forward. A date no
cue reaches takes its role from the verb governing its own clause ("added both companies to the Entity
List in 2019"; not across "which"/"that"/"since" clauses), from an action noun with an official actor
("a decision by the regulator in late 2025") or from a "when" clause after it; "in January this year" and
"in May of that year" are one month; closing attributions (", officials said.") date nothing.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re

try:  # private modules of the re package (3.11+): used only to index the cues by first letters
    import re._constants as _sc
    import re._parser as _sp
except ImportError:  # pragma: no cover - another Python: the cue scan tries every cue at every word
    _sc = _sp = None  # type: ignore[assignment]
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pipeline.enrich.model import TypedDate

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10,
    "nov": 11, "dec": 12,
}
_MONTH = r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_NUMBERS = {"thirty": 30, "sixty": 60, "ninety": 90, "forty-five": 45, "forty five": 45, "seventy-five": 75,
            "fifteen": 15, "ten": 10, "seven": 7, "fourteen": 14, "twenty": 20, "180": 180}

# one scanner for every kind of date; alternatives are tried left to right at each position
_DATE_RE = re.compile(
    rf"""
    (?P<mdy>\b(?P<m1>{_MONTH})\.?\s+(?P<d1>[0-3]?\d)(?:st|nd|rd|th)?\b(?!\s*(?:%|percent|million|billion|,\d))
        (?:(?:,\s*|\s+)(?P<y1>(?:19|20)\d\d)\b)?)
  | (?P<dmy>\b(?P<d2>[0-3]?\d)(?:st|nd|rd|th)?\s+(?P<m2>{_MONTH})\.?(?:,?\s+(?P<y2>(?:19|20)\d\d))?\b)
  | (?P<iso>\b(?P<y3>(?:19|20)\d\d)-(?P<m3>[01]\d)-(?P<d3>[0-3]\d)\b)
  | (?P<my>\b(?P<m4>{_MONTH})\.?,?\s+(?:of\s+)?(?P<y4>(?:19|20)\d\d)\b)
  | (?P<mon>\b(?P<pm>(?i:in|by|until|since|from|through|before|after|early|late|mid-|mid|end\s+of|last|next|this|since\s+early|in\s+early|in\s+late|to\s+mid-|to|as\s+(?:early|soon|late)\s+as))(?:\s+|(?<=-))(?P<m5>January|February|March|April|May|June|July|August|September|October|November|December)\b(?!\s+[A-Z0-9]))
  | (?P<yr>\b(?P<py>[Ii]n|[Ss]ince|[Bb]y|[Uu]ntil|[Tt]hrough|[Ff]rom|[Bb]efore|[Ee]arly|[Ll]ate|[Mm]id-?|end\s+of|model\s+year|[Bb]eginning\s+in|[Ss]tarting\s+in)(?:\s+|(?<=-))(?P<y5>(?:19|20)\d\d)\b(?![-/]\d|\s*(?:%|percent)))
  | (?P<wd>(?<!\b[Aa]\s)(?<![Ee]very\s)(?<![Ee]ach\s)\b(?P<wpre>(?i:on|last|next|this|until|by|from|since)\s+)?(?P<w>Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b(?!,?\s+(?:{_MONTH}|[0-3]?\d\b)))
  | (?P<rel>\b(?P<rp>(?i:last|this|next|earlier\s+this|later\s+this|the\s+previous|the\s+following|(?:the\s+)?(?:end|start|beginning|middle|close|rest)\s+of\s+(?:the|this)))\s+(?P<ru>month|year)\b)
  | (?P<dayref>\b(?P<dr>[Yy]esterday|today)\b(?!'s))
  | (?P<off>\b(?P<op>within|in|gives?\s+\w+(?:\s+\w+)?|given|has|have|had)\s+(?P<on>\d{{1,3}}|thirty|sixty|ninety|forty[- ]five|seventy-five|fifteen|ten|seven|fourteen|twenty)\s+(?:calendar\s+)?days\b(?!\s+(?:of|after|following|from)\b(?!\s+(?:today|now)\b)))
    """,
    re.VERBOSE,
)

# the words a date expression may start with before its anchor ("in", "end of", "gives them 30 days")
_PREFIX_WORDS = frozenset(
    "in by until till since from through before after early late mid mid- end of last next this on within gives give "
    "gave given has have had model year beginning starting earlier later the previous following to start close "
    "middle rest as".split()
)
# cheap anchors: every date expression contains one; the full scanner only runs around them. Matched on
# " " + text, each match is the character before an anchor (its end is the anchor's start in the text): a
# pattern that starts with a character class lets the engine skip to the next candidate in C, where a
# leading lookbehind was tried at every character (20% faster).
_ANCHOR = re.compile(
    # the lookahead lists the first characters of every anchor, so most words are skipped at once
    r"[^A-Za-z0-9](?=[JFMASONDTWYtymd12])(?=(?:January|February|March|April|May|June|July|August|September|October|November|December"
    r"|(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\b|(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day"
    r"|[Yy]esterday|[Tt]oday|19\d\d|20\d\d|month|year|days)\b)"
)
# the anchors that start with a capital or a digit, grouped by that character: a pattern that starts with a
# set of literals lets the engine skip in C to the few capitals and digits, where _ANCHOR stopped at every
# space and punctuation mark; the lookbehind after the first character is _ANCHOR's character before
_ANCHOR_UPPER = re.compile(
    r"(?:J(?=anuary|une|uly|(?:an|un|ul)\b)|F(?=ebruary|eb\b|riday)|M(?=arch|ay|ar\b|onday)"
    r"|A(?=pril|ugust|(?:pr|ug)\b)|S(?=eptember|ept?\b|aturday|unday)|O(?=ctober|ct\b)|N(?=ovember|ov\b)"
    r"|D(?=ecember|ec\b)|T(?=uesday|hursday|oday)|W(?=ednesday)|Y(?=esterday)|1(?=9\d\d)|2(?=0\d\d))"
    r"(?<![A-Za-z0-9].)"
)
# the lower-case anchors, found with str.find (each match then checked with _ANCHOR)
_ANCHOR_LOWER = ("yesterday", "today", "month", "year", "days")


def _prefixes(items: list, k: int = 3) -> set[tuple[str, bool]]:
    """The lower-case starts (up to ``k`` characters) every match of a parsed pattern begins with.

    Each item is (start, open): ``open`` means anything may follow. Over-approximates (lookarounds and
    wide classes are treated as "anything"), so the set is a safe filter of where a match can begin.
    """
    state = {("", False)}
    for op, av in items:
        if all(o or len(x) >= k for x, o in state):
            break
        if op is _sc.LITERAL:
            alts = {(chr(av).lower(), False)}
        elif op is _sc.IN:
            chars: set[str] = set()
            for o, a in av:
                if o is _sc.LITERAL:
                    chars.add(chr(a).lower())
                elif o is _sc.RANGE and a[1] - a[0] < 30:
                    chars.update(chr(c).lower() for c in range(a[0], a[1] + 1))
                else:
                    chars = set()
                    break
            alts = {(c, False) for c in chars} or {("", True)}
        elif op in (_sc.AT, _sc.ASSERT, _sc.ASSERT_NOT):
            alts = {("", False)}  # zero width
        elif op is _sc.SUBPATTERN:
            alts = _prefixes(av[3], k)
        elif op is _sc.ATOMIC_GROUP:
            alts = _prefixes(av, k)
        elif op is _sc.BRANCH:
            alts = set().union(*(_prefixes(b, k) for b in av[1]))
        elif op in (_sc.MAX_REPEAT, _sc.MIN_REPEAT, _sc.POSSESSIVE_REPEAT):
            alts = {(x, o or av[1] > 1) for x, o in _prefixes(av[2], k)}
            if av[0] == 0:
                alts.add(("", False))
        else:
            alts = {("", True)}
        state = {(x, o) if o or len(x) >= k else ((x + y)[:k], yo) for x, o in state for y, yo in alts}
    return state


def _alternatives(rx: str) -> list[str]:
    """The top-level alternatives of a pattern's source."""
    out, cur, depth, in_class, escaped = [], [], 0, False, False
    for ch in rx:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch in "()":
            depth += 1 if ch == "(" else -1
        elif ch == "|" and depth == 0:
            out.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    out.append("".join(cur))
    return out


def _start_sets(alt: str, flags: int) -> list[frozenset[str]] | None:
    """The 1-, 2- and 3-letter starts of a cue alternative, or None (try it at every word) when the
    pattern's start cannot be worked out (an unlisted construct, or re internals that changed)."""
    try:
        starts = {x for x, _ in _prefixes(list(_sp.parse(alt, flags)))}
    except Exception:  # noqa: BLE001 - a private API: fall back to the plain scan, never fail the import
        return None
    if "" in starts:
        return None
    return [frozenset(x for x in starts if len(x) == n) for n in (1, 2, 3)]


CUE_STARTS_MAX = 50_000  # word starts whose cue pattern is kept compiled (a few MB when full)


class _CueScan:
    """The role cues as one alternation of named groups, matched only at the start of a word and, there,
    only with the alternatives that can begin with the word's first three letters (a pattern per start,
    compiled once). Same matches as the whole alternation; the cues are some 150 alternatives, so trying
    them all at every word was most of the date finder's time."""

    def __init__(self, roles: list[tuple[str, str]], flags: int) -> None:
        self.flags = flags
        self.alts = []
        for role, rx in roles:
            for alt in _alternatives(rx):
                self.alts.append((role, alt, _start_sets(alt, flags)))
        self.by_start: dict[str, re.Pattern[str] | None] = {}

    def _pattern(self, seg: str) -> re.Pattern[str] | None:
        rx = self.by_start.get(seg, False)
        if rx is False:
            groups: list[tuple[str, list[str]]] = []
            for role, alt, starts in self.alts:
                if starts is None or seg in starts[2] or seg[:2] in starts[1] or seg[:1] in starts[0]:
                    if not groups or groups[-1][0] != role:
                        groups.append((role, []))
                    groups[-1][1].append(alt)
            rx = re.compile(_WS + "(?:" + "|".join(f"(?P<{r}>{'|'.join(a)})" for r, a in groups) + r")\b",
                            self.flags) if groups else None
            if len(self.by_start) < CUE_STARTS_MAX:
                self.by_start[seg] = rx
        return rx

    def match(self, text: str, pos: int = 0, endpos: int | None = None) -> re.Match[str] | None:
        rx = self._pattern(text[pos:pos + 3].lower())
        return rx.match(text, pos, len(text) if endpos is None else endpos) if rx is not None else None

    def finditer(self, text: str, pos: int = 0, endpos: int | None = None):
        end = len(text) if endpos is None else endpos
        last = pos
        by_start = self.by_start
        for w in _WORD_START.finditer(text, pos, end):
            p = w.start()
            if p < last:
                continue
            seg = text[p:p + 3].lower()
            rx = by_start.get(seg, False)  # (the look-up of _pattern, without a call per word)
            if rx is False:
                rx = self._pattern(seg)
            if rx is not None and (m := rx.match(text, p, end)) is not None:
                last = m.end()
                yield m

    def search(self, text: str, pos: int = 0, endpos: int | None = None) -> re.Match[str] | None:
        return next(self.finditer(text, pos, endpos), None)


_WORD_START = re.compile(r"(?<![A-Za-z])[A-Za-z]")

# word cues for each role; the cue nearest the date (left side preferred) decides
_ROLE_CUES: list[tuple[str, str]] = [
    ("other", r"Federal\s+Register|publication|shares|stock\s+(?:fell|rose|closed)|fell|rose|jumped|slumped|tumbled|"
              r"surged|soared|plunged|on\s+sale|available|pre-?orders?|ships|shipping|"
              r"(?:months|weeks|quarter|half|year|period)\s+(?:to|ended|ending|through)"),
    ("court_ruling",
     r"rul(?:ed|ing|es)|upheld|uphold(?:s|ing)?|struck\s+down|strikes\s+down|overturn(?:ed|s)?|dismiss(?:ed|es)|"
     r"enjoin(?:ed|s)|injunction|verdict|judgment|sided\s+with|"
     r"rejected\s+(?:the|its|a)\s+(?:challenge|appeal|bid|request|lawsuit|petition|argument)|denied\s+(?:the|its|a)\s+"
     r"(?:challenge|appeal|request|motion|petition)"),
    ("filing",
     r"fil(?:ed|es|ing)|sued|sues|lawsuit|complaint|petition(?:ed)?|appealed|lodg(?:ed|es|ing)|brought\s+(?:a\s+)?suit|"
     r"brought\s+(?:the|a|its|their)\s+(?:case|challenge|action|claim)|"
     r"took\s+(?:the\s+)?\w+\s+to\s+court|asked\s+(?:the\s+|a\s+)?(?:[\w.]+\s+){0,3}?court"),
    ("extension",
     r"extend\w*\s+(?:\w+\s+){0,3}?(?:deadline|enforcement|ban|licen[cs]e|period|date|suspension|reprieve|pause|"
     r"exemption|waiver)|extension|postpon(?:e|ed|es|ing)|push(?:ed|es|ing)?\s+(?:[\w-]+\s+){0,3}?back|"
     r"delay(?:ed|s|ing)?\s+(?:the\s+)?(?:enforcement|deadline|ban|implementation)|reprieve|grace\s+period|"
     r"not\s+to\s+enforce|non-?enforcement|(?:enforcement\s+)?discretion|suspend(?:ed|s)?\s+(?:the\s+|its\s+)?(?:[\w-]+\s+){0,2}(?:rule|ban|order|enforcement)|"
     r"suspension"),
    ("effective_date",
     r"effective|(?:take[sn]?|taking|took)\s+(?:full\s+|partial\s+|legal\s+)?effect|went\s+into\s+effect|go(?:es)?\s+into\s+effect|"
     r"come[s]?\s+into\s+force|came\s+into\s+force|enter(?:s|ed)?\s+into\s+force|in\s+force|kick(?:s|ed)?\s+in|"
     r"start(?:s|ed)?\s+to\s+apply|appl(?:y|ies)\s+from|onwards?"),
    ("compliance_deadline",
     r"deadlines?|must|required\s+to|have\s+to|has\s+to|had\s+until|comply|remove[ds]?|rip\s+out|phase[ds]?\s+out|"
     r"(?:consultation|comment\s+period)\s+(?:\w+\s+){0,4}?(?:closes|closed|ends|ended|runs\s+until)|"
     r"comments?\s+(?:are\s+)?due|cease|stop|no\s+longer|expir(?:e|es|ed|y)|compliance\s+date"),
    ("announcement",
     r"announc(?:ed|es|ing|ement)|said|says|unveil(?:ed|s)|issu(?:ed|es)|sign(?:ed|s)|adopt(?:ed|s)|"
     r"vot(?:ed|es|e)|releas(?:ed|es)|publish(?:ed|es)|add(?:ed|s)|plac(?:ed|es)|nam(?:ed|es)|warned|"
     r"designat(?:ed|es)|order(?:ed|s)|ban(?:ned|s)|barred|block(?:ed|s)|prohibit(?:ed|s)|revok(?:ed|es|e)|"
     r"sanction(?:ed|s)|impos(?:ed|es)|introduc(?:ed|es)|pass(?:ed|es)|approv(?:ed|es)|confirm(?:ed|s)|"
     r"told|decided|moved\s+to|launched|declared|determin(?:ed|ation)|finaliz(?:ed|es)|proposed|"
     r"amend(?:ed|s)|expand(?:ed|s)|tighten(?:ed|s)|recommend(?:ed|s)|charged|indicted|arrested|posted|reported|"
     r"rolled\s+out|previewed|showcased|listed|referred|statement|press\s+release|restrict(?:ed|s)|widen(?:ed|s)|"
     r"broaden(?:ed|s)|exclud(?:ed|es)|opened|put|enacted|unveil(?:ed|s)|grounded|scrapped|vetoed|rejected|"
     r"completed|concluded|refused|asked|urged|instructed|directed|told"),
]
# "(?<![A-Za-z])(?=[A-Za-z])" lets the engine skip positions inside words quickly (a 6x speed-up over \b)
_WS = "(?<![A-Za-z])(?=[A-Za-z])"


def _prefix_trie(starts: Iterable[str]) -> dict[str, dict]:
    """The lower-case starts as a trie of characters ("" marks a complete start)."""
    tree: dict[str, dict] = {}
    for start in starts:
        node = tree
        for ch in start:
            node = node.setdefault(ch, {})
        node[""] = {}
    return tree


def _trie_rx(node: dict[str, dict]) -> str:
    """A regex matching text that begins with one of a trie's starts, in either case; any character outside
    ASCII matches any letter (its lower case might be longer, or an ASCII letter: Kelvin sign, dotted I)."""
    if "" in node:
        return ""  # a start is complete: whatever follows
    alts = []
    for ch, sub in node.items():
        chars = re.escape(ch) + (re.escape(ch.upper()) if ch.isascii() and ch.isalpha() else "")
        alts.append(f"[{chars}" + r"\x80-\U0010ffff]" + _trie_rx(sub))
    return "(?:" + "|".join(alts) + ")"


def _word_rx(body: str, flags: int = 0) -> re.Pattern[str]:
    """``_WS + body`` compiled, with a lookahead on the (up to three) first letters its matches can begin
    with, worked out from ``body`` as for the cues: most words then fail one quick test instead of every
    alternative of ``body`` (case-insensitive alternatives are tried one by one). Same matches."""
    starts = _start_sets(body, flags)
    if starts is None:
        return re.compile(_WS + body, flags)
    first = _trie_rx(_prefix_trie((*starts[0], *starts[1], *starts[2])))
    return re.compile(_WS + "(?-i:(?=" + first + "))" + body, flags)


_ALL_CUES = _CueScan(_ROLE_CUES, re.I)
_EXTENSION = _word_rx("(?:" + _ROLE_CUES[3][1] + ")", re.I)
_COURT = _word_rx(r"(?:judge|court|justices|panel)\b", re.I)

# cues that sit right before the date and settle its role (checked on the last few words)
_IMMEDIATE: list[tuple[str, re.Pattern[str]]] = [
    ("effective_date", _word_rx(
        r"(?:effective|starting|beginning|begins?\s+with|commencing|as\s+of|(?:take[sn]?|taking|took)\s+(?:full\s+|partial\s+)?effect|"
        r"into\s+effect|into\s+force|in\s+force|applies\s+from)(?:\s+(?:on|from|as\s+of|in|with))?"
        r"(?:\s+model\s+year)?\s*$", re.I)),
    ("compliance_deadline", _word_rx(
        r"(?:by|until|till|no\s+later\s+than|on\s+or\s+before|deadline\s+(?:of|is|was|on)|"
        r"(?:the\s+)?end\s+of|through)(?:\s+(?:the\s+end\s+of|early|late|mid-?))?(?:\s+model\s+year)?\s*$", re.I)),
]
_IMMEDIATE_LAST = frozenset(
    "effective starting beginning commencing of effect force from on in with year as by until till than before is was "
    "through early late mid mid- end".split())
_EXT_TARGET = _word_rx(r"(?:to|until|through|by|till)\s*$", re.I)
_BAN_WORDS = _word_rx(r"(?:ban\w*|barred|bars|prohibit\w*|no\s+longer|no\s+new|cannot|can't|not|"
    r"stop\w*|cease\w*|exclud\w*)\b", re.I)
_FUTURE_CUE = _word_rx(
    r"(?:will|shall|could|might|is\s+(?:set|scheduled|expected|due)\s+to|are\s+(?:set|scheduled|expected|due)\s+to|"
    r"plans?\s+to|intends?\s+to|would|scheduled\s+for|set\s+for|due\s+(?:on|for)|expected\s+(?:on|by))\b",
    re.I,
)
_PAST_CUE = _word_rx(
    r"(?:took|went|came|was|were|had|did|became|kicked|ruled|said|announced|filed|sued|signed|issued|added|"
    r"published|upheld|voted|ordered|banned|imposed|released|earlier|ago|extended|postponed|delayed|pushed|"
    r"revoked|blocked|barred|added|granted|approved|rejected|dismissed|suspended|lifted|decided|agreed)\b",
    re.I,
)
# a present-tense scheduling verb right before the date: "takes effect on Friday", "expires on 15 April"
_PRESENT_SCHEDULE = _word_rx(
    r"(?:takes?\s+(?:effect|office|over)|begins?|starts?|opens?|expires?|ends?|closes?|goes|comes?\s+into\s+force|"
    r"enters?\s+into\s+force|kicks?\s+in|is\s+due|are\s+due|applies|apply|becomes?\s+effective|meets?|"
    r"will\s+\w+(?:\s+\w+)?)(?:\s+(?:effect|into\s+force))?(?:\s+at\s+\d{1,2}(?:[:.]\d\d)?\s*(?:[ap]\.?m\.?)?)?"
    r"(?:\s+(?:on|from|at|by|in))?\s*$",
    re.I,
)
_AVAILABLE = _word_rx(r"(?:available|on\s+sale|download|buy|order|pre-?order|ships?|shipping|open)\b", re.I)
_EXT_TAIL = _word_rx(r"(?:extend(?:ed|s|ing)?|push(?:ed|es|ing)?\s+(?:[\w-]+\s+){0,3}?back|postpon(?:ed|es)|(?:moved|shifted))\b[^.;]{0,40}?"
                     r"\b(?:to|until|through|till)\s*$", re.I)
_SPEECH = _word_rx(r"(?:said|says|told|announced|stated|wrote)\b", re.I)
_ONWARDS = re.compile(r"\s*(?:,\s*)?(?:onwards?|and\s+beyond)\b")
_RANGE_END = re.compile(r"\s*(?:to|until|through|-|–)\b")  # "from X and ..." is no range: "between X and"
_IN_FORCE_SINCE = re.compile(r"(?:effect|force)\s+since\s*$", re.I)
_IMMEDIATE_EFFECT = re.compile(
    r"\b(?:with\s+immediate\s+effect|effective\s+immediately|(?:takes?|took|taking)\s+effect\s+immediately|"
    r"immediately\s+effective|(?:in\s+force|into\s+force)\s+immediately)\b", re.I)
_PAST_VERB_TAIL = re.compile(r"\b(?:was|were|been)?\s*[a-z]{3,}ed\s+(?:on|in)?\s*$")
# a past-tense verb right after the date: "The agency on Tuesday refused to ..." (the day of the action)
_VERB_AFTER = re.compile(
    r"\s*(?:[a-z]{3,}ed|said|told|won|lost|took|made|gave|began|sent|held|met|upheld|struck|sold|bought|"
    r"wrote|chose|rose|fell|hit|cut|set|put)\b")
_MORE_YEARS = re.compile(r"(?:,\s*|\s+and\s+|\s+or\s+|,\s+and\s+)((?:19|20)\d\d)\b(?![-/]\d|\s*(?:%|percent))")
_RECORD_FROM = re.compile(
    r"\b(?:decision|ruling|judgment|order|report|letter|data|figures|statement|notice|filing|documents?|records?|"
    r"e-?mails?|memo|survey|study|photos?|video|footage|post|posts)\s+(?:dated\s+)?from\s*$", re.I)
_CLAUSE_BREAK = re.compile(r",\s+(?:and|but|while|whereas|although|though)\s+|;\s+")
# the rest of a list of days whose last item names the year ("March 1, June 1 and September 1, 2026")
_LIST_YEAR = re.compile(
    rf"(?:(?:,\s*|,?\s+(?:and|or)\s+)(?:{_MONTH}\.?\s+[0-3]?\d(?:st|nd|rd|th)?|[0-3]?\d(?:st|nd|rd|th)?\s+{_MONTH}\.?)"
    r")+,?\s+((?:19|20)\d\d)\b")
# "LONDON, March 12 (Reuters) -": a dateline at the start of a sentence states no event
_DATELINE = re.compile(r"\s*[A-Z][A-Z.'-]+(?:\s+[A-Z][A-Z.'-]+){0,3}(?:,\s*[A-Z][A-Za-z.]+)?,\s*$")
# a past-tense verb with no role cue still reports an action on that date ("was agreed in March 2021")
_PAST_ACTION = _word_rx(
    r"(?:(?!(?:based|owned|expected|scheduled|planned|estimated|related|limited|used|needed|called(?!\s+(?:in|for|off)\b)|aged|"
    r"concerned|interested|advanced|hundred|indeed|speed|need|seed|feed|shed|red|bed|dated|titled|headquartered|"
    r"registered|listed|priced|powered|connected|embedded|integrated|automated|unmanned|advanced|detailed)\b)"
    r"[a-z]{3,}ed|made|took|gave|began|sent|held|met|won|lost|wrote|chose|sold|bought|brought|struck|found|"
    r"kept|led|ran|paid|became|chose|drew|set\s+out|set\s+up)\b")
# who or what acts in an official action: the fallback below needs one of them in the clause
_OFFICIAL = _word_rx(
    r"(?:order|rule|ban|law|act|decision|directive|direction|regulation|guidance|guideline|policy|framework|"
    r"list|regulators?|watchdog|ministry|ministers?|government|officials|agenc(?:y|ies)|commission|court|"
    r"judge|parliament|lawmakers|legislature|authorities|department|cabinet|council|state|president|premier|"
    r"committee|congress|senate|governor|administration|army|military|police|prosecutors)\b",
    re.I)
# a relative or subordinate clause opens before the date: its own verb governs the date
_SUBCLAUSE = re.compile(r"(,\s+(?:which|who|whose)\s+)|" + _WS + r"(?:which|that|who|whose|when|where|since|because|"
                        r"although|though|while|after|before|until|once)\s+(?=[a-z]|[A-Z][a-z]+\s+[a-z])")
_SUBCLAUSE_WORDS = frozenset("which that who whose when where since because although though while after before until "
                             "once".split())
_MODAL = _word_rx(r"(?:will|would|shall|should|must|could|might|may|can|plans?\s+to|expected\s+to|set\s+to|"
                  r"due\s+to|intends?\s+to)\b", re.I)
_WORD = re.compile(r"[A-Za-z]+")
# the words of _OFFICIAL and _MODAL, for a cheap test on a clause's word set before any regex
_OFFICIAL_WORDS = frozenset(
    "order rule ban law act decision directive direction regulation guidance guideline policy framework list regulator "
    "regulators watchdog ministry minister ministers government officials agency agencies commission court judge "
    "parliament lawmakers legislature authorities department cabinet council state president premier committee "
    "congress senate governor administration army military police prosecutors".split())
_MODAL_WORDS = frozenset("will would shall should must could might may can plan plans intend intends expected set "
                         "due Will Would Could Might".split())
_ACTION_NOUN = _word_rx(r"(?:decision|ban|arrest|designation|to\s+(?:ban|bar|block|prohibit|restrict|revoke|"
                        r"remove|sanction|designate))\b", re.I)
# a finite verb after an action noun: the date belongs to another phrase ("The decision follows a robocall last month")
_FINITE = _word_rx(r"(?:has|have|is|are|was|were|follows?|comes?|remains?|becomes?)\b", re.I)
_PRESENT_VERB = _word_rx(r"(?:has|have|is|are|remains?|becomes?)\b", re.I)
_PAST_WORD = re.compile(_PAST_ACTION.pattern + r"|(?<![A-Za-z])(?:sued|upheld|put|said|told)\b")
# what follows a verb rather than an adjective: "renovated in", "bought the", or nothing (the date)
_VERB_NEXT = re.compile(r"\s*(?:$|(?:in|on|at|by|with|from|to|into|for|the|a|an|its|their|his|her|this|that|last|"
                        r"early|late|again|back|out|up|off)\b)")
_PAST_IRREGULAR = frozenset({"sued", "upheld", "put", "said", "told", "struck down"})
# a past-tense verb right after a fronted subject and its date ("A similar direction in April 2023 required")
_VERB_AFTER_PAST = re.compile(r",?\s*(?:[a-z]{3,}ed|made|took|gave|began|set|put)\b")
_RECORD_WORDS = frozenset({"dated", "marked", "stamped", "headed"})  # "a memo dated May 2"
# "in January this year", "in September of that year": the year of a month or day named just before
_YEAR_REF = re.compile(r",?\s+(?:of\s+)?(this|last|next|that|the\s+same)\s+year\b", re.I)
_WEEKDAY_TAIL = re.compile(r"\b(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day,?\s*$")
# a holiday named after a weekday ("Black Friday") is a date but no day of an action
_NAMED_DAY = frozenset({"black", "cyber", "good", "easter", "super", "ash", "shrove", "palm", "holy", "giving"})
# ", instead of 28 January": the date just given replaces an earlier one
_INSTEAD = re.compile(r",?\s*(?:instead\s+of|rather\s+than|replacing)\b", re.I)
# "..., two of the people said." : an attribution closing the sentence dates nothing in it
_ATTRIBUTION_END = re.compile(
    r"[^,.;]{0,12},\s+(?:[\w.'’-]+\s+){1,6}?(?:said|says|told\s+[\w.'’-]+(?:\s+[\w.'’-]+)?|wrote|added)"
    r"(?:\s+on\s+\w+|\s+\w+day)?\W*$")
_RANGE_TO = re.compile(r"\bfrom\s+\S+(?:\s+\S+){0,3}\s+to\s*$", re.I)
_BETWEEN_TAIL = re.compile(r"\bbetween\s+\S+(?:\s+\S+){0,3}\s+and\s*$", re.I)
_COMPARED_FROM = _word_rx(r"(?:up|down|rise|fall|increase|decrease|compared|changed?)\s+from\s*$", re.I)
_COMMENT_PERIOD = _word_rx(r"(?:consultation|comment\s+period|comments)\b", re.I)
_COURT_SAID = _word_rx(r"(?:[Cc]ourt|[Jj]udge|[Jj]ustices|[Pp]anel)(?:\s+of(?:\s+[A-Z]\w+)+)?\s+"
                       r"(?:said|says|wrote|found|held)\b")
_QUOTE_ATTR = re.compile(r"[^\"”]{0,60}?[,.!?][\"”]\s+(?:said|says|told|wrote|added)\b")
_PAST_DONE = _word_rx(r"(?:(?:had|has|have)\s+(?:taken|come|gone|entered|expired|lapsed)|took\s+effect|went\s+into|"
                      r"came\s+into|expired|lapsed)\b", re.I)
_WHEN_CLAUSE = re.compile(r",?\s+when\s+", re.I)
_RANGE_WORDS = frozenset({"from", "to", "between", "and"})
_RULING = _word_rx("(?:" + _ROLE_CUES[1][1] + r")\b", re.I)
_FILING_VERB = _word_rx(r"(?:fil(?:ed|es|ing)|sued|sues|lodg\w+|appealed|petitioned|brought|took)\b", re.I)
_PAST_ROLES = frozenset({"announcement", "court_ruling", "filing"})
_PAST_AUX = _word_rx(r"(?:took|went|came|was|were|had|did|became|expired|kicked|missed|missing|passed)\b",
                     re.I)
_FUTURE_ROLES = frozenset({"effective_date", "compliance_deadline", "extension"})
# how far (characters left, right) a cue may sit from a date of each precision: vague dates need a close cue
_REACH = {"day": (120, 90), "month": (60, 25), "year": (30, 25)}

# a possible sentence break: end punctuation, optional closing quote, space, a capital or digit; or a newline
# (written to start with one character class, which lets the regex engine skip to candidates in C)
_BREAK = re.compile(r"""[.!?\n](?:(?<=\n)|(?<=[.!?])["')]?\s+(?=["'(]?[A-Z0-9]))""")


def _ends_sentence(text: str, pos: int) -> bool:
    """A full stop at ``pos`` ends a sentence unless it closes an abbreviation or an initial."""
    if text[pos] != ".":
        return True
    lo = max(0, pos - 24)
    k = max(text.rfind(" ", lo, pos), text.rfind("\n", lo, pos), text.rfind("(", lo, pos), lo - 1) + 1
    word = text[k:pos]
    if not word:
        return True
    if len(word) == 1 or "." in word:
        return not word[0].isupper()  # "U.S." or "J." -> abbreviation
    return not (word[0].isupper() and len(word) <= 4 and word not in ("Inc", "Ltd", "Corp"))


class _Sentences:
    """Sentence bounds around a position, at most 400 characters either side.

    Sentences start at the end of each ``_BREAK`` that ends one; whether a break does is worked out only
    for the breaks a date's bounds reach (an article has a few dates and dozens of breaks).
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.breaks = [b.span() for b in _BREAK.finditer(text)]
        self.ends = [e for _, e in self.breaks]
        self.known: dict[int, bool] = {}

    def _ends(self, k: int) -> bool:
        """Whether break ``k`` ends a sentence."""
        ok = self.known.get(k)
        if ok is None:
            text, pos = self.text, self.breaks[k][0]
            # a full stop after a word of five lower-case letters ends a sentence: skip the slower check then
            word = text[pos - 5:pos]
            ok = self.known[k] = (word.isalpha() and word.islower()) or _ends_sentence(text, pos)
        return ok

    def bounds(self, pos: int) -> tuple[int, int]:
        """(start, end) of the sentence holding ``pos``: the last sentence start at or before it and the
        first after it, clipped to 400 characters either side."""
        ends = self.ends
        i = bisect.bisect_right(ends, pos)
        start = 0
        for k in range(i - 1, -1, -1):
            if ends[k] < pos - 400:
                break
            if self._ends(k):
                start = ends[k]
                break
        end = len(self.text)
        for k in range(i, len(ends)):
            if ends[k] >= pos + 400:
                break
            if self._ends(k):
                end = ends[k]
                break
        return max(start, pos - 400), min(end, pos + 400)


@dataclass
class _Found:
    start: int
    end: int
    date: dt.date
    precision: str
    year_given: bool
    kind: str


def _anchors(text: str) -> list[int]:
    """Where ``_ANCHOR`` matches on ``" " + text`` (the anchors' starts in ``text``), in order: the candidates
    of _ANCHOR_UPPER and _ANCHOR_LOWER (a superset), each checked with ``_ANCHOR`` itself."""
    padded = None
    found = []
    for word in _ANCHOR_LOWER:
        k = text.find(word)
        while k >= 0:
            if padded is None:
                padded = " " + text
            if _ANCHOR.match(padded, k):
                found.append(k)
            k = text.find(word, k + 1)
    at = [m.start() for m in _ANCHOR_UPPER.finditer(text)]
    if found:
        if padded is None:
            padded = " " + text
        at = sorted({k for k in at if _ANCHOR.match(padded, k)}.union(found))
    elif at:
        padded = " " + text
        at = [k for k in at if _ANCHOR.match(padded, k)]
    return at


def _month(name: str) -> int:
    return _MONTHS[name[:3].lower()]


def _safe_date(y: int, m: int, d: int) -> dt.date | None:
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


def _add_months(d: dt.date, n: int) -> dt.date:
    y, m = divmod(d.month - 1 + n, 12)
    return dt.date(d.year + y, m + 1, 1)


def _last(matches: Iterator[re.Match[str]]) -> re.Match[str] | None:
    last = deque(matches, maxlen=1)
    return last[0] if last else None


def _first_clause(text: str) -> str:
    """``text`` up to its first clause break: ", though a judge blocked it" is another clause's actor."""
    cut = _CLAUSE_BREAK.search(text)
    return text[:cut.start()] if cut else text


def _clause_tail(text: str) -> str:
    """The last clause of ``text`` (after ", and", ", but", ";" ...)."""
    cuts = list(_CLAUSE_BREAK.finditer(text))
    return text[cuts[-1].end():] if cuts else text


def _clause_action(clause: str, right: str) -> str:
    """The role of a date that no cue reaches, from the past-tense verb that governs its clause.

    News reports put the verb of an action well before its time adverbial ("added both companies to the
    Entity List in 2019", "notified by the Ministry of Electronics and Information Technology last year")
    or right after a fronted subject ("A similar direction in April 2023 required ..."). Only the date's own
    clause counts: a relative or subordinate clause ("a review that began in 2024", "since its model made
    headlines in January") starts a new one, a closed aside (", which is owned by X,") is skipped. A verb
    that is no role cue ("began", "required") or a noun of action ("a decision by ... in") needs an official
    actor in the clause ("Apple's phone sold well in March" is business, not an announcement). Speech verbs,
    plans and obligations ("would", "must be filed"), a present-tense verb in between ("has become ... this
    month") and periods ("profit for last year") do not count.
    """
    cuts = list(_CLAUSE_BREAK.finditer(clause))
    if cuts:
        clause = clause[cuts[-1].end():]
    words = set(_WORD.findall(clause))
    if not _SUBCLAUSE_WORDS.isdisjoint(words):
        sub = _last(_SUBCLAUSE.finditer(clause))
        if sub is not None:
            aside = clause.find(", ", sub.end()) if sub.group(1) else -1
            clause = clause[:sub.start()] + clause[aside + 1:] if aside >= 0 else clause[sub.end():]
            words = set(_WORD.findall(clause))
    if clause.endswith(" for ") or (words & _MODAL_WORDS and _MODAL.search(clause)):
        return "other"
    official = not _OFFICIAL_WORDS.isdisjoint(w.lower() for w in words)
    # the governing verb: the last role cue in the past tense ("ordered ... fixed and mobile networks in":
    # "fixed" is an adjective), else the last other verb in the past tense
    cue = _last(c for c in _ALL_CUES.finditer(clause) if c.lastgroup in _PAST_ROLES and (
        c.group().lower().endswith("ed") or c.group().lower() in _PAST_IRREGULAR))
    last = _last(_PAST_WORD.finditer(clause, cue.end() if cue is not None else 0))
    if last is not None and cue is not None and not _VERB_NEXT.match(clause, last.end()):
        last = None  # "its fixed and mobile networks": an adjective, not a later verb
    if cue is not None and last is None:  # a verb of action ("added", "banned", "ruled"): whoever the actor
        if _PRESENT_VERB.search(clause, cue.end()) or _SPEECH.match(cue.group()):
            return "other"
        return cue.lastgroup
    if last is None:
        # "a decision by the regulator in late 2025", "among the first states to ban TikTok, in December 2022"
        noun = _last(_ACTION_NOUN.finditer(clause))
        acted = _VERB_AFTER_PAST.match(right) or (noun is not None and not _FINITE.search(clause, noun.end()))
        return "announcement" if acted and official else "other"
    if _PRESENT_VERB.search(clause, last.end()) or _ALL_CUES.match(clause, last.start()):
        return "other"  # a present-tense verb follows, or the verb is a cue of another role ("expired")
    return "announcement" if official else "other"  # any other verb needs an official actor or act


class DateFinder:
    """Stateless apart from compiled patterns; ``find`` is called once per article."""

    def find(self, text: str, published: dt.date | None) -> list[TypedDate]:
        out: list[TypedDate] = []
        seen: dict[tuple[dt.date, str, str], int] = {}
        candidates = self._candidates(text)
        if not candidates:
            return out
        sentences = _Sentences(text)
        prev_end = skip_to = 0
        last_year = None  # the latest year the text stated, for "in September of that year"
        for m in candidates:
            if m.start() < skip_to:
                continue  # "this year" in "in January this year" belongs to the month before it
            found = self._normalise(m, text, published)
            if found is None:
                continue
            s_start, s_end = sentences.bounds(found.start)
            left = text[s_start:found.start]
            if left.endswith(("day, ", "day ")) and found.kind in ("mdy", "dmy"):
                left = _WEEKDAY_TAIL.sub("", left)  # "from Sunday, June 1": the cue is before the weekday
            right = text[found.end:s_end]
            year_ref = None
            if not found.year_given and found.kind in ("mdy", "dmy", "mon") and published is not None and (
                    yr := _YEAR_REF.match(text, found.end)) is not None:
                word = yr.group(1).lower()
                year_ref = {"this": published.year, "last": published.year - 1, "next": published.year + 1}.get(
                    word, last_year)
                skip_to = yr.end()
                right = text[yr.end():s_end]
            role = self._role(left, right, found, found.start - max(s_start, prev_end))
            prev_end = found.end
            date = found.date
            if found.year_given and found.kind in ("mdy", "dmy", "iso", "my", "yr"):
                last_year = date.year
            pm = (m.group("pm") or "").lower() if found.kind == "mon" else ""
            if pm in ("last", "next"):  # "last May" in a March paper is May of the year before
                y = published.year if published is not None else date.year
                if pm == "last":
                    y -= 1 if (date.month >= published.month if published else False) else 0
                else:
                    y += 1 if (date.month <= published.month if published else False) else 0
                date = dt.date(y, date.month, 1)
            elif year_ref is not None:
                date = _safe_date(year_ref, date.month, date.day) or date
            elif (not found.year_given and found.kind in ("mdy", "dmy")
                  and (ly := _LIST_YEAR.match(text, found.end)) is not None):
                date = _safe_date(int(ly.group(1)), date.month, date.day) or date
            elif not found.year_given and published is not None and found.kind in ("mdy", "dmy", "mon"):
                lean = self._lean(left[-40:], role)
                date = self._infer_year(date, published, lean, found.precision,
                                        past_only=lean < 0 and (role in _PAST_ROLES or bool(_PAST_DONE.search(left[-40:]))))
            if found.kind == "wd" and published is not None:
                future = bool(_FUTURE_CUE.search(left[-30:]) or _PRESENT_SCHEDULE.search(left[-30:])) or (
                    role in _FUTURE_ROLES and not _PAST_CUE.search(left[-40:])
                    and not _PAST_VERB_TAIL.search(left[-40:]))
                date = self._weekday(m, published, future, bool(_PAST_AUX.search(left[-60:])))
            if role in _PAST_ROLES and _FUTURE_CUE.search(left[-35:]):
                role = "other"  # "said the review will conclude later this year": a plan, not an event
            if (role in _PAST_ROLES and not found.year_given and published is not None and date > published
                    and found.kind in ("mdy", "dmy") and _PAST_VERB_TAIL.search(left[-40:])):
                date = _safe_date(date.year - 1, date.month, date.day) or date  # "was signed on April 24"
            if role in _PAST_ROLES and published is not None and date > published and found.precision == "day":
                role = "other"  # nothing was announced, ruled or filed after publication: a plan
            elif (role in _PAST_ROLES and published is not None and found.precision == "month"
                  and (date.year, date.month) > (published.year, published.month)):
                role = "other"
            elif role in _PAST_ROLES and published is not None and found.precision == "year" and (
                    date.year > published.year):
                role = "other"
            key = (date, found.precision, role)
            if (role == "announcement" and found.precision == "day"
                    and text.find("mmediate", s_start, s_end) >= 0 and _IMMEDIATE_EFFECT.search(text, s_start, s_end)
                    and (date, "day", "effective_date") not in seen):
                seen[(date, "day", "effective_date")] = len(out)
                out.append(TypedDate(date=date, precision="day", role="effective_date",
                                     snippet=" ".join(text[s_start:s_end].split())[:300]))
            if key in seen:
                continue
            snippet = " ".join(text[s_start:s_end].split())
            if len(snippet) > 300:
                lo = max(0, found.start - s_start - 150)
                snippet = " ".join(text[s_start + lo:s_start + lo + 300].split())
            seen[key] = len(out)
            out.append(TypedDate(date=date, precision=found.precision, role=role, snippet=snippet))
            if found.kind == "yr":  # "in 2020 and 2021", "in 2019, 2020 and 2022": the same statement
                pos = found.end
                while (more := _MORE_YEARS.match(text, pos)) is not None:
                    pos = more.end()
                    extra = (dt.date(int(more.group(1)), 1, 1), "year", role)
                    if extra not in seen:
                        seen[extra] = len(out)
                        out.append(TypedDate(date=extra[0], precision="year", role=role, snippet=snippet))
        # a date stated with a specific role elsewhere does not also count as "other"
        specific = {(d.date, d.precision) for d in out if d.role != "other"}
        return [d for d in out if d.role != "other" or (d.date, d.precision) not in specific]

    @staticmethod
    def _candidates(text: str) -> list[re.Match[str]]:
        """Date matches, tried only at anchors and at the two words before them (cheaper than a full scan)."""
        out: list[re.Match[str]] = []
        last_end = 0
        for at in _anchors(text):  # where each anchor starts in ``text``
            if at < last_end:
                continue
            starts = [at]
            k = at
            for _ in range(4):
                lo = max(last_end, k - 25)
                k = text.rfind(" ", lo, k - 1)
                if k < 0:
                    if lo == 0:
                        starts.append(0)
                    break
                starts.append(k + 1)
            for st in reversed(starts):
                if st != at:
                    word = text[st:st + 12].split(None, 1)[0].rstrip(",.").lower() if text[st:st + 1].strip() else ""
                    if word not in _PREFIX_WORDS and not word[:1].isdigit() and not word.startswith("mid-"):
                        continue  # no date expression starts with this word
                m = _DATE_RE.match(text, st)
                if m and m.end() > at:
                    out.append(m)
                    last_end = m.end()
                    break
        return out

    # -- normalisation -------------------------------------------------------------------------
    def _normalise(self, m: re.Match[str], text: str, published: dt.date | None) -> _Found | None:
        # the expression's kind is its outermost group, which closes last (cheaper than groupdict)
        kind, g = m.lastgroup, m.group
        pub_year = published.year if published else None
        if kind == "mdy":
            year = int(g("y1")) if g("y1") else pub_year
            if year is None:
                return None
            d = _safe_date(year, _month(g("m1")), int(g("d1")))
            return d and _Found(m.start("mdy"), m.end("mdy"), d, "day", bool(g("y1")), "mdy")
        if kind == "dmy":
            year = int(g("y2")) if g("y2") else pub_year
            if year is None:
                return None
            d = _safe_date(year, _month(g("m2")), int(g("d2")))
            return d and _Found(m.start("dmy"), m.end("dmy"), d, "day", bool(g("y2")), "dmy")
        if kind == "iso":
            d = _safe_date(int(g("y3")), int(g("m3")), int(g("d3")))
            return d and _Found(m.start(), m.end(), d, "day", True, "iso")
        if kind == "my":
            return _Found(m.start(), m.end(), dt.date(int(g("y4")), _month(g("m4")), 1), "month", True, "my")
        if kind == "mon":
            if pub_year is None:
                return None
            return _Found(m.start("m5"), m.end("m5"), dt.date(pub_year, _month(g("m5")), 1), "month", False, "mon")
        if kind == "yr":
            return _Found(m.start("y5"), m.end("y5"), dt.date(int(g("y5")), 1, 1), "year", True, "yr")
        if published is None:
            return None
        if kind == "wd":
            return _Found(m.start(), m.end(), published, "day", True, "wd")
        if kind == "rel":
            step = {"last": -1, "the previous": -1, "next": 1, "the following": 1}.get(" ".join(g("rp").lower().split()), 0)
            if g("ru") == "month":
                d = _add_months(published.replace(day=1), step)
                return _Found(m.start(), m.end(), d, "month", True, "rel")
            return _Found(m.start(), m.end(), dt.date(published.year + step, 1, 1), "year", True, "rel")
        if kind == "dayref":
            d = published - dt.timedelta(days=1) if g("dr").lower() == "yesterday" else published
            return _Found(m.start(), m.end(), d, "day", True, "dayref")
        if kind == "off":
            word = g("on").lower().replace(" ", "-")
            n = int(word) if word.isdigit() else _NUMBERS.get(word, 0)
            if not n:
                return None
            return _Found(m.start(), m.end(), published + dt.timedelta(days=n), "day", True, "off")
        return None

    @staticmethod
    def _lean(left: str, role: str) -> int:
        """+1 when the clause speaks of the future, -1 of the past, 0 when it does not say."""
        if _FUTURE_CUE.search(left) or role == "extension":  # an extension moves a date forward
            return 1
        if role in _FUTURE_ROLES:
            return -1 if _PAST_AUX.search(left) else 1
        if _PAST_CUE.search(left):
            return -1
        if role in _FUTURE_ROLES:
            return 1
        return 0 if role == "other" else -1

    @staticmethod
    def _infer_year(d: dt.date, published: dt.date, lean: int, precision: str, past_only: bool = False) -> dt.date:
        """Pick the year that puts the date closest to publication; deadlines lean forward, events back.

        ``past_only``: a past-tense event ("had told the regulator in December") cannot lie after publication.
        """
        best, best_cost = d, None
        for y in (published.year - 1, published.year, published.year + 1):
            cand = _safe_date(y, d.month, d.day)
            if cand is None:
                continue
            if past_only and (cand > published if precision == "day" else
                              (cand.year, cand.month) > (published.year, published.month)):
                continue
            ref = cand if precision == "day" else cand + dt.timedelta(days=14)
            delta = (ref - published).days
            if lean > 0:
                cost = -delta * 2.5 if delta < 0 else delta
            elif lean == 0:
                cost = delta * 1.5 if delta > 0 else -delta
            else:
                cost = delta * 2.5 if delta > 0 else -delta
            if best_cost is None or cost < best_cost:
                best, best_cost = cand, cost
        return best

    @staticmethod
    def _weekday(m: re.Match[str], published: dt.date, future: bool, past: bool = False) -> dt.date:
        target = _WEEKDAYS.index(m.group("w").lower())
        pre = (m.group("wpre") or "").strip().lower()
        back = (published.weekday() - target) % 7
        if pre == "by" and past and not future:  # "had been removed by Tuesday" looks back
            return published - dt.timedelta(days=back)
        if pre in ("next", "until", "by") or (future and pre != "last"):
            ahead = (target - published.weekday()) % 7
            if ahead == 0 and pre in ("next", "until", "by"):
                ahead = 7  # "takes effect on Friday" in a Friday paper is today; "next Friday" is not
            return published + dt.timedelta(days=ahead)
        if pre == "last" and back == 0:
            back = 7
        return published - dt.timedelta(days=back)

    # -- context --------------------------------------------------------------------------------
    @staticmethod
    def _role(left: str, right: str, found: _Found, gap: int = 10_000) -> str:
        """The role of a date from its sentence; ``gap``: characters since the previous date in it."""
        tail = left[-45:]
        k = len(tail.rstrip())
        last_word = tail[tail.rfind(" ", 0, k) + 1:k].lower()
        if last_word in _RECORD_WORDS or (len(left) < 60 and _DATELINE.match(left)):
            return "other"
        if _EXT_TARGET.search(tail) and (_EXTENSION.search(left[-100:]) or _EXT_TAIL.search(left[-70:])):
            return "extension"
        if (last_word == "since" or (last_word == "least" and tail.endswith("since at least "))) and (
                not _IN_FORCE_SINCE.search(tail)):
            return "other"
        if found.kind == "rel" and last_word == "for":
            return "other"  # "profit for last year": a reporting period
        if found.kind == "wd" and last_word in _NAMED_DAY:
            return "other"  # "sales over the Black Friday weekend"
        if last_word == "between" or (last_word == "and" and _BETWEEN_TAIL.search(tail)):
            return "other"  # "between Friday and Monday": a period, not the day of an action
        if last_word == "to" and _RANGE_TO.search(tail) and _COMMENT_PERIOD.search(left[-100:]):
            return "compliance_deadline"  # "a comment period ran from October 10 to November 10": when it closed
        if last_word in _IMMEDIATE_LAST:  # the immediate cues all end with one of these words
            for role, rx in _IMMEDIATE:
                if rx.search(tail):
                    if role == "compliance_deadline" and _INSTEAD.match(right):
                        return "extension"  # "now have until 31 December 2023, instead of 28 January 2023"
                    return role
        if last_word == "after" and (_BAN_WORDS.search(left[-100:]) or _BAN_WORDS.search(right[:60])):
            return "compliance_deadline"
        if found.kind == "off":
            return "compliance_deadline"
        if found.kind in ("wd", "mdy", "dmy") and (found.kind == "wd" or last_word == "on") and (
                _VERB_AFTER.match(right)):
            # "The Commission on Wednesday asked ...": the day of the action the clause reports
            vm = _ALL_CUES.match(right, len(right) - len(right.lstrip()))
            role = (vm.lastgroup or "announcement") if vm else "announcement"
            if role == "announcement" and (_COURT.search(left[-80:]) or _COURT.search(right[:40])):
                role = "court_ruling"
            return role
        if _ONWARDS.match(right) or (
            last_word == "from" and not _RANGE_END.match(right)
            and not _RECORD_FROM.search(tail)
        ):
            if _COMPARED_FROM.search(tail):
                return "other"  # "down from the previous year": a comparison
            return "other" if _AVAILABLE.search(_clause_tail(left[-100:])) else "effective_date"
        # vague dates (a month or a year) take a role only from a cue close by
        reach_left, reach_right = _REACH[found.precision]
        short = len(left.strip()) < 16 or (
            len(left) > 26 and (cb := _CLAUSE_BREAK.search(left, len(left) - 26)) is not None
            and len(left) - cb.end() < 16)
        if short:  # "In May 2019, the department added ...", "..., and in 2022 it stopped": the verb follows
            reach_right = 90
        best_role, best_dist = "other", 10_000
        window = left[-reach_left:]
        cuts = list(_CLAUSE_BREAK.finditer(window))
        if cuts:  # "The law had taken effect on Sunday, and the app went offline on Saturday"
            window = window[cuts[-1].end():]
        near = window[-40:] if len(window) > 60 else window  # the closest cue is usually close: look there first
        for mm in _ALL_CUES.finditer(near):
            best_role, best_dist = mm.lastgroup or "other", len(near) - mm.end()
        if best_dist == 10_000 and near is not window:
            for mm in _ALL_CUES.finditer(window, 0, len(window) - len(near) + 30):
                best_role, best_dist = mm.lastgroup or "other", len(window) - mm.end()
        # a cue on the right wins only when closer (weighted): no need to look further than that
        limit = reach_right if best_dist == 10_000 else min(reach_right, int(max(0, best_dist - 15) / 1.3) + 30)
        mm = _ALL_CUES.search(right, 0, limit)
        if mm and _SPEECH.match(mm.group()) and (_ATTRIBUTION_END.match(right) or _QUOTE_ATTR.match(right)):
            mm = None  # ", two of the people said." attributes the sentence; it is not the day of saying
        if mm:
            dist = int(mm.start() * 1.3) + 15
            if dist < best_dist:
                best_role = mm.lastgroup or "other"
        elif (best_dist == 10_000 and last_word not in _RANGE_WORDS
              and (_OFFICIAL.search(left, max(0, len(left) - 120)) if len(left.strip()) >= 16
                   else _OFFICIAL.search(right, 0, 60)) and (
                _PAST_ACTION.search(window, max(0, len(window) - 60))
                or (short and _PAST_ACTION.search(right, 0, 60)))):
            best_role = "announcement"  # no cue, but a verb in the past tense: the day of that action
        if best_role == "other" and best_dist == 10_000 and not mm and last_word not in _RANGE_WORDS:
            if (wm := _WHEN_CLAUSE.match(right)) is not None:
                # "last month when a federal ban briefly took effect": the event of the when-clause dates it
                cm = _ALL_CUES.search(right, wm.end(), wm.end() + 100)
                if cm is not None and not (cm.lastgroup in _PAST_ROLES and _MODAL.search(right, wm.end(), cm.start())):
                    best_role = cm.lastgroup or "other"
            else:
                best_role = _clause_action(left[-min(gap, 160):], right)
        if best_role == "filing" and _RULING.search(window) and not _FILING_VERB.search(window):
            best_role = "court_ruling"  # "the court dismissed the petition on Monday": the ruling's day
        if (best_role == "extension" and (last_word == "on" or found.kind == "wd")
                and _PAST_CUE.search(left[-60:]) and not _PRESENT_SCHEDULE.search(left[-30:])):
            best_role = "announcement"  # "extended the deadline on Friday": the day of the decision
        if best_role == "announcement" and (_COURT.search(left[-80:]) or _COURT.search(_first_clause(right[:40]))) and (
                not _SPEECH.search(left[-30:]) or _COURT_SAID.search(left[-70:])):
            best_role = "court_ruling"
        return best_role
