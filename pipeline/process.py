"""One article through extract → enrich → dedup → stories → store, in one transaction.

A crash between articles loses nothing; a crash inside one loses only that article,
and a rerun stores it once (canonical URLs are unique).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached, sessionmaker

from pipeline.config import Config
from pipeline.dedup import Deduplicator, canonicalize_url, fingerprint
from pipeline.enrich import Enricher, load_gazetteer, load_topic
from pipeline.extract import ExtractedArticle, extract_article
from pipeline.store import core
from pipeline.store.models import ArticleRow
from pipeline.store.writer import EntityCache, save_dates, save_entities
from pipeline.stories import GENERAL_NEWS, StoryTracker

log = logging.getLogger(__name__)
_ARTICLE_INSERT = insert(ArticleRow.__table__).returning(ArticleRow.__table__.c.id)
# a Core UPDATE: loading the first copy (its whole text) only to count one more copy cost a SELECT
_COUNT_COPY = (update(ArticleRow.__table__).where(ArticleRow.__table__.c.id == bindparam("first"))
               .values(duplicate_count=func.coalesce(ArticleRow.__table__.c.duplicate_count, 0) + 1))
MAX_STORED_TEXT = 2_000_000  # characters; a 10 MB "article" is stored cut, and says so in the log


def nul_free(value: str | None) -> str | None:
    """Text without NUL characters: PostgreSQL text cannot hold them, and both backends must store the same.

    A NUL in a web page is never content; it is removed (not replaced) from every stored text field.
    """
    if value is None or "\x00" not in value:
        return value
    return value.replace("\x00", "")


@dataclass(frozen=True)
class ArticleOutcome:
    """What happened to one candidate page."""

    status: str  # stored | duplicate | known | no_article
    article_id: int | None = None
    duplicate_of: int | None = None
    event_id: int | None = None
    is_relevant: bool = False
    canonical_url: str | None = None


class ArticleProcessor:
    """Holds the per-profile machinery (gazetteer automaton, topic, trackers), built once."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.enricher = Enricher(load_gazetteer(config.resolve(config.settings.entities_file)),
                                 load_topic(dict(config.topic), config.base_dir) if config.topic is not None
                                 else None)
        self.dedup = Deduplicator()
        grouping = GENERAL_NEWS if config.settings.event_grouping == "general" else {}
        self.tracker = StoryTracker(story_dormant_after=config.settings.story_dormant_after, **grouping)
        self.entities = EntityCache()

    def process(
        self,
        sessions: sessionmaker[Session],
        *,
        html: str | bytes,
        url: str,
        source_id: int | None,
        feed_item: Any | None = None,
        body_selector: str | None = None,
        now: datetime | None = None,
    ) -> ArticleOutcome:
        extracted = extract_article(html, url, feed_item=feed_item, body_selector=body_selector)
        return self.store(sessions, extracted, url=url, source_id=source_id, feed_item=feed_item, now=now)

    def store(
        self,
        sessions: sessionmaker[Session],
        ex: ExtractedArticle,
        *,
        url: str,
        source_id: int | None,
        feed_item: Any | None = None,
        now: datetime | None = None,
    ) -> ArticleOutcome:
        now = now or datetime.now(UTC)
        if not ex.is_article or not (ex.text or "").strip():
            return ArticleOutcome("no_article")
        canonical = canonicalize_url(url, canonical_hint=ex.canonical_url)
        title = nul_free(ex.title or getattr(feed_item, "title", None))
        text = nul_free(ex.text if len(ex.text) <= MAX_STORED_TEXT else ex.text[:MAX_STORED_TEXT]) or ""
        url = nul_free(url) or url
        published = ex.published_at or getattr(feed_item, "published_at", None)
        method = ex.published_at_method if ex.published_at else ("feed" if published else None)
        enrichment = self.enricher.enrich(title, text, published, ex.language)
        fp = fingerprint(title, text)
        try:
            with sessions() as session, session.begin():
                outcome = self._write(session, ex, fp, enrichment, canonical=canonical, url=url, title=title,
                                      text=text, published=published, method=method, source_id=source_id,
                                      feed_item=feed_item, now=now)
        except IntegrityError:
            # another node (or an earlier, interrupted run) stored this canonical URL first
            self.entities.forget()
            return ArticleOutcome("known", canonical_url=canonical)
        except Exception:
            self.entities.forget()
            raise
        return outcome

    def _write(self, session: Session, ex: ExtractedArticle, fp: Any, enrichment: Any, *, canonical: str,
               url: str, title: str | None, text: str, published: datetime | None, method: str | None,
               source_id: int | None, feed_item: Any | None, now: datetime) -> ArticleOutcome:
        guid = nul_free(getattr(feed_item, "guid", None) or None)
        values = {
            "url": url[:4000],
            "canonical_url": canonical[:2048],
            "guid": guid[:2048] if guid else guid,
            "source_id": source_id,
            "title": title,
            "text": text,
            "description": nul_free(ex.description),
            "authors": [nul_free(a) for a in ex.authors] if ex.authors else None,
            "site_name": nul_free(ex.site_name),
            "published_at": published,
            "published_at_method": method,
            "modified_at": ex.modified_at,
            "first_seen_at": now,
            "language": ex.language,
            "word_count": len(text.split()),
            "relevance": enrichment.relevance,
            "is_relevant": bool(enrichment.is_relevant),
            "content_hash": getattr(fp, "content_hash", None) or hashlib.sha256(text.encode()).hexdigest(),
            "duplicate_of": None,
            "duplicate_count": 0,
            "event_id": None,
        }
        # a Core INSERT … RETURNING instead of a unit-of-work flush (a hot spot per article); the row
        # object is then attached as already persistent with every column loaded, so the stages after
        # read it without a SELECT and their changes to it (event_id) are flushed as an UPDATE
        article_id = core.execute(session, _ARTICLE_INSERT, values).scalar_one()
        row = ArticleRow(id=article_id, **values)
        make_transient_to_detached(row)
        session.add(row)
        save_entities(session, row.id, enrichment.entities, self.entities, now)
        save_dates(session, row.id, enrichment.dates)
        # looked up only after the INSERT: on SQLite that statement takes the write lock, so two daemons
        # storing copies of one text at once are serialised and the second sees the first
        first = self.dedup.find_duplicate(session, fp, exclude_id=row.id)
        if first is not None:
            row.duplicate_of = first
            core.execute(session, _COUNT_COPY, {"first": first})
            self.dedup.index(session, row, fp)
            # a copy joins its first copy's event: who carried a story is data (outlet counts, timeline)
            event = self.tracker.attach_duplicate(session, row, first)
            return ArticleOutcome("duplicate", row.id, duplicate_of=first, is_relevant=row.is_relevant,
                                  event_id=event.id if event is not None else None, canonical_url=canonical)
        self.dedup.index(session, row, fp)
        event_id = None
        if row.is_relevant:
            event = self.tracker.place(session, row, enrichment.entities, enrichment.dates, now=now)
            event_id = event.id if event is not None else None
        return ArticleOutcome("stored", row.id, event_id=event_id, is_relevant=row.is_relevant,
                              canonical_url=canonical)
