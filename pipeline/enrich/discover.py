"""Entities the gazetteer does not know: organisations and people named in the text.

Rule-based and precision-first: a run of capitalised words counts as an organisation only when
it ends in an organisational word ("... Technologies", "... Ministry", "... Inc.") or is defined
with an acronym ("National Institute of Standards and Technology (NIST)"); as a person only when
it starts with a known given name or follows a title ("Sen.", "spokesperson", "Judge"). Runs
that overlap a gazetteer match, start a sentence with a function word, or consist of generic
words only ("The Company", "Federal Agency") are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from importlib import resources

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
    "researcher official economist Officer head Senior Counsel Lawmaker chief manager".split()
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
    Internet Android iOS Apple Google Microsoft Amazon Meta Facebook Samsung Nvidia Intel Qualcomm Windows Mac
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


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


class Discoverer:
    def __init__(self, first_names: frozenset[str], known_names: Iterable[str]) -> None:
        self.first_names = first_names
        self.known = frozenset(n.lower() for n in known_names)

    def find(self, text: str, toks: list[str], covered: list[bool],
             places: frozenset[int] = frozenset()) -> tuple[list[EntityHit], list[int]]:
        """Discovered organisations and people, and the ``places`` tokens they absorbed.

        ``covered[i]`` marks tokens inside gazetteer matches; ``places`` are single-token country
        matches that may start a company name ("Taiwan Semiconductor Manufacturing Co.").
        """
        absorbed: list[int] = []
        found: dict[str, tuple[str, str, set[str]]] = {}  # slug -> (name, type, extra surface forms)
        caps = [i for i, t in enumerate(toks) if t[0].isupper() and not covered[i]]
        k = 0
        while k < len(caps):
            i = j = caps[k]
            k += 1
            while k < len(caps):
                nxt = caps[k]
                if nxt == j + 1 or (nxt == j + 2 and toks[j + 1] in _CONNECTORS and not covered[j + 1]):
                    j = nxt
                    k += 1
                else:
                    break
            before = i - 1 if i - 1 in places else None
            if j > i or before is not None:
                if self._classify(toks, i, j, found, before) and before is not None:
                    name = next(reversed(found.values()))[0]
                    if name.split(" ", 1)[0] == toks[before]:
                        absorbed.append(before)
        hits: list[EntityHit] = []
        for slug, (name, typ, extra) in found.items():
            mentions = self._count(text, name, typ, extra)
            hits.append(EntityHit(key=f"discovered:{slug}", name=name, type=typ, country=None,
                                  origin="discovered", mentions=max(1, mentions), parent_key=None))
        hits.sort(key=lambda h: (-h.mentions, h.key))
        return hits, absorbed

    def _classify(self, toks: list[str], i: int, j: int, found: dict[str, tuple[str, str, set[str]]],
                  absorb: int | None = None) -> bool:
        """Classify the capitalised run toks[i..j]; records it in ``found`` and says whether it did."""
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
            done = self._classify(toks, i, i + k - 1, found)
            return self._classify(toks, i + k + 1, i + len(run) - 1, found) or done
        if typ is None:
            run, typ = self._person(toks, i, run)
        if typ is None or not run:
            return False
        name = self._join(run)
        if name.lower() in self.known:
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

    @staticmethod
    def _org_type(run: list[str], acro: str | None) -> str | None:
        last, first = run[-1], run[0]
        core = [t for t in run if t not in _CONNECTORS]
        if last in _COMPANY_END or last in _GOV_END or last in _ORG_END or first in _GOV_START or first in _ORG_START:
            generic = all(t in _GENERIC or t in _STOP for t in core[:-1])
            if generic and len(core) <= 3 and not acro:
                return None
            if any(t in _GOV_END or t in _GOV_START for t in core) and last not in _COMPANY_END:
                return "government_body"
            if any(t in _ORG_END or t in _ORG_START for t in core):
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
        if len(run) not in (2, 3) or not all(t.isalpha() and t[0].isupper() and not t.isupper() for t in run):
            return run, None
        if any(t in _STOP or t in _GENERIC for t in run):
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
