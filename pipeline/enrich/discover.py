"""Entities the gazetteer does not know: organisations and people named in the text.

Rule-based and precision-first. A run of capitalised words counts as an organisation when it ends
in an organisational word ("... Technologies", "... Ministry", "... Inc.") or is defined with an
acronym ("National Institute of Standards and Technology (NIST)"); as a person when it starts with
a known given name or follows a title ("Sen.", "spokesperson", "Judge"). Other runs, and single
words ("Quectel", "BT"), need a cue in the words around them: a noun or role before ("carmaker X",
"analysts at X", "rivals such as X, Y and Z"), a possessive role or an apposition after ("X's chief
executive", "X, a Shenzhen-based maker of ...", "X, which ..."), or, for a word that is also
capitalised mid-sentence elsewhere, a speech verb ("X said", "X did not respond"). Runs that
overlap a gazetteer match, places, months, weekdays, demonyms, words the text also uses in lower
case, surnames of names already found and generic words only ("The Company", "Federal Agency")
are dropped. Word lists live in :mod:`pipeline.enrich.lexicon`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from importlib import resources

from pipeline.enrich import lexicon as lx
from pipeline.enrich.model import EntityHit

_CONNECTORS = frozenset({"of", "and", "for", "&", "de", "the", "on", "in"})
_COMPANY_END = frozenset(
    "Inc Corp Corporation Co Company Ltd Limited LLC PLC plc AG GmbH SA NV Group Technologies Technology Systems "
    "Networks Telecom Telecommunications Communications Electronics Robotics Holdings Labs Laboratories "
    "Semiconductor Semiconductors Motors Automotive Auto Partners Capital Industries Software Airlines Mobile "
    "Wireless Broadband Solutions Analytics Devices Microelectronics Energy Bank Instruments Innovations Media "
    "Ventures Platforms Security Cybersecurity Dynamics Aerospace Drones Aviation Cloud Computing".split()
)
_GOV_END = frozenset(
    "Ministry Department Agency Commission Authority Office Bureau Council Court Parliament Administration "
    "Committee Regulator Directorate Service Secretariat Assembly Senate Cabinet".split()
)
_ORG_END = frozenset(
    "Association Institute Institution Foundation University College Alliance Coalition Center Centre Union "
    "Federation Forum Project Initiative Society Consortium Board Lab Laboratory Party Research".split()
)
_GOV_START = frozenset({"Ministry", "Department", "Office", "Bureau", "Agency", "Commission", "Court"})
_ORG_START = frozenset({"University", "Institute", "Alliance", "Association", "Coalition", "Federation"})
_TITLES = frozenset(
    t.lower() for t in
    "Secretary Sen Senator Rep Representative Judge Justice Minister President Chairman Chairwoman Chair "
    "Commissioner CEO spokesperson spokesman spokeswoman Director Ambassador Governor Gov Mr Ms Mrs Dr "
    "analyst founder co-founder Professor lawyer attorney executive Deputy Premier Chancellor Mayor "
    "researcher official economist Officer head Senior Counsel Lawmaker chief manager MP MEP Admiral General Gen "
    "Colonel Col Lt Sheriff Inspector Prosecutor Commander Captain Sir Dame Lord Baroness Rabbi Father".split()
)
# words that are capitalised for reasons other than naming something new
_STOP = frozenset(
    """The A An This That These Those In On At For But And Or If When While After Before Under Over It Its His Her
    Their Our We They He She As By From With Without Since Although Though Despite Meanwhile However Yet Still Also
    Last Next Earlier Later Now Then There Here What Which Who Why How According Some Many Most All Any Each Both
    Such Several Other Another One Two Three Four Five First Second New Former Acting Mr Ms Mrs Dr
    Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April May June July August
    September October November December Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec
    Chinese Russian American British Canadian Australian Indian Iranian Korean Japanese European Taiwanese
    German French Italian Dutch Spanish Western Eastern Federal National State Government Company Companies
    Administration Agency Department Ministry Office Commission Committee Court Section Act Rule Order Executive
    Report Reuters Bloomberg AP AFP Photo Image Read More Related Advertisement Subscribe Update Updated
    Internet Android iOS Windows Mac Today Yesterday Tomorrow Tonight Christmas Easter Covid
    President Secretary Minister Senator Judge Justice Chairman Chairwoman CEO Republican Republicans Democrat Democrats
    Democratic GOP House Senate White Supreme Foreign Trade Commerce Defense Justice Treasury Homeland Security Public
    Information Communications Technology Telecommunications Digital Industry Data Privacy Protection Affairs""".split()
)
_GENERIC = frozenset(
    """Foreign National Federal State Public Security Trade Commerce Defense Defence Justice Home Interior Industry
    Digital Information Communications Technology Technologies Telecommunications Data Privacy Protection Affairs
    Economic Economy Finance Financial Internal External Central International Global World Regional Local
    Science Research Development Policy Cyber Cybersecurity Emergency Energy Health Education Transport
    Transportation Infrastructure Consumer Consumers Market Markets Competition Investment Investments Industrial
    European American Chinese Russian British Canadian Australian Indian Japanese Korean Taiwanese US U.S. UK EU
    West East North South Western Eastern Northern Southern Upper Lower Greater
    New Old Big Small Top Major Joint Special Strategic Critical Advanced Intelligence Military Army Navy Air Force
    High Supreme District Appeals Circuit Federal-state Company Companies Group Office Court Ministry Department
    Agency Commission Authority Bureau Council Board Committee Service Administration Telecom Mobile Media Tech
    Security Networks Systems Solutions Electronics Cloud Software Semiconductor Chips Chip Apps App""".split()
)
# unions of the sets above, for one set operation per test in _org_type
_GENERIC_OR_STOP = _GENERIC | _STOP
_GOV_WORDS = _GOV_END | _GOV_START
_ORG_WORDS = _ORG_END | _ORG_START
_ACRONYM = re.compile(r"^[A-Z][A-Za-z&]{1,9}$")
# leading words stripped from a capitalised run ("The", "On Tuesday", "In March")
_LEAD = frozenset(
    """The A An This That These Those In On At For But And Or If When While After Before Under Over It Its His Her
    Their Our We They He She As By From With Without Since Although Though Despite Meanwhile However Yet Still Also
    Last Next Earlier Later Now Then There Here What Which Who Why How According Some Many Most All Any Each Both
    Such Several Other Another One Two Three Four Five First Second Former Acting Monday Tuesday Wednesday Thursday
    Friday Saturday Sunday January February March April May June July August September October November December
    Chinese Russian American British Canadian Australian Indian Iranian Korean Japanese European Taiwanese
    Italian Irish 's""".split()
)


def load_first_names() -> frozenset[str]:
    text = resources.files("pipeline.data").joinpath("first_names.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


_NON_SLUG = re.compile(r"[^a-z0-9]+")


def _slug(name: str) -> str:
    return _NON_SLUG.sub("-", name.lower()).strip("-")


_INITIAL_BEFORE = frozenset({".", "!", "?", '"', ":", ";", "(", "\u201c", "\u201d"})
_DEMONYM_ENDS = ("ian", "ese", "ish", "ans", "ists")
_PLURAL_NOUN_ENDS = ("ors", "ers", "ists", "ants", "ents", "als", "ans", "ives", "ees", "ics")
_NAME_TOKEN = re.compile(r"^[A-Z][A-Za-z0-9&+]*(?:[.'][A-Za-z]+)*\.?$")
_SPEECH_PAIRS = frozenset({("did", "not"), ("declined", "to"), ("has", "said"), ("had", "said"), ("would", "not"),
                           ("could", "not"), ("has", "not"), ("was", "not")})


class Discoverer:
    def __init__(self, first_names: frozenset[str], known_names: Iterable[str]) -> None:
        self.first_names = first_names | lx.EXTRA_GIVEN_NAMES
        names = list(known_names)
        self.known = frozenset(n.lower() for n in names)
        # single words of gazetteer names ("Dowden" of "Oliver Dowden") are mentions, not new names
        self.known_words = frozenset(w for n in names for w in n.split() if w[:1].isupper())
        self._never = _STOP | _LEAD | _GENERIC | lx.PLACES | self.known_words

    def find(self, text: str, toks: list[str], covered: list[bool], places: frozenset[int] = frozenset(),
             low: list[str] | None = None) -> tuple[list[EntityHit], list[int]]:
        """Discovered organisations and people, and the ``places`` tokens they absorbed.

        ``covered[i]`` marks tokens inside gazetteer matches; ``places`` are single-token country
        matches that may start a company name ("Taiwan Semiconductor Manufacturing Co."); ``low``
        is ``toks`` lower-cased (computed here when not given).
        """
        if low is None:
            low = [t.lower() for t in toks]
        absorbed: list[int] = []
        found: dict[str, tuple[str, str, set[str]]] = {}  # slug -> (name, type, extra surface forms)
        caps = [i for i, t in enumerate(toks) if t[0].isupper() and not covered[i]]
        singles: list[int] = []
        k, n_caps = 0, len(caps)
        while k < n_caps:
            i = j = caps[k]
            k += 1
            while k < n_caps:
                nxt = caps[k]
                if nxt == j + 1 or (nxt == j + 2 and toks[j + 1] in _CONNECTORS and not covered[j + 1]):
                    j = nxt
                    k += 1
                else:
                    break
            before = i - 1 if i - 1 in places else None
            if j > i or before is not None:
                ok = self._classify(toks, i, j, found, before, text, low)
                if ok and before is not None:
                    name = next(reversed(found.values()))[0]
                    if name.split(" ", 1)[0] == toks[before]:
                        absorbed.append(before)
                if not ok or "and" in toks[i:j + 1]:
                    # "The Bybit ...", "Qualcomm and Oclaro": words standing alone inside the run
                    for m in range(i, j + 1):
                        alone = (m == i or toks[m - 1] in _CONNECTORS or toks[m - 1] in _LEAD) and (
                            m == j or toks[m + 1] in _CONNECTORS)
                        if alone and toks[m] not in _CONNECTORS and toks[m] not in _LEAD:
                            singles.append(m)
            else:
                singles.append(i)
        if singles:
            self._singles(toks, low, covered, caps, singles, found)
        hits: list[EntityHit] = []
        for slug, (name, typ, extra) in found.items():
            mentions = self._count(text, name, typ, extra)
            hits.append(EntityHit(key=f"discovered:{slug}", name=name, type=typ, country=None,
                                  origin="discovered", mentions=max(1, mentions), parent_key=None))
        hits.sort(key=lambda h: (-h.mentions, h.key))
        return hits, absorbed

    # -- single capitalised words ------------------------------------------------------------------
    def _singles(self, toks: list[str], low: list[str], covered: list[bool], caps: list[int], singles: list[int],
                 found: dict[str, tuple[str, str, set[str]]]) -> None:
        """Single-word names ("Quectel", "Bybit", "BT") accepted only with an organisational cue nearby.

        A word qualifies when it is not a common word here (no lower-case use in the text), not a
        place, month, weekday, demonym or part of a known or already found longer name; the cue is
        a noun or role before it ("carmaker X", "analysts at X", "rivals such as X"), a possessive
        role after it ("X's chief executive"), an apposition ("X, a Shenzhen-based maker of ..."),
        or a speech verb ("X said") when the word is also capitalised mid-sentence somewhere.
        Lists ("X, Y and Z") share the cue of one member.
        """
        n = len(toks)
        never = self._never
        cands = [i for i in singles if toks[i] not in never]
        if not cands:
            return
        context: dict[str, set[str]] = {}

        def lazy() -> dict[str, set[str]]:
            """Word sets of the article, built only when some word has a cue."""
            if not context:
                tails: set[str] = set()  # words that end or start a longer capitalised name
                for name, _typ, _extra in found.values():
                    parts = name.split()
                    if len(parts) > 1:
                        tails.add(parts[-1])
                        tails.add(parts[0])
                for i in caps:
                    if i and toks[i - 1][:1].isupper() and toks[i - 1] not in _LEAD:
                        tails.add(toks[i])
                context["tails"] = tails
                context["words"] = set(toks)
                context["mid"] = {toks[i] for i in singles if not self._initial(toks, i)}
            return context

        def eligible(i: int) -> bool:
            if i < 0 or i >= n or covered[i]:
                return False
            t = toks[i]
            if t in never or len(t) < 2 or not _NAME_TOKEN.match(t) or t.isdigit() or t.endswith(_DEMONYM_ENDS):
                return False
            if "." in t or (i and toks[i - 1] in ("'", "\u2019")):
                return False
            lw = low[i]
            if lw in _TITLES or lw in self.known:
                return False
            # a capitalised word followed by another one is part of a longer name, not a single word
            if i + 1 < n and toks[i + 1][:1].isupper() and not covered[i + 1] and toks[i + 1] != "I":
                return False
            ctx = lazy()
            return lw not in ctx["words"] and t not in ctx["tails"]

        edges: dict[str, set[str]] = {}

        def org_edges() -> dict[str, set[str]]:
            """First and last words of organisation names found so far ("Acacia Communications and Oclaro")."""
            if not edges:
                names = [nm.split() for nm, typ, _e in found.values() if typ != "person" and " " in nm]
                edges["first"] = {w[0] for w in names}
                edges["last"] = {w[-1] for w in names}
            return edges

        accepted: dict[int, str] = {}
        for i in cands:
            if i in accepted:
                continue
            cue = self._org_cue(toks, low, i, i)
            if cue is None and i >= 2 and low[i - 1] in ("and", "or") and toks[i - 2] in org_edges()["last"]:
                cue = "left"
            elif cue is None and i + 2 < n and low[i + 1] in ("and", "or") and toks[i + 2] in org_edges()["first"]:
                cue = "right"
            if cue is None and self._speech_after(low, i, i):
                cue = "right"
                if not eligible(i) or toks[i] not in lazy()["mid"] or toks[i].endswith(_PLURAL_NOUN_ENDS):
                    continue  # "Doctors said", "Officials said"
            elif cue is None or not eligible(i):
                continue
            accepted[i] = cue
            for m in self._coordinated(toks, i, forward=(cue == "left")):
                if eligible(m):
                    accepted.setdefault(m, cue)
        if not accepted:
            return
        initials = {}
        for slug, (name, typ, _extra) in found.items():
            if typ != "person":
                words = [w for w in name.split() if w not in _CONNECTORS and w[:1].isupper()]
                if len(words) >= 2:
                    initials["".join(w[0] for w in words)] = slug
        for i in sorted(accepted):
            name = toks[i]
            if name.isupper() and name in initials:  # "FAA" after "Federal Aviation Administration"
                found[initials[name]][2].add(name)
                continue
            slug = _slug(name)
            if slug not in found and name.lower() not in lx.NEWS_OUTLETS:
                found[slug] = (name, "company" if accepted[i] else "organization", set())

    @staticmethod
    def _initial(toks: list[str], i: int) -> bool:
        return i == 0 or toks[i - 1] in _INITIAL_BEFORE

    @staticmethod
    def _coordinated(toks: list[str], i: int, forward: bool) -> list[int]:
        """Members of a list "X, Y and Z" around ``toks[i]``, in the direction the list runs.

        A list needs an "and"/"or": "Already, Apple's chief executive" is not one.
        """
        out: list[int] = []
        n = len(toks)
        step = 1 if forward else -1
        k = i
        joined = False
        while True:
            a = k + step
            if 0 <= a < n and toks[a] in (",", "and", "or"):
                b = a + step
                if 0 <= b < n and toks[b] == "and" and toks[a] == ",":
                    b += step
                    joined = True
                last = toks[a] != "," or b - a == 2 * step
                joined = joined or last
                if 0 <= b < n and toks[b][:1].isupper():
                    out.append(b)
                    k = b
                    if forward and last:
                        return out  # forward, the list ends with the member after its "and"
                    continue
            return out if joined else []

    @staticmethod
    def _org_cue(toks: list[str], low: list[str], i: int, j: int) -> str | None:
        """"left"/"right" when the words around toks[i..j] say it names an organisation."""
        n = len(toks)
        p1 = low[i - 1] if i >= 1 else ""
        p2 = low[i - 2] if i >= 2 else ""
        if p1 in lx.ORG_NOUNS and not (i >= 2 and toks[i - 2] in ("the", "The", "a", "A", "an", "An")
                                       and p1 in ("house", "service", "network")):
            return "left"
        if p1 in lx.LIST_INTRO and any(t in lx.ORG_NOUNS for t in low[max(0, i - 5):i - 1]):
            return "left"
        if p1 in ("for", "of", "at") and p2 in lx.ORG_ROLE_BEFORE:
            return "left"
        if (p2, p1) in lx.ORG_OBJECT_CUES or p1 in lx.ORG_OBJECT_VERBS:
            return "left"
        if p1 == "from" and (p2 in lx.PRODUCT_NOUNS or (i >= 3 and low[i - 3] in lx.PRODUCT_NOUNS)):
            return "left"  # "models from X", "equipment made from X" (not "from Monday")
        q1 = toks[j + 1] if j + 1 < n else ""
        q2 = low[j + 2] if j + 2 < n else ""
        if q1 == "'s" and q2 in lx.ORG_POSSESSED:
            return "right"
        if q1 == ",":
            if q2 == "which":
                return "right"
            if q2 in ("a", "an", "the") and not (i == j and (i == 0 or toks[i - 1] in _INITIAL_BEFORE)):
                # "Vexa, a Shenzhen-based maker" (not "Already, the company ..." at a sentence start)
                for t in low[j + 3:j + 10]:
                    if t in (",", ".", ";", ":"):
                        break
                    if t in lx.ORG_NOUNS:
                        return "right"
        return None

    @staticmethod
    def _speech_after(low: list[str], i: int, j: int) -> bool:
        n = len(low)
        q1 = low[j + 1] if j + 1 < n else ""
        if q1 in lx.SPEECH_VERBS:
            return True
        return j + 2 < n and (q1, low[j + 2]) in _SPEECH_PAIRS

    @staticmethod
    def _person_cue(toks: list[str], low: list[str], i: int, j: int) -> bool:
        """"said X Y," / "X Y, the company's chief ..." / "X Y, who ..." mark a person."""
        n = len(toks)
        if i >= 1 and toks[i - 1] in ("said", "says", "added", "according") and (j + 1 >= n or toks[j + 1] in (",", ".")):
            return True
        if j + 2 < n and toks[j + 1] == ",":
            for tl in low[j + 2:j + 6]:
                if tl in lx.PERSON_ROLES:
                    return True
                if tl in (",", ".", ";") or tl in lx.ORG_NOUNS:
                    return False
        return False

    def _classify(self, toks: list[str], i: int, j: int, found: dict[str, tuple[str, str, set[str]]],
                  absorb: int | None = None, text: str = "", low: list[str] | None = None) -> bool:
        """Classify the capitalised run toks[i..j]; records it in ``found`` and says whether it did."""
        if low is None:
            low = [t.lower() for t in toks]
        run = toks[i:j + 1]
        while run and (run[0] in _LEAD or run[0] in _CONNECTORS):
            run = run[1:]
            i += 1
        while run and (run[-1] in _CONNECTORS or run[-1] in _LEAD):
            run = run[:-1]
        if len(run) < 2 and not (absorb is not None and run):
            return False
        acro = None
        if j + 3 < len(toks) and toks[j + 1] == "(" and toks[j + 3] == ")" and _ACRONYM.match(toks[j + 2]):
            acro = toks[j + 2]
        typ = self._org_type(run, acro)
        if typ is not None and absorb is not None and i == absorb + 1 and typ == "company":
            run = [toks[absorb], *run]  # "Taiwan Semiconductor Manufacturing Co."
        elif typ is None and absorb is not None and len(run) < 2:
            return False
        if typ is None and "and" in run and not acro:
            # "Acacia Communications and Oclaro": try the parts
            k = run.index("and")
            done = self._classify(toks, i, i + k - 1, found, None, text, low)
            return self._classify(toks, i + k + 1, i + len(run) - 1, found, None, text, low) or done
        if typ is None:
            stripped = run
            run, typ = self._person(toks, i, run)
            if typ is None:
                run, typ = self._by_context(toks, low, i, i + len(stripped) - 1, stripped, text)
        if typ is None or not run:
            return False
        name = self._join(run)
        if name.lower() in self.known or name.lower() in lx.NEWS_OUTLETS:
            return False
        extra: set[str] = set()
        if acro and typ != "person":
            extra.add(acro)
        slug = _slug(name)
        if slug not in found:
            found[slug] = (name, typ, extra)
        else:
            found[slug][2].update(extra)
        return True

    def _by_context(self, toks: list[str], low: list[str], i: int, j: int, run: list[str],
                    text: str) -> tuple[list[str], str | None]:
        """A name without an organisational ending or a known given name, typed by the words around it."""
        titled = [k for k, t in enumerate(run) if t.lower() in _TITLES or t in ("Vice", "Prime")]
        if titled:  # "Vice President JD Vance": the name is what follows the title
            k = titled[-1] + 1
            run, i = run[k:], i + k
        while run and run[0] in lx.PLACES:  # "Ghana John Kufuor"
            run, i = run[1:], i + 1
        if not 2 <= len(run) <= 4 or run[0] in _STOP or run[0] in _GENERIC or run[-1] in lx.PLACES:
            return run, None
        if i and toks[i - 1] in ("'", "\u2019"):
            return run, None  # "Le'Veon Bell"
        # (loops rather than all() over generators: this runs for most capitalised runs of an article)
        for t in run:
            if t not in _CONNECTORS and not _NAME_TOKEN.match(t):
                return run, None
        for t in run:
            if t not in _STOP and t not in _GENERIC and t not in _CONNECTORS:
                break
        else:
            return run, None
        typ = None
        if self._person_cue(toks, low, i, j):
            typ = "person" if len(run) <= 3 and all(t.isalpha() or "-" in t for t in run) else "organization"
        elif self._org_cue(toks, low, i, j):
            typ = "company"
        elif self._speech_after(low, i, j):
            typ = "person" if run[0] in self.first_names else "organization"
        if typ is not None and f" {run[-1].lower()} " in text:
            return run, None  # "Texas Authorities said" in a text that also says "the authorities"
        return run, typ

    @staticmethod
    def _org_type(run: list[str], acro: str | None) -> str | None:
        last, first = run[-1], run[0]
        core = [t for t in run if t not in _CONNECTORS]
        if last in _COMPANY_END or last in _GOV_END or last in _ORG_END or first in _GOV_START or first in _ORG_START:
            if len(core) <= 3 and not acro and _GENERIC_OR_STOP.issuperset(core[:-1]):
                return None
            if last not in _COMPANY_END and not _GOV_WORDS.isdisjoint(core):
                return "government_body"
            if not _ORG_WORDS.isdisjoint(core):
                return "organization"
            if last in _COMPANY_END:
                return "company"
            return "government_body"
        if acro and len(core) >= 2 and all(t[:1].isupper() for t in core) and acro[0].upper() == core[0][0]:
            return "organization"
        return None

    def _person(self, toks: list[str], i: int, run: list[str]) -> tuple[list[str], str | None]:
        """A person: a known given name, or a name right after a title ("Minister Marco Mendicino")."""
        prev = toks[i - 1] if i > 0 else ""
        if prev == "." and i > 1:
            prev = toks[i - 2]
        titled = [k for k, t in enumerate(run) if t.lower() in _TITLES]
        if titled:
            k = titled[-1]
            rest = run[k + 1:]
            if rest and rest[0] in ("General", "Secretary", "Minister"):
                rest = rest[1:]
            run, prev = rest, "Mr"
        if len(run) not in (2, 3):
            return run, None
        for k, t in enumerate(run):
            if not (t.isalpha() and t[0].isupper() and (not t.isupper() or (k == 0 and len(t) == 2))):
                return run, None
        for t in run:
            if t in _STOP or t in _GENERIC:
                return run, None
        if run[0] in self.first_names or prev.lower() in _TITLES:
            return run, "person"
        return run, None

    @staticmethod
    def _join(run: list[str]) -> str:
        out = ""
        for t in run:
            out += t if (t in (",",) or not out) else " " + t
        return out

    @staticmethod
    def _count(text: str, name: str, typ: str, extra: set[str]) -> int:
        """Mentions: the full name, a person's surname alone, an organisation's defined acronym."""
        n = text.count(name)
        if typ == "person":
            n = max(n, text.count(name.rsplit(" ", 1)[-1]))
        for e in extra:
            n += text.count(f"{e} ") + text.count(f"{e}.") + text.count(f"{e},") + text.count(f"{e}'")
        return n
