"""Prometheus metrics of one daemon: its own activity (counters, latencies) plus database totals.

Each daemon owns its registry (no process-global collectors), so tests can run several.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.store.models import ArticleRow, EventRow, SourceRow, StoryRow

log = logging.getLogger(__name__)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class DaemonMetrics:
    def __init__(self, sessions: sessionmaker[Session] | None = None, *, db_cache_seconds: float = 15.0) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.fetches = Counter("banwatch_fetches", "Fetches made by this node, by target and outcome status",
                               ["target", "status"], registry=r)
        self.articles_stored = Counter("banwatch_articles_stored", "Articles this node stored (new, not copies)",
                                       registry=r)
        self.duplicates = Counter("banwatch_duplicates", "Copies and near-duplicates this node stored", registry=r)
        self.article_outcomes = Counter("banwatch_article_outcomes", "Processed pages by outcome", ["outcome"],
                                        registry=r)
        self.fetch_seconds = Histogram("banwatch_fetch_seconds", "Fetch latency (source = feed/sitemap/listing "
                                       "including retries, article = one page)", ["target"],
                                       buckets=LATENCY_BUCKETS, registry=r)
        self.extract_seconds = Histogram("banwatch_extract_seconds", "Extraction time of one page",
                                         buckets=LATENCY_BUCKETS, registry=r)
        self.store_seconds = Histogram("banwatch_store_seconds", "Enrich, dedup, stories and store of one article",
                                       buckets=LATENCY_BUCKETS, registry=r)
        self.source_runs = Counter("banwatch_source_runs", "Source runs by final status", ["status"], registry=r)
        self.source_seconds = Histogram("banwatch_source_run_seconds", "Time to run one source end to end",
                                        buckets=LATENCY_BUCKETS, registry=r)
        self.digests = Counter("banwatch_digests_generated", "Daily digests this node stored", registry=r)
        self.db_errors = Counter("banwatch_database_errors", "Database errors seen by the scheduler", registry=r)
        self.up = Gauge("banwatch_up", "1 while the scheduler runs and the database answers", registry=r)
        self.last_success = Gauge("banwatch_last_successful_cycle_timestamp_seconds",
                                  "Unix time of the last source run that fetched successfully", registry=r)
        self.in_flight = Gauge("banwatch_sources_in_flight", "Sources this node is running now", registry=r)
        if sessions is not None:
            r.register(DatabaseCollector(sessions, db_cache_seconds))

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def observe_outcome(self, outcome: Any) -> None:
        self.source_runs.labels(outcome.status).inc()
        self.source_seconds.observe(outcome.seconds)
        self.articles_stored.inc(max(0, outcome.new_articles - outcome.duplicates))
        self.duplicates.inc(outcome.duplicates)


class DatabaseCollector(Collector):
    """Totals across all nodes, read from the database at scrape time (cached; skipped if it is down)."""

    def __init__(self, sessions: sessionmaker[Session], cache_seconds: float) -> None:
        self.sessions = sessions
        self.cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._cached: tuple[float, dict[str, Any]] | None = None

    def _read(self) -> dict[str, Any] | None:
        with self._lock:
            if self._cached and time.monotonic() - self._cached[0] < self.cache_seconds:
                return self._cached[1]
            try:
                with self.sessions() as s:
                    data = {
                        "articles": s.scalar(select(func.count()).select_from(ArticleRow)) or 0,
                        "duplicates": s.scalar(select(func.count()).select_from(ArticleRow)
                                               .where(ArticleRow.duplicate_of.is_not(None))) or 0,
                        "relevant": s.scalar(select(func.count()).select_from(ArticleRow)
                                             .where(ArticleRow.is_relevant.is_(True))) or 0,
                        "events": s.scalar(select(func.count()).select_from(EventRow)
                                           .where(EventRow.merged_into.is_(None))) or 0,
                        "stories": dict(s.execute(select(StoryRow.status, func.count())
                                                  .where(StoryRow.merged_into.is_(None))
                                                  .group_by(StoryRow.status)).all()),
                        "failing": s.scalar(select(func.count()).select_from(SourceRow).where(
                            SourceRow.enabled.is_(True), SourceRow.consecutive_failures > 0)) or 0,
                    }
            except Exception as exc:  # the health endpoint reports the outage; metrics just go quiet
                log.debug("metrics query failed", extra={"error": str(exc)[:200]})
                return None
            self._cached = (time.monotonic(), data)
            return data

    def collect(self) -> Iterator[GaugeMetricFamily]:
        data = self._read()
        if data is None:
            return
        yield GaugeMetricFamily("banwatch_db_articles", "Articles in the database", value=data["articles"])
        yield GaugeMetricFamily("banwatch_db_duplicates", "Articles marked as copies", value=data["duplicates"])
        yield GaugeMetricFamily("banwatch_db_relevant_articles", "Articles judged relevant", value=data["relevant"])
        yield GaugeMetricFamily("banwatch_db_events", "Events in the database", value=data["events"])
        stories = GaugeMetricFamily("banwatch_db_stories", "Stories by status", labels=["status"])
        for status in sorted(set(data["stories"]) | {"developing", "dormant"}):
            stories.add_metric([status], data["stories"].get(status, 0))
        yield stories
        yield GaugeMetricFamily("banwatch_db_failing_sources", "Enabled sources whose last fetch failed",
                                value=data["failing"])
