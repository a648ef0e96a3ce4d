"""The digest of one day as plain data: built once from the database, rendered in every format."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass(slots=True)
class DigestLink:
    """One article link: the outlet that carried it and where."""

    url: str
    title: str | None
    outlet: str
    published_at: datetime | None = None


@dataclass(slots=True)
class DigestDate:
    """A dated statement that matters for the reader (effective date, deadline, ruling, …)."""

    date: date
    precision: str
    role: str
    snippet: str | None = None


@dataclass(slots=True)
class DigestEvent:
    event_id: int
    title: str
    occurred_on: date | None
    first_seen_at: datetime
    is_new: bool  # new or updated in this digest's window
    link: DigestLink | None  # the first copy seen
    also_reported_by: list[DigestLink] = field(default_factory=list)
    dates: list[DigestDate] = field(default_factory=list)


@dataclass(slots=True)
class DigestEntity:
    name: str
    type: str
    mentions: int


@dataclass(slots=True)
class DigestStory:
    story_id: int
    title: str
    status: str
    first_seen_at: datetime
    last_updated_at: datetime
    is_new: bool  # the story itself started in the window
    new_events: int  # events first seen in the window
    updated_events: int  # older events with new articles in the window
    what_is_new: list[str] = field(default_factory=list)  # titles of the new/updated events
    timeline: list[DigestEvent] = field(default_factory=list)  # every event, in date order
    entities: list[DigestEntity] = field(default_factory=list)
    outlets: list[str] = field(default_factory=list)


@dataclass(slots=True)
class DigestArticle:
    """A relevant article of the day that belongs to no story shown above."""

    article_id: int
    link: DigestLink
    relevance: float | None
    entities: list[str] = field(default_factory=list)


@dataclass(slots=True)
class SourceProblem:
    key: str
    name: str
    failing_since: datetime | None  # the first failure after the last success (None: never fetched ok)
    last_status: str | None
    last_error: str | None
    consecutive_failures: int


@dataclass(slots=True)
class DigestCounts:
    articles: int = 0  # first seen in the window
    relevant: int = 0
    duplicates: int = 0
    events: int = 0  # new events
    stories_updated: int = 0  # developing stories with new events
    stories_new: int = 0
    sources: int = 0
    failing_sources: int = 0


@dataclass(slots=True)
class Digest:
    day: date
    timezone: str
    window_start: datetime  # UTC
    window_end: datetime  # UTC, exclusive
    generated_at: datetime
    counts: DigestCounts
    developing: list[DigestStory] = field(default_factory=list)
    new_stories: list[DigestStory] = field(default_factory=list)
    articles: list[DigestArticle] = field(default_factory=list)
    source_problems: list[SourceProblem] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"banwatch digest — {self.day.isoformat()}"

    @property
    def is_empty(self) -> bool:
        return not (self.developing or self.new_stories or self.articles)

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
