"""Incremental clustering of articles into events and developing stories, and story timelines.

Each relevant, non-duplicate article is placed on arrival: candidate events come from an inverted
index (``cluster_postings``: an event's prominent terms and entities, with the day of its latest
article), so a lookup reads only the postings of clusters active in its time window. The best
candidate by TF-IDF cosine (IDF from ``term_stats``, kept up to date as articles arrive) wins if it
clears a threshold that rises with the time since the event, the more so when the article states
another action (a headline verb of another kind, a later action day) and not at all when it cites
the event's day (see ``StoryTracker._required``); otherwise the article opens an event, which joins the most similar story the same way or opens one. When an article is close to
two events at once they are the same development: the younger merges into the older, and the merge
is recorded in ``event_merges``. Event and story ids never change.
"""

from __future__ import annotations

import json
import logging
import math
import re
import sqlite3
import unicodedata
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType
from typing import Any, Protocol
from urllib.parse import urlsplit

from sqlalchemy import Text, bindparam, cast, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, make_transient_to_detached

from pipeline.store import core
from pipeline.store.base import utcnow
from pipeline.store.index_models import ClusterPostingRow, TermStatRow, upsert
from pipeline.store.models import ArticleDateRow, ArticleRow, EventMergeRow, EventRow, StoryRow

log = logging.getLogger(__name__)

EPOCH = date(1970, 1, 1)
DOC_COUNT_KEY = ""  # term_stats row holding the number of documents
# Postings carry the first day of the week of a cluster's latest article: fine enough to bound a
# lookup to a time horizon, coarse enough that most articles joining a cluster rewrite nothing.
POSTING_DAY_STEP = 7
TITLE_CACHE_SIZE = 20_000  # headlines whose content words a tracker keeps
_NORM = "_norm"  # L2 norm of "v", kept in cached (read-only) profiles only, never stored
_ENTITIES = "_ents"  # the entity terms of "v" and their norm, likewise
PROFILE_CACHE_SIZE = 256  # clusters whose decoded profile a tracker keeps (~75 kB each: ~20 MB at most)

# ---------------------------------------------------------------------------------------------
# Text features

STOPWORDS = frozenset("""
a about above according across after afterwards again against ago all almost alone along already also although
always am among amongst an and another any anyone anything anyway are around as at back be became because become
becomes been before beforehand behind being below beside besides between beyond both but by can cannot could did do
does doing done down during each eg either else elsewhere enough etc even ever every everyone everything except few
first for former formerly from further get gets got had has have having he her here hereafter hereby herein hers
herself him himself his how however i ie if in inc including indeed into is it its itself just last later latter least
less let like likely ltd made make many may me meanwhile might more moreover most mostly much must my myself namely
neither never nevertheless new next no nobody none nor not nothing now nowhere of off often on once one only onto or
other others otherwise our ours ourselves out over own per perhaps please put rather re really said same say saying
says see seem seemed seems several she should since so some somehow someone something sometime sometimes somewhere
still such than that the their theirs them themselves then there thereafter thereby therefore therein these they this
those though through throughout thus to together too toward towards under until up upon us use used using very via was
we well were what whatever when whence whenever where whereas whereby wherever whether which while who whoever whole
whom whose why will with within without would yet you your yours yourself yourselves mr mrs ms told tell year years
week weeks day days today yesterday tomorrow monday tuesday wednesday thursday friday saturday sunday time times way
two three four five six seven eight nine ten people percent news reported report reports reporting article
photo image video caption advertisement read click share continue subscribe newsletter follow twitter facebook
copyright rights reserved getty images ap reuters afp editor editing reporting writing
""".split())
_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)


def _stem(word: str) -> str:
    """A deliberately light suffix stripper: folds plurals and possessives, nothing clever."""
    if word.endswith(("'s", "’s")):
        word = word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is", "os")):
        return word[:-1]
    return word


def _content_word(raw: str) -> str:
    """The stem ``tokens`` keeps for a case-folded word, or "" when it drops the word."""
    if len(raw) < 2 or raw in STOPWORDS:
        return ""
    if raw.isdigit() and not (len(raw) == 4 and raw[:2] in ("19", "20")):
        return ""
    stem = _stem(raw)
    return stem if stem and stem not in STOPWORDS else ""


_WORD_CACHE_SIZE = 50_000  # words whose stem ``tokens`` remembers (words up to 40 characters)
_WORD_STEMS: dict[str, str] = {}


def tokens(text: str) -> list[str]:
    """Content words of a text: case-folded, stop words and bare numbers dropped, lightly stemmed.
    Each word's outcome is remembered: a few thousand words make up most of the news, and one
    dict lookup per word costs a third of the checks and stemming it stands for."""
    out = []
    stems = _WORD_STEMS
    for raw in _TOKEN.findall(unicodedata.normalize("NFKC", text).casefold()):
        stem = stems.get(raw)
        if stem is None:
            stem = _content_word(raw)
            if len(raw) <= 40:
                if len(stems) >= _WORD_CACHE_SIZE:
                    stems.clear()  # bounded; refilled by the words still in use
                stems[raw] = stem
        if stem:
            out.append(stem)
    return out


_SITE_SUFFIX = re.compile(r"\s+[|\-–—:]\s+[^|\-–—:]{2,40}$")


def clean_headline(title: str) -> str:
    """A headline without the trailing ' | Outlet' or ' - Outlet' that sites append."""
    title = " ".join((title or "").split())
    stripped = _SITE_SUFFIX.sub("", title)
    return stripped if len(stripped) >= 20 else title


# What a headline says was done, as a small set of action kinds. Different outlets word one
# action differently ("bans", "bars", "prohibits"), so the kinds are coarse; a headline stating a
# kind its event's headlines never state reports another development (a ban, then sanctions; a
# proposed rule, then the final one). Verb forms only: the bare noun ("the ban") names the story,
# not an action. Headlines outside policy news rarely state any, and then nothing is concluded.
_ACTIONS: tuple[tuple[str, str], ...] = (
    ("ban", r"bans|banned|banning|bars|barred|barring|prohibits|prohibited|outlaws|outlawed"),
    ("sanction", r"sanctions|sanctioned|sanctioning|imposes sanctions|hit with sanctions"),
    ("list", r"blacklists|blacklisted|adds|added|adding|designates|designated|puts .{0,40} on"),
    ("unlist", r"delists|delisted|removes? from|removed from|takes? off"),
    ("sue", r"sues|sued|suing|files suit|takes .{0,40} to court|challenges? .{0,40} in (?:\w+ )?court"),
    ("ruling", r"rules|ruled|upholds|upheld|strikes down|struck down|blocks|blocked|overturns|overturned|"
               r"sides with|backs law|loses bid|dismisses|dismissed|enjoins|refuses to halt|refused to halt"),
    ("propose", r"proposes|proposed|plans to|moves to|seeks to"),
    ("finalize", r"finalizes|finalises|finalized|finalised|locks in|final rule"),
    ("sign", r"signs|signed|becomes law|enacts|enacted|passes|passed"),
    ("revoke", r"revokes|revoked|cancels|cancelled|canceled|withdraws|withdrew"),
    ("lift", r"lifts|lifted|eases|eased|resumes|resumed|reinstates|reinstated"),
    ("delay", r"delays|delayed|delaying|postpones|postponed|extends|extended|reprieve|pauses|paused|"
              r"push(?:es|ed)? back"),
    ("reject", r"rejects|rejected|denies|denied|refuses|refused"),
    ("effect", r"takes effect|took effect|goes into effect|went into effect|comes into force|in force|"
               r"kicks in|goes dark|went dark"),
    ("exit", r"shuts? down|shutting down|winds? down|exits|exited|lays off|laid off|layoffs|closes|closing"),
    ("settle", r"settles|settled|agrees to pay|fined|fines|pays? .{0,20}fine"),
    ("replace", r"replaces|replaced|swaps|swapped"),
    ("charge", r"charges|charged|indicts|indicted|arrests|arrested|convicts|convicted|sentences|sentenced"),
)
_ACTION_RX = re.compile("|".join(f"(?P<{kind}>\\b(?:{rx})\\b)" for kind, rx in _ACTIONS), re.I)


def headline_actions(title: str) -> frozenset[str]:
    """The action kinds a headline states (see _ACTIONS)."""
    return frozenset(m.lastgroup for m in _ACTION_RX.finditer(title or "") if m.lastgroup)


class EntityLike(Protocol):
    key: str
    mentions: int


class DateLike(Protocol):
    date: date
    precision: str
    role: str
    snippet: str


@dataclass(slots=True)
class ArticleFeatures:
    """What clustering needs from one article."""

    vector: dict[str, float]  # L2-normalised TF-IDF weights of its top terms
    when: datetime  # publication time (first-seen time when unknown)
    arrived: datetime  # when the pipeline saw it (drives dormancy)
    title: str
    outlet: str
    # day-precision dates the article states: those of past actions (announced, ruled, filed), all
    # but deadlines and effective dates (which later developments repeat), and those terms alone
    action_days: frozenset[date] = frozenset()
    cited_days: frozenset[date] = frozenset()
    term_days: frozenset[date] = frozenset()
    kinds: frozenset[str] = frozenset()  # headline_actions(title)
    # terms too common to find candidates by (see StoryTracker.common_key_share)
    common: frozenset[str] = frozenset()


PAST_ROLES = frozenset({"announcement", "court_ruling", "filing"})
FUTURE_ROLES = frozenset({"effective_date", "compliance_deadline", "extension"})
EVENT_DAYS_KEPT = 40  # an event's own days remembered in its profile ("days"), newest kept


def stated_days(dates: Iterable[DateLike]) -> tuple[frozenset[date], frozenset[date], frozenset[date]]:
    """(action days, cited days, term days) of an article's typed dates; see ArticleFeatures."""
    actions, cited, terms = set(), set(), set()
    for d in dates:
        day, role = getattr(d, "date", None), getattr(d, "role", None)
        if day is None or getattr(d, "precision", "day") != "day":
            continue
        if role in FUTURE_ROLES:
            terms.add(day)
            continue
        cited.add(day)
        if role in PAST_ROLES:
            actions.add(day)
    return frozenset(actions), frozenset(cited), frozenset(terms)


def outlet_of(article: ArticleRow) -> str:
    if article.site_name:
        return article.site_name.strip().casefold()
    host = (urlsplit(article.canonical_url or article.url or "").hostname or "").casefold()
    return host.removeprefix("www.")


def _day(when: datetime) -> int:
    return (when.date() - EPOCH).days


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _norm(vec: dict[str, float]) -> float:
    return math.sqrt(sum(w * w for w in vec.values())) or 1.0


def _dot(a: dict[str, float], b: dict[str, float]) -> float:
    """Over the shared terms only, walking the smaller vector (no set built, one lookup per shared
    term); ``fsum`` is exact and products commute, so the result does not depend on the order the
    terms come in."""
    if len(a) > len(b):
        a, b = b, a
    return math.fsum([w * b[t] for t, w in a.items() if t in b])


def cosine(a: dict[str, float], b: dict[str, float]) -> float:
    return _dot(a, b) / (_norm(a) * _norm(b))


def _top(vec: dict[str, float], n: int) -> dict[str, float]:
    """The ``n`` heaviest terms, heaviest first, ties in term order. Two stable sorts with C-level
    keys (term, then weight) give that order twice as fast as one sort on (-weight, term)."""
    if len(vec) <= n:
        return vec
    terms = sorted(vec)
    terms.sort(key=vec.__getitem__, reverse=True)
    return {t: vec[t] for t in terms[:n]}


def _days_union(days: Iterable[str] | None, more: Iterable[str]) -> list[str]:
    """ISO days of an event profile, sorted, the newest EVENT_DAYS_KEPT kept (bounded profiles)."""
    return sorted(set(days or ()) | set(more))[-EVENT_DAYS_KEPT:]


def _add(into: dict[str, float], vec: dict[str, float], scale: float = 1.0) -> None:
    for t, w in vec.items():
        into[t] = into.get(t, 0.0) + w * scale


# ---------------------------------------------------------------------------------------------
# Timeline / summary types


@dataclass(slots=True)
class TimelineDate:
    date: date
    precision: str
    role: str
    snippet: str | None
    article_id: int


@dataclass(slots=True)
class TimelineLink:
    article_id: int
    url: str
    title: str | None
    outlet: str
    published_at: datetime | None


@dataclass(slots=True)
class TimelineEvent:
    event_id: int
    title: str
    occurred_on: date | None
    first_seen_at: datetime
    last_updated_at: datetime
    article_count: int
    outlet_count: int
    dates: list[TimelineDate] = field(default_factory=list)
    links: list[TimelineLink] = field(default_factory=list)


@dataclass(slots=True)
class StoryTimeline:
    story_id: int
    title: str
    status: str
    first_seen_at: datetime
    last_updated_at: datetime
    events: list[TimelineEvent] = field(default_factory=list)


@dataclass(slots=True)
class StorySummary:
    story_id: int
    title: str
    status: str
    first_seen_at: datetime
    last_updated_at: datetime
    event_count: int
    article_count: int
    latest_event_title: str | None


# ---------------------------------------------------------------------------------------------
# The tracker


_POSTINGS_QUERIES: dict[int, Any] = {}


def _profiles_query(table: Any) -> Any:
    """Candidates' ids and profiles (``:ids``, not merged away), built once. The profile is read as
    JSON text (CAST in SQL) and decoded once per version here: psycopg would otherwise decode every
    candidate's JSON itself on every lookup, and the decoded-profile cache would never serve."""
    c = table.c
    return (select(c.id, cast(c.profile, Text))
            .where(c.id.in_(bindparam("ids", expanding=True)), c.merged_into.is_(None)))


def _row_query(table: Any, *, lock: bool = False) -> Any:
    """One cluster's columns by ``:id``, the profile as JSON text (see _profiles_query), built once."""
    cols = [c for c in table.c if c.key != "profile"] + [cast(table.c.profile, Text).label("profile")]
    stmt = select(*cols).where(table.c.id == bindparam("id"))
    return stmt.with_for_update() if lock else stmt


_EVENT_LOCKED = _row_query(EventRow.__table__, lock=True)
_STORY_ROW = _row_query(StoryRow.__table__)
_ARTICLE_EVENT = select(ArticleRow.__table__.c.event_id).where(ArticleRow.__table__.c.id == bindparam("id"))
_EVENT_PROFILES = _profiles_query(EventRow.__table__)
_STORY_PROFILES = _profiles_query(StoryRow.__table__)
# Count an article into term_stats and read back the counts (see StoryTracker._document_frequencies).
_COUNT_TERMS: dict[str, Any] = {
    "docs": text("INSERT INTO term_stats (term, df) VALUES ('', 1) "
                 "ON CONFLICT (term) DO UPDATE SET df = term_stats.df + 1 RETURNING df"),
    "postgresql": text("INSERT INTO term_stats (term, df) SELECT t, 1 FROM unnest(CAST(:terms AS text[])) AS t "
                       "ORDER BY t ON CONFLICT (term) DO UPDATE SET df = term_stats.df + 1 RETURNING term, df"),
}
if sqlite3.sqlite_version_info >= (3, 35):  # RETURNING
    _COUNT_TERMS["sqlite"] = text(
        "INSERT INTO term_stats (term, df) SELECT value, 1 FROM json_each(:terms) WHERE true "
        "ON CONFLICT (term) DO UPDATE SET df = term_stats.df + 1 RETURNING term, df")


def _postings_query(n_keys: int) -> Any:
    """The newest ``:cap`` postings of each of ``:k0`` .. ``:k<n-1>`` (kind ``:kind``, last day at
    least ``:lo``): one statement, each branch an index range read backwards with a limit.
    Plain SQL that SQLite and PostgreSQL share, built once per key count, so executing it
    compiles nothing."""
    stmt = _POSTINGS_QUERIES.get(n_keys)
    if stmt is None:
        branch = ('SELECT * FROM (SELECT cluster_id, "key" FROM cluster_postings WHERE kind = :kind '
                  'AND "key" = :k{i} AND last_day >= :lo ORDER BY last_day DESC LIMIT :cap) AS p{i}')
        stmt = _POSTINGS_QUERIES[n_keys] = text(" UNION ALL ".join(branch.format(i=i) for i in range(n_keys)))
    return stmt


_POST_STATEMENTS: dict[str, Any] = {}


def _post_statement(dialect: str) -> Any:
    """Upsert of postings keeping the later day (executemany), built once per dialect: building
    the statement cost more than running it."""
    stmt = _POST_STATEMENTS.get(dialect)
    if stmt is None:
        table = ClusterPostingRow.__table__
        ins = (sqlite_insert if dialect == "sqlite" else pg_insert)(table)
        greatest = func.max if dialect == "sqlite" else func.greatest
        stmt = _POST_STATEMENTS[dialect] = ins.on_conflict_do_update(
            index_elements=["kind", "key", "cluster_id"],
            set_={"last_day": greatest(ins.excluded.last_day, table.c.last_day)})
    return stmt


@dataclass(slots=True)
class _EventView:
    """What scoring reads of a candidate event; the row itself is loaded only if it is chosen."""

    id: int
    profile: dict[str, Any]


@dataclass(slots=True)
class _Candidate:
    row: Any  # _EventView
    score: float
    gap_days: float


# ``event_grouping = "general"``: later reports join at the lenient threshold even when they state
# another action. Kept for compatibility; the defaults now hold on general news as well.
GENERAL_NEWS: Mapping[str, float] = MappingProxyType({"event_threshold": 0.14, "far_event_threshold": 0.22})


class StoryTracker:
    """Places articles into events and events into stories, one article at a time.

    An event is one development, however many outlets report it and however late: a report days
    or weeks on still joins, but an article that states another action (a ban, then sanctions the
    next day; a proposed rule, then the final one) opens an event of its own in the same story.

    Thresholds are cosine similarities of TF-IDF vectors. ``event_threshold`` applies within
    ``event_window_days`` of an event's articles (``action_margin`` more for each sign of another
    action: a headline action of another kind, a later action day); past the window the threshold
    grows by ``threshold_growth`` per doubling of the gap, up to ``follow_up_threshold`` for a
    later report of the same action or ``far_event_threshold`` for an article stating another
    action, up to ``candidate_horizon_days`` away. A headline nearly the same as a member's
    (``headline_match``, Jaccard of content words) is the same report whenever it comes. Stories
    are looked up among those active in the last ``story_horizon_days``, so a dormant story can be
    woken by a new event; an event joins a story on shared vocabulary (``story_threshold``) or on
    shared protagonists (``story_entity_threshold``, cosine of the entity features alone).
    ``linkage="average"`` scores by mean member similarity instead of the centroid, and
    ``window_anchor="start"`` measures the window from an event's first report; both are kept for
    experiments (benchmarks/stories.py ``--set``), the defaults measured best. ``min_coherence``
    keeps a centroid whose members have little in common from matching every article of the
    domain (``_centroid_norm``).
    """

    def __init__(
        self,
        *,
        event_window_days: float = 3,
        story_dormant_after: float = 14 * 86400,
        event_threshold: float = 0.14,
        far_event_threshold: float = 0.70,
        follow_up_threshold: float = 0.22,
        threshold_growth: float = 0.08,
        action_margin: float = 0.1,
        headline_match: float = 0.6,
        merge_threshold: float = 0.20,
        story_threshold: float = 0.18,
        story_entity_threshold: float = 0.6,
        candidate_horizon_days: float = 365,
        story_horizon_days: float = 365,
        title_weight: float = 8.0,
        entity_weight: float = 1.0,
        date_weight: float = 0.0,
        vector_terms: int = 300,
        profile_terms: int = 400,
        posting_terms: int = 30,
        query_terms: int = 25,
        max_candidates: int = 10,
        postings_per_key: int = 32,
        common_key_share: float = 0.5,
        common_key_min_docs: int = 1000,
        linkage: str = "centroid",
        window_anchor: str = "last",
        min_coherence: float = 0.2,
    ) -> None:
        self.linkage = linkage
        self.min_coherence = min_coherence
        self.window_anchor = window_anchor
        self.event_window = timedelta(days=event_window_days)
        self.story_dormant_after = timedelta(seconds=story_dormant_after)
        self.event_threshold = event_threshold
        self.far_event_threshold = far_event_threshold
        self.follow_up_threshold = follow_up_threshold
        self.threshold_growth = threshold_growth
        self.action_margin = action_margin
        self.headline_match = headline_match
        self.merge_threshold = merge_threshold
        self.story_threshold = story_threshold
        self.story_entity_threshold = story_entity_threshold
        self.candidate_horizon = timedelta(days=candidate_horizon_days)
        self.story_horizon = timedelta(days=story_horizon_days)
        self.title_weight = title_weight
        self.entity_weight = entity_weight
        self.date_weight = date_weight
        self.vector_terms = vector_terms
        self.profile_terms = profile_terms
        self.posting_terms = posting_terms
        self.query_terms = query_terms
        # Candidates whose profiles are read, decoded and scored, best first by the keys they share.
        # Each is a profile decoded (rarely cached once the database holds many more clusters than
        # the profile cache) and a cosine: at 30, about 40% of placing an article at 10,000 stored
        # (generated web). The event chosen or merged is almost always among the first few: real
        # news never had more than 9 candidates (chosen: the first in 116 of 117 joins); on the
        # generated web 287 of 304 joins were among the first 10, and 14 of the other 17 wrong.
        self.max_candidates = max_candidates
        # Postings read per key, the newest: the read that grew with the database, as more of the
        # article's keys came to be shared by that many clusters (at 64: 800 rows an article at
        # 10,000 stored, 1,600 at 30,000, each a table row read through the index, and still growing).
        # At 32, at most 800 a lookup, reached by about 30,000 stored, flat after that; a key past
        # that is "common" (ties and fill-ins only), and an older cluster sharing it is still found
        # through rarer keys. 16 was as fast again but finds a late follow-up of an old event only
        # through keys fewer than 16 newer clusters share: no data here measures that case, so the
        # margin is kept.
        self.postings_per_key = postings_per_key
        self.common_key_share = common_key_share
        self.common_key_min_docs = common_key_min_docs
        # content words of recent headlines: each article placed re-ranks its event's titles
        self._title_words: dict[str, frozenset[str]] = {}
        # decoded profiles of candidate clusters, least recently used first (read only: never handed
        # to the ORM); (kind, id) -> ((length, hash) of the JSON text decoded, profile)
        self._profiles: OrderedDict[tuple[str, int], tuple[tuple[int, int], dict[str, Any]]] = OrderedDict()

    def _title_word_set(self, title: str) -> frozenset[str]:
        words = self._title_words.get(title)
        if words is None:
            if len(self._title_words) >= TITLE_CACHE_SIZE:
                self._title_words.clear()  # bounded; refilled by the events still active
            words = self._title_words[title] = frozenset(tokens(title))
        return words

    def _load(self, session: Session, model: Any, kind: str, cluster_id: int, stmt: Any, **get: Any) -> Any:
        """``session.get(model, cluster_id, **get)``, cheaper when the row is not in the session yet
        (a new session per article, in the pipeline): the row is read by a Core statement (locked
        like ``get`` would, when ``stmt`` locks) and its profile decoded through the cache, instead
        of the ORM loading it and decoding its JSON (~75 kB) once more. The object is then attached
        as persistent with those values loaded, exactly what ``get`` would have produced."""
        if session.identity_key(model, cluster_id) in session.identity_map:
            return session.get(model, cluster_id, **get)
        row = core.execute(session, stmt, {"id": cluster_id}).first()
        if row is None:
            return None
        values = row._asdict()
        raw = values.pop("profile")
        profile = None  # SQL NULL, or JSON null (the ORM's None), as the ORM would load them
        if raw is not None and raw != "null":  # a copy without the cache's derived entries: the ORM owns it
            cached = self._decoded(kind, cluster_id, raw)
            profile = {k: v for k, v in cached.items() if k != _NORM and k != _ENTITIES}
        obj = model(**values, profile=profile)
        make_transient_to_detached(obj)
        session.add(obj)
        return obj

    # -- features ------------------------------------------------------------------------------

    def features(self, session: Session, article: ArticleRow, entities: Sequence[EntityLike],
                 now: datetime | None = None, dates: Sequence[DateLike] = ()) -> ArticleFeatures:
        """TF-IDF vector of the article; also counts its terms into ``term_stats``.

        Entities (``@key``) and stated dates with their role (``#2024-09-29/effective_date``)
        are features next to the words: reports of one development name the same actors and dates.
        """
        counts: Counter[str] = Counter(tokens(article.text or ""))
        for t in tokens(clean_headline(article.title or "")):
            counts[t] += self.title_weight
        for hit in entities:
            key = getattr(hit, "key", None)
            if key:
                counts["@" + str(key)[:150]] += self.entity_weight * max(1, int(getattr(hit, "mentions", 1) or 1))
        for d in dates:
            when_, role = getattr(d, "date", None), getattr(d, "role", None)
            if when_ is not None and self.date_weight > 0:
                counts[f"#{when_.isoformat()}/{role or 'other'}"] += self.date_weight
        counts = Counter({t[:160]: c for t, c in counts.items()})
        df, n_docs = self._document_frequencies(session, sorted(counts))
        vec = {t: (1.0 + math.log(c)) * (math.log((n_docs + 1) / (df.get(t, 0) + 1)) + 1.0)
               for t, c in counts.items() if c > 0}
        vec = _top(vec, self.vector_terms)
        norm = _norm(vec)
        vec = {t: w / norm for t, w in vec.items()}
        arrived = _aware(article.first_seen_at) or _aware(now) or utcnow()
        when = _aware(article.published_at) or arrived
        actions, cited, terms = stated_days(dates)
        title = clean_headline(article.title or "")
        common: frozenset[str] = frozenset()
        if n_docs >= self.common_key_min_docs:
            most = self.common_key_share * n_docs
            common = frozenset(t for t in vec if df.get(t, 0) > most)
        return ArticleFeatures(vec, when, arrived, title, outlet_of(article), actions, cited, terms,
                               headline_actions(title), common)

    def _document_frequencies(self, session: Session, terms: list[str]) -> tuple[dict[str, int], int]:
        """Read the document frequencies of ``terms`` (before this article), then count it in.

        Where the database can (PostgreSQL; SQLite 3.35+), reading and counting are one upsert per
        kind of row that returns the counts it wrote: two statements whatever the number of terms.
        """
        query = _COUNT_TERMS.get(session.get_bind().dialect.name)
        if query is not None and terms:
            # the document count first: every writer locks that row before any term (in sorted
            # order), so writers counting overlapping terms at once cannot deadlock
            n_docs = int(core.execute(session, _COUNT_TERMS["docs"]).scalar_one()) - 1
            arg = json.dumps(terms) if session.get_bind().dialect.name == "sqlite" else terms
            # all rows at once: iterating the result fetched them one driver call per row
            df = {t: int(c) - 1 for t, c in core.execute(session, query, {"terms": arg}).all()}
            return df, n_docs
        df: dict[str, int] = {}
        for i in range(0, len(terms), 500):
            chunk = terms[i:i + 500]
            df.update(session.execute(select(TermStatRow.term, TermStatRow.df)
                                      .where(TermStatRow.term.in_(chunk + [DOC_COUNT_KEY]))).all())
        n_docs = df.pop(DOC_COUNT_KEY, 0)
        # The document count first: every writer locks that row before any term, so the order in
        # which one statement updates the known terms cannot deadlock. Known terms take one UPDATE
        # (a row-by-row upsert of a few hundred terms was the costliest write of clustering); only
        # new terms are upserted (another writer may add them meanwhile).
        bump = {"df": lambda ex, c: c.df + 1}
        upsert(session, TermStatRow.__table__, [{"term": DOC_COUNT_KEY, "df": 1}], ["term"], bump)
        known = [t for t in terms if t in df]
        for i in range(0, len(known), 500):
            session.execute(update(TermStatRow).where(TermStatRow.term.in_(known[i:i + 500]))
                            .values(df=TermStatRow.df + 1).execution_options(synchronize_session=False))
        rows = [{"term": t, "df": 1} for t in terms if t not in df]  # sorted: one lock order for all
        for i in range(0, len(rows), 500):
            upsert(session, TermStatRow.__table__, rows[i:i + 500], ["term"], bump)
        return df, n_docs

    # -- candidates ----------------------------------------------------------------------------

    def _candidate_ids(self, session: Session, kind: str, feats: ArticleFeatures, horizon: timedelta) -> list[int]:
        """Clusters sharing the article's heaviest keys, best first by the summed weight of the keys
        they share, read from the index at a cost that does not grow with the database.

        Keys as common as stop words (``common_key_share`` of the documents, once there are
        ``common_key_min_docs``) are skipped unless nothing else is left: they name half the
        news and their posting lists grow with it. Each key reads at most ``postings_per_key`` of
        its postings, those of the clusters updated last (the index on ``(kind, key, last_day)``
        walked backwards), so a frequent key costs a bounded read and an old cluster is still
        found, and ranked first, through its rarer keys.
        """
        vec = feats.vector
        ranked = sorted(vec)  # heaviest first, ties in term order (two stable sorts, as in _top)
        ranked.sort(key=vec.__getitem__, reverse=True)
        keys = [t for t in ranked if t not in feats.common][:self.query_terms] or ranked[:self.query_terms]
        if not keys:
            return []
        lo = _day(feats.when - horizon) - POSTING_DAY_STEP
        params: dict[str, Any] = {f"k{i}": k for i, k in enumerate(keys)}
        params.update(kind=kind, lo=lo, cap=self.postings_per_key)
        rows = core.execute(session, _postings_query(len(keys)), params).all()
        read = Counter(key for _, key in rows)
        # a key that filled its quota is shared by more clusters than were read: weak evidence, and
        # one-sided (its older clusters were not read), so it only orders clusters that tie on the
        # keys read in full; otherwise its many recent clusters would crowd out an older one that
        # shares the article's rarer keys
        rare: dict[int, float] = {}
        common: dict[int, float] = {}
        for cid, key in rows:
            into = common if read[key] >= self.postings_per_key else rare
            into[cid] = into.get(cid, 0.0) + vec[key]
        return sorted(rare.keys() | common.keys(),
                      key=lambda c: (-rare.get(c, 0.0), -common.get(c, 0.0), -c))[:self.max_candidates]

    def _post(self, session: Session, kind: str, cluster_id: int, prof: dict[str, Any], *,
              force: bool = False) -> dict[str, Any]:
        """Post the cluster's top terms with the week of its latest article; returns the new profile.

        The profile remembers what was posted, so only new keys (or all, when the week moved on)
        are written: most articles that join an event change neither. A new dict is returned
        because the ORM would not notice changes made in place to a profile it has flushed.
        """
        prof = dict(prof)
        day = _day(datetime.fromisoformat(prof["t1"]))
        day -= day % POSTING_DAY_STEP
        keys = sorted(_top(prof["v"], self.posting_terms))
        same_day = prof.get("pd") == day and not force
        posted = set(prof.get("pk") or []) if same_day else set()
        todo = [k for k in keys if k not in posted]
        prof["pd"] = day
        prof["pk"] = sorted(set(keys) | posted)
        if todo:
            rows = [{"kind": kind, "key": t, "cluster_id": cluster_id, "last_day": day} for t in todo]
            # no autoflush: the caller is about to replace the profile with the one returned, and
            # flushing the one it holds now would encode and write the profile twice per article
            with session.no_autoflush:
                core.execute(session, _post_statement(session.get_bind().dialect.name), rows)
        return prof

    def _gap_days(self, profile: dict[str, Any], when: datetime) -> float:
        """Days between the article and the event: from its first report (so a chain of daily
        follow-ups does not stretch one event over weeks) or from its latest article."""
        t0 = datetime.fromisoformat(profile["t0"])
        t1 = t0 if self.window_anchor == "start" else datetime.fromisoformat(profile["t1"])
        gap = max(timedelta(0), when - t1, t0 - when)
        return gap.total_seconds() / 86400

    def _score_events(self, session: Session, feats: ArticleFeatures) -> list[_Candidate]:
        ids = self._candidate_ids(session, "event", feats, self.candidate_horizon)
        if not ids:
            return []
        out = []
        norm = _norm(feats.vector)
        for ev_id, raw in core.execute(session, _EVENT_PROFILES, {"ids": ids}):
            prof = self._decoded("event", ev_id, raw)
            if not prof.get("v"):
                continue
            if self.linkage == "centroid":  # cosine with both norms known
                score = _dot(feats.vector, prof["v"]) / (norm * self._centroid_norm(prof))
            else:
                score = self._similarity(feats.vector, 1, prof["v"], int(prof.get("n") or 1))
            out.append(_Candidate(_EventView(ev_id, prof), score, self._gap_days(prof, feats.when)))
        out.sort(key=lambda c: (-c.score, c.row.id))
        return out

    def _decoded(self, kind: str, cluster_id: int, raw: Any) -> dict[str, Any]:
        """A candidate's profile, decoded once per version: most candidates of an article were
        candidates of the previous ones too, unchanged, and decoding their JSON was the cost that
        grew with the database. One entry per cluster, checked against the text (its length and
        hash), so never stale: keyed by the text, every article joining an event left the event's
        previous version behind, and the cache filled with dead versions (~75 kB each) until it was
        cleared. Least recently used clusters go first once PROFILE_CACHE_SIZE are held.
        The dict returned is read only (it may carry derived ``_norm``/``_ents`` entries)."""
        if not isinstance(raw, str):  # a driver that decodes JSON itself (psycopg)
            return raw or {}
        key, version = (kind, cluster_id), (len(raw), hash(raw))
        hit = self._profiles.get(key)
        if hit is not None and hit[0] == version:
            self._profiles.move_to_end(key)
            return hit[1]
        prof = json.loads(raw) or {}
        if prof.get("v"):
            prof[_NORM] = _norm(prof["v"])
        self._profiles[key] = (version, prof)
        self._profiles.move_to_end(key)
        while len(self._profiles) > PROFILE_CACHE_SIZE:
            self._profiles.popitem(last=False)
        return prof

    def _admits(self, cand: _Candidate, threshold: float, feats: ArticleFeatures) -> bool:
        if cand.score >= self._required(cand.row.profile, feats, cand.gap_days, threshold):
            return True
        # the same headline again: a shared text is enough, however short or late the report
        return cand.score >= threshold / 2 and self._same_headline(cand.row.profile, feats)

    def _same_headline(self, prof: Mapping[str, Any], feats: ArticleFeatures) -> bool:
        """Whether the article's headline is (nearly) one of the event's: the same report again,
        whenever it was published (a late copy, or a date extracted wrong)."""
        if not self.headline_match or self.headline_match > 1:
            return False
        mine = self._title_word_set(feats.title)
        if len(mine) < 3:
            return False
        for title in prof.get("titles") or ():
            theirs = self._title_word_set(title)
            inter = len(mine & theirs)
            if inter and inter / (len(mine) + len(theirs) - inter) >= self.headline_match:
                return True
        return False

    def _required(self, prof: Mapping[str, Any], feats: ArticleFeatures, gap_days: float, base: float) -> float:
        """The similarity an article needs to join the event of profile ``prof``.

        Reports of one development cluster in time, so past the event window the threshold rises
        with the log of the gap. Signs that the article reports another action: its headline
        states an action kind the event's never do, it states an action day after all of the
        event's, or a deadline or effective date the event never stated. Without any, a late
        article is a later report and needs at most ``follow_up_threshold``; with some, up to
        ``far_event_threshold``, and ``action_margin`` more per sign (within the window, per
        sign; past it, per sign beyond the first, since one alone may be a misread date or a
        wording). Citing a day of the event (a publication or action day) removes the gap.
        """
        acts = prof.get("acts") or ()
        mine = {d.isoformat() for d in feats.action_days}
        newer = bool(mine and acts and mine.isdisjoint(acts) and max(mine) > max(acts))
        kinds, terms = prof.get("kinds") or (), prof.get("terms") or ()
        other = int(newer) + int(bool(feats.kinds and kinds and not feats.kinds.issubset(kinds)))
        if feats.term_days and terms and not {d.isoformat() for d in feats.term_days}.issubset(terms):
            other += 1  # a deadline or effective date the event never stated: the terms changed
        window = self.event_window.total_seconds() / 86400
        if gap_days > window and not other and feats.cited_days:
            cited = {d.isoformat() for d in feats.cited_days}
            if not cited.isdisjoint(acts) or not cited.isdisjoint(prof.get("days") or ()):
                gap_days = 0.0
        if gap_days <= window:
            return base + self.action_margin * other
        if other:  # one sign alone may be a misread date or wording; each further one adds a margin
            return min(self.far_event_threshold,
                       self._graded(base, gap_days, self.far_event_threshold) + self.action_margin * (other - 1))
        return self._graded(base, gap_days, self.follow_up_threshold)

    def _graded(self, base: float, gap_days: float, cap: float) -> float:
        window = self.event_window.total_seconds() / 86400
        if gap_days <= window:
            return base
        return max(base, min(cap, base + self.threshold_growth * math.log2(gap_days / max(window, 1e-9))))

    def _centroid_norm(self, prof: Mapping[str, Any], norm: float | None = None) -> float:
        """The norm a centroid cosine divides by: the summed vector's, but at least that of ``n``
        members ``min_coherence`` alike. The n unit vectors of an event sum to a norm of about
        n * sqrt(their mean pairwise cosine); when they have little in common (reports chained
        through the domain's common words), the sum keeps only those words and any article of the
        domain matches it, better the more members it has. Dividing by the floor scores such an
        event like a coherent one of its size. A coherent event is scored as before, and so is any
        event of at most 1 / min_coherence members, but for the truncation of its profile to
        ``profile_terms``."""
        norm = norm or prof.get(_NORM) or _norm(prof.get("v") or {})
        n = int(prof.get("n") or 1)
        return max(norm, n * math.sqrt(self.min_coherence)) if self.min_coherence > 0 else norm

    def _similarity(self, a: dict[str, float], na: int, b: dict[str, float], nb: int) -> float:
        """Centroid cosine, or the mean pairwise cosine of the members (average linkage)."""
        if self.linkage == "average":
            if len(a) > len(b):
                a, b = b, a
            return sum(w * b.get(t, 0.0) for t, w in a.items()) / (na * nb)
        return cosine(a, b)

    def _same_development(self, a: EventRow, b: EventRow | _EventView, a_norm: float | None = None) -> bool:
        """Two events whose centroids are close (after an article joined one) are one development.
        ``a_norm`` is the norm of ``a``'s vector when the caller knows it (it compares ``a`` with
        every other candidate); ``b``'s comes with its cached profile."""
        pa, pb = a.profile or {}, b.profile or {}
        if not pa.get("v") or not pb.get("v"):
            return False
        if self.linkage == "centroid":
            sim = _dot(pa["v"], pb["v"]) / (self._centroid_norm(pa, a_norm) * self._centroid_norm(pb))
        else:
            sim = self._similarity(pa["v"], int(pa.get("n") or 1), pb["v"], int(pb.get("n") or 1))
        a0, b0 = datetime.fromisoformat(pa["t0"]), datetime.fromisoformat(pb["t0"])
        if self.window_anchor == "start":
            gap = abs(a0 - b0)
        else:
            gap = max(timedelta(0), b0 - datetime.fromisoformat(pa["t1"]), a0 - datetime.fromisoformat(pb["t1"]))
        acts_a, acts_b = set(pa.get("acts") or ()), set(pb.get("acts") or ())
        kinds_a, kinds_b = set(pa.get("kinds") or ()), set(pb.get("kinds") or ())
        terms_a, terms_b = set(pa.get("terms") or ()), set(pb.get("terms") or ())
        other = int(bool(acts_a and acts_b and acts_a.isdisjoint(acts_b))) + int(bool(
            kinds_a and kinds_b and not (kinds_a <= kinds_b or kinds_b <= kinds_a))) + int(bool(
            terms_a and terms_b and not (terms_a <= terms_b or terms_b <= terms_a)))
        gap_days = gap.total_seconds() / 86400
        if gap <= self.event_window:
            return sim >= self.merge_threshold + self.action_margin * other
        if other:
            return sim >= min(self.far_event_threshold, self._graded(self.merge_threshold, gap_days,
                                                                     self.far_event_threshold)
                              + self.action_margin * (other - 1))
        return sim >= self._graded(self.merge_threshold, gap_days, self.follow_up_threshold)

    # -- placing -------------------------------------------------------------------------------

    def place(self, session: Session, article: ArticleRow, entities: Sequence[EntityLike] = (),
              dates: Sequence[DateLike] = (), *, now: datetime | None = None) -> EventRow:
        """Join ``article`` to an event (opening one, and a story, if none fits); returns the event."""
        if article.id is None:
            session.flush()
        feats = self.features(session, article, entities, now, dates)
        candidates = self._score_events(session, feats)
        chosen = next((c for c in candidates if self._admits(c, self.event_threshold, feats)), None)
        event = None
        if chosen is not None:  # None if deleted since it was scored
            event = self._load(session, EventRow, "event", chosen.row.id, _EVENT_LOCKED,
                               with_for_update=True, populate_existing=True)
        if event is None:
            event = self._open_event(session, article, feats)
        else:
            self._absorb(session, event, article, feats)
            merged: set[int] = set()
            norm = _norm(event.profile["v"]) if (event.profile or {}).get("v") else None
            for other in candidates:
                if other.row.id == event.id or other.row.id in merged:
                    continue
                if self._same_development(event, other.row, norm):
                    before = event.id
                    event = self._merge_events(session, event, other.row, article)
                    merged |= {before, other.row.id} - {event.id}
                    norm = _norm(event.profile["v"]) if (event.profile or {}).get("v") else None
        article.event_id = event.id
        session.flush()
        log.debug("placed article=%s event=%s story=%s", article.id, event.id, event.story_id)
        return event

    def _open_event(self, session: Session, article: ArticleRow, feats: ArticleFeatures) -> EventRow:
        event = EventRow(
            title=feats.title[:1000], occurred_on=feats.when.date(), first_seen_at=feats.arrived,
            last_updated_at=feats.arrived, article_count=0, outlet_count=0,
            profile={"v": {}, "n": 0, "t0": feats.when.isoformat(), "t1": feats.when.isoformat(),
                     "titles": [], "outlets": []},
        )
        session.add(event)
        session.flush()
        self._absorb(session, event, article, feats)
        story = self._find_story(session, feats)
        if story is None:
            story = StoryRow(title=event.title, status="developing", first_seen_at=feats.arrived,
                             last_updated_at=feats.arrived, event_count=0,
                             profile={"v": {}, "n": 0, "t1": feats.when.isoformat()})
            session.add(story)
            session.flush()
        self._attach_story(session, story, event, feats)
        return event

    def _absorb(self, session: Session, event: EventRow, article: ArticleRow, feats: ArticleFeatures) -> None:
        prof = dict(event.profile or {})
        vec = dict(prof.get("v") or {})
        _add(vec, feats.vector)
        prof["v"] = _top(vec, self.profile_terms)
        prof["n"] = int(prof.get("n", 0)) + 1
        t0, t1 = datetime.fromisoformat(prof["t0"]), datetime.fromisoformat(prof["t1"])
        prof["t0"], prof["t1"] = min(t0, feats.when).isoformat(), max(t1, feats.when).isoformat()
        titles = list(prof.get("titles") or [])
        retitle = bool(feats.title and len(titles) < 30)
        if retitle:
            titles.append(feats.title)
        prof["titles"] = titles
        outlets = set(prof.get("outlets") or [])
        outlets.add(feats.outlet)
        prof["outlets"] = sorted(outlets)[:500]
        prof["days"] = _days_union(prof.get("days"), [feats.when.date().isoformat()])
        if feats.action_days:
            prof["acts"] = _days_union(prof.get("acts"), [d.isoformat() for d in feats.action_days])
        if feats.kinds:
            prof["kinds"] = sorted(set(prof.get("kinds") or ()) | feats.kinds)
        if feats.term_days:
            prof["terms"] = _days_union(prof.get("terms"), [d.isoformat() for d in feats.term_days])
        event.profile = prof
        event.article_count = (event.article_count or 0) + 1
        event.outlet_count = len(outlets)
        if retitle or not event.title:  # the same headlines elect the same title
            event.title = representative_title(titles, self._title_word_set) or event.title
        event.occurred_on = datetime.fromisoformat(prof["t0"]).date()
        event.last_updated_at = max(_aware(event.last_updated_at) or feats.arrived, feats.arrived)
        event.profile = self._post(session, "event", event.id, prof)
        if event.story_id is not None:
            # no autoflush: the event is written once, with the story, when the article is placed
            with session.no_autoflush:
                story = self._load(session, StoryRow, "story", event.story_id, _STORY_ROW)
            if story is not None:
                self._touch_story(session, story, feats, event)

    def _find_story(self, session: Session, feats: ArticleFeatures) -> StoryRow | None:
        # no autoflush: the new event, which these reads do not see, is written once with its story
        with session.no_autoflush:
            return self._best_story(session, feats)

    def _best_story(self, session: Session, feats: ArticleFeatures) -> StoryRow | None:
        ids = self._candidate_ids(session, "story", feats, self.story_horizon)
        if not ids:
            return None
        best: tuple[float, int] | None = None
        ents = {t: w for t, w in feats.vector.items() if t[0] == "@"}
        norm, ents_norm = _norm(feats.vector), _norm(ents)
        for story_id, raw in core.execute(session, _STORY_PROFILES, {"ids": ids}):
            prof = self._decoded("story", story_id, raw)
            sv = prof.get("v") or {}
            # norms from the cached profile: a story's vector holds hundreds of terms, and summing
            # them again for every candidate of every new event grew with the stories' age
            score = _dot(feats.vector, sv) / (norm * (prof.get(_NORM) or _norm(sv)))
            # the same protagonists (entities weighted by rarity) also make the same story
            if ents:
                if _ENTITIES not in prof:
                    story_ents = {t: w for t, w in sv.items() if t.startswith("@")}
                    prof[_ENTITIES] = (story_ents, _norm(story_ents))
                story_ents, story_ents_norm = prof[_ENTITIES]
                ent_score = _dot(ents, story_ents) / (ents_norm * story_ents_norm)
            else:
                ent_score = 0.0
            ok = score >= self.story_threshold or ent_score >= self.story_entity_threshold
            score = max(score, ent_score * self.story_threshold / self.story_entity_threshold)
            if ok and (best is None or (score, -story_id) > (best[0], -best[1])):
                best = (score, story_id)
        return self._load(session, StoryRow, "story", best[1], _STORY_ROW) if best else None

    def _attach_story(self, session: Session, story: StoryRow, event: EventRow, feats: ArticleFeatures) -> None:
        event.story_id = story.id
        story.event_count = (story.event_count or 0) + 1
        self._touch_story(session, story, feats, event)

    def _touch_story(self, session: Session, story: StoryRow, feats: ArticleFeatures,
                     event: EventRow | None = None) -> None:
        prof = dict(story.profile or {})
        vec = dict(prof.get("v") or {})
        _add(vec, feats.vector)
        prof["v"] = _top(vec, self.profile_terms)
        prof["n"] = int(prof.get("n", 0)) + 1
        prof["t1"] = max(datetime.fromisoformat(prof.get("t1") or feats.when.isoformat()), feats.when).isoformat()
        story.profile = prof
        story.last_updated_at = max(_aware(story.last_updated_at) or feats.arrived, feats.arrived)
        if story.status != "developing":
            log.info("story_woken story=%s", story.id)
            story.status = "developing"
        self._retitle_story(session, story, prof, event)
        story.profile = self._post(session, "story", story.id, prof)

    def _retitle_story(self, session: Session, story: StoryRow, prof: dict[str, Any],
                       event: EventRow | None) -> None:
        """Title the story after its largest event (earliest on ties): a real headline.

        The profile remembers that event (``best``: article count and id), so when ``event``,
        which just grew, is compared with it no query is needed; otherwise the events are read.
        """
        best = prof.get("best")
        if event is not None and event.id is not None and event.merged_into is None and best:
            count, best_id = int(event.article_count or 0), int(best[1])
            if event.id == best_id or (count, -event.id) > (int(best[0]), -best_id):
                prof["best"] = [count, event.id]
                story.title = event.title or story.title
            return
        row = self._largest_event(session, story.id)
        if row is not None:
            prof["best"] = [int(row[1] or 0), int(row[2])]
            story.title = row[0] or story.title

    @staticmethod
    def _largest_event(session: Session, story_id: int) -> Any:
        return session.execute(
            select(EventRow.title, EventRow.article_count, EventRow.id)
            .where(EventRow.story_id == story_id, EventRow.merged_into.is_(None))
            .order_by(EventRow.article_count.desc(), EventRow.id).limit(1)
        ).first()

    # -- merging -------------------------------------------------------------------------------

    def _merge_events(self, session: Session, a: EventRow, b: EventRow | _EventView,
                      article: ArticleRow) -> EventRow:
        """Fold the younger event into the older; ids of both stay, the younger points at the older."""
        keep_id, gone_id = (a.id, b.id) if a.id < b.id else (b.id, a.id)
        keep = session.get(EventRow, keep_id, with_for_update=True, populate_existing=True)
        gone = session.get(EventRow, gone_id, with_for_update=True, populate_existing=True)
        if keep is None or gone is None or gone.merged_into is not None or keep.merged_into is not None:
            return a
        kp, gp = dict(keep.profile or {}), dict(gone.profile or {})
        self._fold_terms(kp, gp)
        kp["t0"] = min(kp["t0"], gp["t0"], key=datetime.fromisoformat)
        kp["t1"] = max(kp["t1"], gp["t1"], key=datetime.fromisoformat)
        kp["titles"] = (list(kp.get("titles") or []) + list(gp.get("titles") or []))[:30]
        outlets = set(kp.get("outlets") or []) | set(gp.get("outlets") or [])
        kp["outlets"] = sorted(outlets)[:500]
        for key in ("days", "acts", "terms"):
            if kp.get(key) or gp.get(key):
                kp[key] = _days_union(kp.get(key), gp.get(key) or [])
        if kp.get("kinds") or gp.get("kinds"):
            kp["kinds"] = sorted(set(kp.get("kinds") or ()) | set(gp.get("kinds") or ()))
        keep.profile = kp
        keep.article_count = (keep.article_count or 0) + (gone.article_count or 0)
        keep.outlet_count = len(outlets)
        keep.title = representative_title(kp["titles"], self._title_word_set) or keep.title
        keep.occurred_on = datetime.fromisoformat(kp["t0"]).date()
        gone.article_count = 0
        self._retire(session, "event", keep, gone, kp, article, reason="article close to both events")
        if gone.story_id is not None and keep.story_id is not None and gone.story_id != keep.story_id:
            self._merge_stories(session, keep.story_id, gone.story_id, article)
        elif keep.story_id is None:
            keep.story_id = gone.story_id
        story = session.get(StoryRow, keep.story_id) if keep.story_id else None
        if story is not None:
            story.event_count = max(0, (story.event_count or 0) - 1)
            sprof = dict(story.profile or {})
            # Only ``keep`` grew and ``gone`` (now empty) shrank, and ``keep`` holds at least what
            # ``gone`` held: comparing ``keep`` with the story's remembered largest event (of both
            # stories, when two were joined) is exact. Reading the story's events instead cost
            # more with every event the story ever merged.
            self._retitle_story(session, story, sprof, keep)
            story.profile = sprof
        return keep

    def _merge_stories(self, session: Session, a_id: int, b_id: int, article: ArticleRow) -> None:
        keep_id, gone_id = min(a_id, b_id), max(a_id, b_id)
        keep, gone = session.get(StoryRow, keep_id), session.get(StoryRow, gone_id)
        if keep is None or gone is None:
            return
        kp, gp = dict(keep.profile or {}), dict(gone.profile or {})
        self._fold_terms(kp, gp)
        kp["t1"] = max(kp["t1"], gp.get("t1") or kp["t1"], key=datetime.fromisoformat)
        kb, gb = kp.get("best"), gp.get("best")
        if kb and gb:  # the larger of the two largest events, with its title
            if (int(gb[0]), -int(gb[1])) > (int(kb[0]), -int(kb[1])):
                kp["best"] = [int(gb[0]), int(gb[1])]
                keep.title = gone.title or keep.title
        else:
            kp.pop("best", None)  # unknown: the next retitle reads the story's events
        keep.profile = kp
        keep.event_count = (keep.event_count or 0) + (gone.event_count or 0)
        keep.status = "developing" if "developing" in (keep.status, gone.status) else keep.status
        gone.event_count = 0
        self._retire(session, "story", keep, gone, kp, article, reason="their events merged")

    def _fold_terms(self, kp: dict[str, Any], gp: Mapping[str, Any]) -> None:
        """Add the merged cluster's term vector and article count ``gp`` into the kept profile ``kp``."""
        vec = dict(kp.get("v") or {})
        _add(vec, gp.get("v") or {})
        kp["v"] = _top(vec, self.profile_terms)
        kp["n"] = int(kp.get("n", 0)) + int(gp.get("n", 0))

    def _retire(self, session: Session, kind: str, keep: EventRow | StoryRow, gone: EventRow | StoryRow,
                kp: dict[str, Any], article: ArticleRow, *, reason: str) -> None:
        """What merging events and merging stories share once each has updated its own fields: the
        kept cluster's time span, ``gone`` pointing at ``keep``, its members and index postings moved
        over, and the merge recorded."""
        keep.first_seen_at = min(_aware(keep.first_seen_at), _aware(gone.first_seen_at))  # type: ignore[type-var]
        keep.last_updated_at = max(_aware(keep.last_updated_at), _aware(gone.last_updated_at))  # type: ignore[type-var]
        gone.merged_into = keep.id
        session.flush()
        if kind == "event":
            session.execute(update(ArticleRow).where(ArticleRow.event_id == gone.id).values(event_id=keep.id))
        else:
            session.execute(update(EventRow).where(EventRow.story_id == gone.id).values(story_id=keep.id))
        session.execute(delete(ClusterPostingRow).where(ClusterPostingRow.kind == kind,
                                                        ClusterPostingRow.cluster_id == gone.id))
        keep.profile = self._post(session, kind, keep.id, kp, force=True)
        session.add(EventMergeRow(kind=kind, kept_id=keep.id, merged_id=gone.id, article_id=article.id,
                                  merged_at=utcnow(), reason=reason))
        log.info("%s_merged kept=%s merged=%s article=%s", "events" if kind == "event" else "stories",
                 keep.id, gone.id, article.id)

    # -- copies and dormancy -------------------------------------------------------------------

    def attach_duplicate(self, session: Session, copy: ArticleRow, first_copy_id: int) -> EventRow | None:
        """Give a syndicated copy its first copy's event and count its outlet (who carried it)."""
        if session.identity_key(ArticleRow, first_copy_id) in session.identity_map:
            first = session.get(ArticleRow, first_copy_id)
            event_id = first.event_id if first is not None else None
        else:  # only its event: loading the whole article (its text) cost more than the rest
            event_id = core.execute(session, _ARTICLE_EVENT, {"id": first_copy_id}).scalar()
        if event_id is None:
            return None
        event = self._load(session, EventRow, "event", event_id, _EVENT_LOCKED, with_for_update=True)
        while event is not None and event.merged_into is not None:
            event = session.get(EventRow, event.merged_into)
        if event is None:
            return None
        copy.event_id = event.id
        prof = dict(event.profile or {})
        outlets = set(prof.get("outlets") or [])
        outlets.add(outlet_of(copy))
        prof["outlets"] = sorted(outlets)[:500]
        event.profile = prof
        event.outlet_count = len(outlets)
        return event

    def update_dormancy(self, session: Session, now: datetime) -> int:
        """Mark developing stories without a new article for the quiet period as dormant."""
        cutoff = now - self.story_dormant_after
        result = session.execute(
            update(StoryRow)
            .where(StoryRow.status == "developing", StoryRow.merged_into.is_(None),
                   StoryRow.last_updated_at < cutoff)
            .values(status="dormant")
            .execution_options(synchronize_session=False)
        )
        count = int(getattr(result, "rowcount", 0) or 0)
        if count:
            log.info("stories_dormant count=%d cutoff=%s", count, cutoff.isoformat())
        return count


def representative_title(titles: Sequence[str],
                         word_set: Callable[[str], frozenset[str]] | None = None) -> str | None:
    """The member headline sharing most words with the others (the earliest on ties).

    ``word_set`` maps a title to its content words; the tracker passes a cached one, because
    every article placed recomputes the title of its event from up to 30 headlines.
    """
    titles = [t for t in titles if t]
    if not titles:
        return None
    if len(titles) <= 2:
        return titles[0]
    sets = [word_set(t) if word_set else frozenset(tokens(t)) for t in titles]
    sizes = [len(s) for s in sets]
    scores = [0.0] * len(sets)
    for i, s in enumerate(sets):  # Jaccard is symmetric: each pair once
        for j in range(i + 1, len(sets)):
            inter = len(s & sets[j])
            sim = inter / ((sizes[i] + sizes[j] - inter) or 1)
            scores[i] += sim
            scores[j] += sim
    best, best_score = titles[0], -1.0
    for title, score in zip(titles, scores, strict=True):
        if score > best_score + 1e-9:
            best, best_score = title, score
    return best


# ---------------------------------------------------------------------------------------------
# Reading


def _resolve_story(session: Session, story_id: int) -> StoryRow | None:
    story = session.get(StoryRow, story_id)
    seen = set()
    while story is not None and story.merged_into is not None and story.id not in seen:
        seen.add(story.id)
        story = session.get(StoryRow, story.merged_into)
    return story


def timeline(session: Session, story_id: int) -> StoryTimeline | None:
    """A story's events in date order, with their titles, counts, typed dates and links."""
    story = _resolve_story(session, story_id)
    if story is None:
        return None
    events = list(session.scalars(
        select(EventRow).where(EventRow.story_id == story.id, EventRow.merged_into.is_(None))
        .order_by(EventRow.occurred_on, EventRow.first_seen_at, EventRow.id)
    ))
    out = StoryTimeline(story.id, story.title, story.status, story.first_seen_at, story.last_updated_at)
    if not events:
        return out
    by_event: dict[int, TimelineEvent] = {
        ev.id: TimelineEvent(ev.id, ev.title, ev.occurred_on, ev.first_seen_at, ev.last_updated_at,
                             ev.article_count, ev.outlet_count) for ev in events
    }
    articles = session.execute(
        select(ArticleRow.id, ArticleRow.event_id, ArticleRow.url, ArticleRow.canonical_url, ArticleRow.title,
               ArticleRow.site_name, ArticleRow.published_at, ArticleRow.duplicate_of)
        .where(ArticleRow.event_id.in_(list(by_event)))
        .order_by(ArticleRow.published_at, ArticleRow.id)
    ).all()
    event_of = {}
    for a in articles:
        event_of[a.id] = a.event_id
        host = (urlsplit(a.canonical_url or a.url).hostname or "").removeprefix("www.")
        by_event[a.event_id].links.append(
            TimelineLink(a.id, a.url, a.title, (a.site_name or host), a.published_at))
    seen: set[tuple[int, date, str]] = set()
    for d in session.scalars(select(ArticleDateRow).where(ArticleDateRow.article_id.in_(list(event_of)))
                             .order_by(ArticleDateRow.date, ArticleDateRow.id)):
        ev_id = event_of[d.article_id]
        if (ev_id, d.date, d.role) in seen:
            continue
        seen.add((ev_id, d.date, d.role))
        by_event[ev_id].dates.append(TimelineDate(d.date, d.precision, d.role, d.snippet, d.article_id))
    out.events = list(by_event.values())
    return out


def list_stories(session: Session, *, since: datetime | None = None, status: str | None = None,
                 limit: int | None = None) -> list[StorySummary]:
    """Stories updated since ``since`` (newest first), optionally only those with ``status``."""
    stmt = select(StoryRow).where(StoryRow.merged_into.is_(None))
    if since is not None:
        stmt = stmt.where(StoryRow.last_updated_at >= since)
    if status is not None:
        stmt = stmt.where(StoryRow.status == status)
    stmt = stmt.order_by(StoryRow.last_updated_at.desc(), StoryRow.id.desc())
    if limit:
        stmt = stmt.limit(limit)
    stories = list(session.scalars(stmt))
    if not stories:
        return []
    ids = [s.id for s in stories]
    counts = dict(session.execute(
        select(EventRow.story_id, func.coalesce(func.sum(EventRow.article_count), 0))
        .where(EventRow.story_id.in_(ids), EventRow.merged_into.is_(None)).group_by(EventRow.story_id)
    ).all())
    latest: dict[int, str] = {}
    for sid, title in session.execute(
        select(EventRow.story_id, EventRow.title)
        .where(EventRow.story_id.in_(ids), EventRow.merged_into.is_(None))
        .order_by(EventRow.story_id, EventRow.last_updated_at, EventRow.id)
    ):
        latest[sid] = title
    return [StorySummary(s.id, s.title, s.status, s.first_seen_at, s.last_updated_at, s.event_count,
                         int(counts.get(s.id, 0)), latest.get(s.id)) for s in stories]


def iter_event_ids(session: Session, article_ids: Iterable[int]) -> dict[int, int | None]:
    """Event of each article, following merges (for benchmarks and exports)."""
    ids = list(article_ids)
    out: dict[int, int | None] = {}
    for i in range(0, len(ids), 500):
        out.update(session.execute(select(ArticleRow.id, ArticleRow.event_id)
                                   .where(ArticleRow.id.in_(ids[i:i + 500]))).all())
    return out
