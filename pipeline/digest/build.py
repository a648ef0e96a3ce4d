"""Build the digest of one day from the database.

The window is the calendar day in the configured time zone. Everything is read "as of"
the end of that window (later articles and events are left out), so rendering a past day
again gives the same content, apart from data pruned or merged since.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pipeline.digest.model import (
    Digest,
    DigestArticle,
    DigestCounts,
    DigestDate,
    DigestEntity,
    DigestEvent,
    DigestLink,
    DigestStory,
    SourceProblem,
)
from pipeline.store.base import utcnow
from pipeline.store.models import (
    ArticleDateRow,
    ArticleEntityRow,
    ArticleRow,
    EntityRow,
    EventRow,
    FetchRow,
    SourceRow,
    StoryRow,
)

GOOD_FETCH = ("ok", "not_modified", "unchanged")
BAD_FETCH = ("error", "refused", "blocked_by_robots")
FAILING_FOR = timedelta(days=1)
MAX_ARTICLES = 25
MAX_ENTITIES = 8
MAX_ALSO = 12
SHOWN_DATE_ROLES = ("effective_date", "compliance_deadline", "court_ruling", "extension", "filing", "announcement")


def day_window(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar day, in UTC (23 or 25 hours on DST changes)."""
    start = datetime.combine(day, time(0), tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def outlet_name(url: str, site_name: str | None) -> str:
    if site_name and site_name.strip():
        return site_name.strip()[:120]
    return (urlsplit(url).hostname or "?").removeprefix("www.")


def build_digest(session: Session, day: date, timezone: str = "UTC", *, now: datetime | None = None,
                 failing_for: timedelta = FAILING_FOR) -> Digest:
    """Everything the reader of ``day``'s digest needs, in reading order."""
    tz = ZoneInfo(timezone)
    start, end = day_window(day, tz)
    now = now or utcnow()
    counts = DigestCounts()
    digest = Digest(day=day, timezone=timezone, window_start=start, window_end=end, generated_at=now,
                    counts=counts)

    window_articles = list(session.scalars(
        select(ArticleRow).where(ArticleRow.first_seen_at >= start, ArticleRow.first_seen_at < end)
        .order_by(ArticleRow.first_seen_at, ArticleRow.id)))
    counts.articles = len(window_articles)
    counts.relevant = sum(1 for a in window_articles if a.is_relevant)
    counts.duplicates = sum(1 for a in window_articles if a.duplicate_of is not None)

    event_of = _EventResolver(session)
    touched_events: set[int] = set()
    for a in window_articles:
        ev = event_of(a.event_id)
        if ev is not None:
            touched_events.add(ev.id)
    new_events = set(session.scalars(select(EventRow.id).where(
        EventRow.first_seen_at >= start, EventRow.first_seen_at < end, EventRow.merged_into.is_(None))))
    touched_events |= new_events
    counts.events = len(new_events)

    story_of = _StoryResolver(session)
    story_events: dict[int, set[int]] = defaultdict(set)
    lone_events: set[int] = set()
    for ev_id in touched_events:
        ev = session.get(EventRow, ev_id)
        story = story_of(ev.story_id if ev is not None else None)
        if story is None:
            lone_events.add(ev_id)
        else:
            story_events[story.id].add(ev_id)

    for story_id, touched in story_events.items():
        story = session.get(StoryRow, story_id)
        assert story is not None
        item = _story(session, story, touched, new_events, start, end)
        (digest.new_stories if item.is_new else digest.developing).append(item)
    digest.developing.sort(key=lambda s: (-s.new_events, -s.updated_events, -s.last_updated_at.timestamp(),
                                          s.story_id))
    digest.new_stories.sort(key=lambda s: (-len(s.outlets), -len(s.timeline), s.first_seen_at, s.story_id))
    counts.stories_updated = len(digest.developing)
    counts.stories_new = len(digest.new_stories)

    singles = [a for a in window_articles if a.is_relevant and a.duplicate_of is None
               and (a.event_id is None or (event_of(a.event_id) is not None
                                            and event_of(a.event_id).id in lone_events))]
    singles.sort(key=lambda a: (-(a.relevance or 0.0), a.first_seen_at, a.id))
    names = _entity_names(session, [a.id for a in singles[:MAX_ARTICLES]])
    digest.articles = [DigestArticle(a.id, _link(a), a.relevance, names.get(a.id, []))
                       for a in singles[:MAX_ARTICLES]]

    digest.source_problems = source_problems(session, min(end, now), failing_for=failing_for)
    counts.sources = int(session.scalar(select(func.count()).select_from(SourceRow)
                                        .where(SourceRow.enabled.is_(True))) or 0)
    counts.failing_sources = len(digest.source_problems)
    return digest


class _EventResolver:
    """Event id -> the live event it was merged into (merges chain)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.cache: dict[int, EventRow | None] = {}

    def __call__(self, event_id: int | None) -> EventRow | None:
        if event_id is None:
            return None
        if event_id not in self.cache:
            ev, seen = self.session.get(EventRow, event_id), set()
            while ev is not None and ev.merged_into is not None and ev.id not in seen:
                seen.add(ev.id)
                ev = self.session.get(EventRow, ev.merged_into)
            self.cache[event_id] = ev
        return self.cache[event_id]


class _StoryResolver:
    def __init__(self, session: Session) -> None:
        self.session = session

    def __call__(self, story_id: int | None) -> StoryRow | None:
        story, seen = (self.session.get(StoryRow, story_id) if story_id is not None else None), set()
        while story is not None and story.merged_into is not None and story.id not in seen:
            seen.add(story.id)
            story = self.session.get(StoryRow, story.merged_into)
        return story


def _link(a: ArticleRow) -> DigestLink:
    return DigestLink(url=a.url, title=a.title, outlet=outlet_name(a.canonical_url or a.url, a.site_name),
                      published_at=a.published_at)


def _story(session: Session, story: StoryRow, touched: set[int], new_events: set[int], start: datetime,
           end: datetime) -> DigestStory:
    events = list(session.scalars(
        select(EventRow).where(EventRow.story_id == story.id, EventRow.merged_into.is_(None),
                               EventRow.first_seen_at < end)))
    ids = [e.id for e in events] or [-1]
    articles = list(session.scalars(
        select(ArticleRow).where(ArticleRow.event_id.in_(ids), ArticleRow.first_seen_at < end)
        .order_by(ArticleRow.first_seen_at, ArticleRow.id)))
    by_event: dict[int, list[ArticleRow]] = defaultdict(list)
    for a in articles:
        by_event[a.event_id].append(a)  # type: ignore[index]
    dates = _dates(session, [a.id for a in articles])
    timeline: list[DigestEvent] = []
    for ev in events:
        arts = by_event.get(ev.id, [])
        originals = [a for a in arts if a.duplicate_of is None] or arts
        first = originals[0] if originals else None
        also: list[DigestLink] = []
        seen_outlets = {outlet_name(first.canonical_url or first.url, first.site_name)} if first else set()
        for a in arts:
            link = _link(a)
            if a is first or link.outlet in seen_outlets:
                continue
            seen_outlets.add(link.outlet)
            also.append(link)
        ev_dates: dict[tuple[date, str], DigestDate] = {}
        for a in arts:
            for d in dates.get(a.id, []):
                ev_dates.setdefault((d.date, d.role), d)
        timeline.append(DigestEvent(
            event_id=ev.id, title=ev.title or (first.title if first else "") or "(untitled)",
            occurred_on=ev.occurred_on, first_seen_at=ev.first_seen_at, is_new=ev.id in touched,
            link=_link(first) if first else None, also_reported_by=also[:MAX_ALSO],
            dates=sorted(ev_dates.values(), key=lambda d: (d.date, d.role))))
    timeline.sort(key=lambda e: (e.occurred_on or e.first_seen_at.date(), e.first_seen_at, e.event_id))
    outlets = sorted({outlet_name(a.canonical_url or a.url, a.site_name) for a in articles})
    last = max([a.first_seen_at for a in articles] or [story.first_seen_at])
    return DigestStory(
        story_id=story.id, title=story.title or (timeline[0].title if timeline else "(untitled story)"),
        status=story.status, first_seen_at=story.first_seen_at, last_updated_at=last,
        is_new=start <= story.first_seen_at < end,
        new_events=len(touched & new_events), updated_events=len(touched - new_events),
        what_is_new=[e.title for e in timeline if e.is_new],
        timeline=timeline, entities=_entities(session, [a.id for a in articles]), outlets=outlets)


def _dates(session: Session, article_ids: list[int]) -> dict[int, list[DigestDate]]:
    out: dict[int, list[DigestDate]] = defaultdict(list)
    for i in range(0, len(article_ids), 500):
        for d in session.scalars(select(ArticleDateRow).where(
                ArticleDateRow.article_id.in_(article_ids[i:i + 500]), ArticleDateRow.role.in_(SHOWN_DATE_ROLES))):
            out[d.article_id].append(DigestDate(d.date, d.precision, d.role, d.snippet))
    return out


def _entities(session: Session, article_ids: list[int]) -> list[DigestEntity]:
    if not article_ids:
        return []
    totals: dict[int, int] = defaultdict(int)
    for i in range(0, len(article_ids), 500):
        for eid, m in session.execute(
                select(ArticleEntityRow.entity_id, func.sum(ArticleEntityRow.mentions))
                .where(ArticleEntityRow.article_id.in_(article_ids[i:i + 500]))
                .group_by(ArticleEntityRow.entity_id)):
            totals[eid] += int(m or 0)
    top = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_ENTITIES]
    rows = {e.id: e for e in session.scalars(select(EntityRow).where(EntityRow.id.in_([k for k, _ in top])))}
    return [DigestEntity(rows[k].name, rows[k].type, n) for k, n in top if k in rows]


def _entity_names(session: Session, article_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    if not article_ids:
        return out
    for aid, name in session.execute(
            select(ArticleEntityRow.article_id, EntityRow.name).join(EntityRow)
            .where(ArticleEntityRow.article_id.in_(article_ids))
            .order_by(ArticleEntityRow.mentions.desc(), EntityRow.name)):
        if len(out[aid]) < 6:
            out[aid].append(name)
    return out


def source_problems(session: Session, at: datetime, *, failing_for: timedelta = FAILING_FOR
                    ) -> list[SourceProblem]:
    """Enabled sources whose fetches have been failing for ``failing_for`` or more at ``at`` (fetch log)."""
    last_ok = dict(session.execute(
        select(FetchRow.source_id, func.max(FetchRow.started_at))
        .where(FetchRow.target == "source", FetchRow.status.in_(GOOD_FETCH), FetchRow.started_at < at)
        .group_by(FetchRow.source_id)).all())
    problems: list[SourceProblem] = []
    for src in session.scalars(select(SourceRow).where(SourceRow.enabled.is_(True)).order_by(SourceRow.key)):
        ok_at = last_ok.get(src.id)
        q = select(FetchRow).where(FetchRow.source_id == src.id, FetchRow.target == "source",
                                   FetchRow.status.in_(BAD_FETCH), FetchRow.started_at < at)
        if ok_at is not None:
            q = q.where(FetchRow.started_at > ok_at)
        failures = list(session.scalars(q.order_by(FetchRow.started_at)))
        if not failures or at - failures[0].started_at < failing_for:
            continue
        problems.append(SourceProblem(key=src.key, name=src.name, failing_since=failures[0].started_at,
                                      last_status=failures[-1].status, last_error=failures[-1].error,
                                      consecutive_failures=len(failures)))
    return problems
