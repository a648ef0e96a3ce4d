"""The database tables: the researchers' interface (see docs/schema.md).

One set of models serves SQLite and PostgreSQL; Alembic revisions in
``migrations/`` are generated from them and checked against them in the tests.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from pipeline.store.base import Base, UTCDateTime, utcnow


class SourceRow(Base):
    """A configured source and its health; rows survive removal from the config."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    interval_seconds: Mapped[float] = mapped_column(Float, default=1800.0)
    # conditional GET state
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(String(100))
    body_hash: Mapped[str | None] = mapped_column(String(64))
    # health
    last_fetch_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    next_fetch_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # scale-out: a node holds a source while it fetches it
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class FetchRow(Base):
    """One fetch attempt of a source (its feed, sitemap or listing page)."""

    __tablename__ = "fetches"
    __table_args__ = (Index(None, "source_id", "started_at"), Index(None, "status"), Index(None, "target", "url"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    target: Mapped[str] = mapped_column(String(8), default="source")  # source (feed/sitemap/listing) | article
    url: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # running | ok | not_modified | unchanged | error | blocked_by_robots | refused | interrupted
    status: Mapped[str] = mapped_column(String(32), default="running")
    http_status: Mapped[int | None] = mapped_column(Integer)
    bytes: Mapped[int | None] = mapped_column(BigInteger)
    items_seen: Mapped[int] = mapped_column(Integer, default=0)
    new_articles: Mapped[int] = mapped_column(Integer, default=0)
    failed_articles: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    node: Mapped[str | None] = mapped_column(String(128))


class ArticleRow(Base):
    """An article URL seen and kept; copies stay as rows pointing at the first copy."""

    __tablename__ = "articles"
    __table_args__ = (
        Index(None, "published_at"),
        Index(None, "first_seen_at"),
        Index(None, "source_id"),
        Index(None, "event_id"),
        Index(None, "duplicate_of"),
        Index(None, "content_hash"),
        Index(None, "guid"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    canonical_url: Mapped[str] = mapped_column(String(2048), unique=True)
    guid: Mapped[str | None] = mapped_column(String(2048))
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"))
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str | None] = mapped_column(Text)
    authors: Mapped[list[str] | None] = mapped_column(JSON)
    site_name: Mapped[str | None] = mapped_column(String(300))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_at_method: Mapped[str | None] = mapped_column(String(32))
    modified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    language: Mapped[str | None] = mapped_column(String(16))
    word_count: Mapped[int] = mapped_column(Integer, default=0)
    relevance: Mapped[float | None] = mapped_column(Float)
    is_relevant: Mapped[bool] = mapped_column(Boolean, default=True)
    # deduplication
    content_hash: Mapped[str | None] = mapped_column(String(64))
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="SET NULL"))
    duplicate_count: Mapped[int] = mapped_column(Integer, default=0)
    # stories
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"))


class EntityRow(Base):
    """A real-world entity: from the gazetteer or discovered in the text."""

    __tablename__ = "entities"
    __table_args__ = (Index(None, "type"), Index(None, "name"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    type: Mapped[str] = mapped_column(String(32))
    country: Mapped[str | None] = mapped_column(String(8))
    origin: Mapped[str] = mapped_column(String(16), default="gazetteer")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("entities.id", ondelete="SET NULL"))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ArticleEntityRow(Base):
    __tablename__ = "article_entities"
    __table_args__ = (Index(None, "entity_id"),)

    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id", ondelete="CASCADE"), primary_key=True)
    mentions: Mapped[int] = mapped_column(Integer, default=1)


class ArticleDateRow(Base):
    """A dated statement in an article: what happens (or happened) on which day."""

    __tablename__ = "article_dates"
    __table_args__ = (
        UniqueConstraint("article_id", "date", "role"),
        Index(None, "date"),
        Index(None, "role"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    date: Mapped[date] = mapped_column(Date)
    precision: Mapped[str] = mapped_column(String(8), default="day")
    role: Mapped[str] = mapped_column(String(32), default="other")
    snippet: Mapped[str | None] = mapped_column(Text)


class EventRow(Base):
    """A real-world development: the articles that report the same thing."""

    __tablename__ = "events"
    __table_args__ = (Index(None, "story_id"), Index(None, "occurred_on"), Index(None, "last_updated_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(Text, default="")
    occurred_on: Mapped[date | None] = mapped_column(Date)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    article_count: Mapped[int] = mapped_column(Integer, default=0)
    outlet_count: Mapped[int] = mapped_column(Integer, default=0)
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"))
    profile: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class StoryRow(Base):
    """A developing story: a chain of events about the same matter."""

    __tablename__ = "stories"
    __table_args__ = (Index(None, "status", "last_updated_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="developing")
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("stories.id", ondelete="SET NULL"))
    profile: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class EventMergeRow(Base):
    """The record of two events (or stories) found to be one."""

    __tablename__ = "event_merges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), default="event")  # event | story
    kept_id: Mapped[int] = mapped_column(Integer)
    merged_id: Mapped[int] = mapped_column(Integer)
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="SET NULL"))
    merged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str | None] = mapped_column(Text)


class DigestRow(Base):
    """A day's digest, written once across all nodes (unique day)."""

    __tablename__ = "digests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    article_count: Mapped[int] = mapped_column(Integer, default=0)
    relevant_count: Mapped[int] = mapped_column(Integer, default=0)
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    story_count: Mapped[int] = mapped_column(Integer, default=0)
    new_story_count: Mapped[int] = mapped_column(Integer, default=0)
    failing_source_count: Mapped[int] = mapped_column(Integer, default=0)
    markdown: Mapped[str | None] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    json: Mapped[str | None] = mapped_column(Text)
    node: Mapped[str | None] = mapped_column(String(128))
