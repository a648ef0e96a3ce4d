"""`banwatch daemon`: run the pipeline forever on the schedule.

APScheduler 3 (AsyncIOScheduler) holds one job per source at its interval (with jitter;
max_instances=1 and coalesce, so a slow source never piles up), the daily digest at
``settings.digest_time`` in ``settings.timezone``, housekeeping (story dormancy, fetch-log
pruning, expired leases) and a lease heartbeat. A source job fetches only after claiming the
source through :meth:`CycleRunner.claim` (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so several
daemons on one database split the work; a lease that is not renewed (a killed node) expires
and another node takes the source over. The digest row is unique per day, so exactly one node
stores, writes and mails it.

Failures: a database outage is logged, reported on /healthz (503) and backed off; the daemon
keeps running and resumes when the database answers. SIGTERM/SIGINT stop the scheduler, cancel
the work in flight (recorded as "interrupted"), release this node's leases and exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import signal
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import delete, select, update
from sqlalchemy.exc import SQLAlchemyError

from pipeline.config import Config, Source
from pipeline.daemon_health import DatabaseProbe, HealthServer, HealthState, health_report
from pipeline.daemon_metrics import DaemonMetrics
from pipeline.errors import ConfigError, DatabaseUnavailable, UsageError
from pipeline.runtime import Runtime
from pipeline.store import make_engine
from pipeline.store.base import utcnow
from pipeline.store.models import DigestRow, FetchRow, SourceRow
from pipeline.store.writer import mark_interrupted

log = logging.getLogger("pipeline.daemon")
DB_ERRORS = (SQLAlchemyError, DatabaseUnavailable, sqlite3.Error)
GOOD = ("ok", "not_modified", "unchanged")


def _env_float(env: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return max(minimum, float(raw))
    except ValueError:
        raise ConfigError(f"expected a number of seconds, got {raw!r}", where=f"environment {name}") from None


@dataclass(frozen=True)
class DaemonOptions:
    """Knobs beyond sources.toml, from the environment (the container's natural interface)."""

    lease_seconds: float = 120.0  # BANWATCH_LEASE_SECONDS: a dead node's sources wait this long at most
    housekeeping_interval: float = 600.0  # BANWATCH_HOUSEKEEPING_INTERVAL
    shutdown_grace: float = 5.0  # BANWATCH_SHUTDOWN_GRACE: how long cancelled work may take to record itself
    health_host: str = "0.0.0.0"  # BANWATCH_HEALTH_HOST
    max_db_backoff: float = 60.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DaemonOptions:
        return cls(
            lease_seconds=_env_float(env, "BANWATCH_LEASE_SECONDS", cls.lease_seconds, 5.0),
            housekeeping_interval=_env_float(env, "BANWATCH_HOUSEKEEPING_INTERVAL", cls.housekeeping_interval, 1.0),
            shutdown_grace=_env_float(env, "BANWATCH_SHUTDOWN_GRACE", cls.shutdown_grace, 0.5),
            health_host=env.get("BANWATCH_HEALTH_HOST") or cls.health_host,
        )


class _QuietMaxInstances(logging.Filter):
    """A source still running when its next turn comes is normal here (max_instances=1), not a warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in record.getMessage()


class Daemon:
    def __init__(self, rt: Runtime, *, health_port: int | None = None, options: DaemonOptions | None = None,
                 node: str | None = None) -> None:
        from pipeline.cycle import node_name

        self.rt = rt
        self.config: Config = rt.config
        self.options = options or DaemonOptions.from_env(os.environ)
        self.node = node or node_name()
        self.health_port = self.config.settings.health_port if health_port is None else health_port
        self.sessions = rt.sessions
        self.metrics = DaemonMetrics(self.sessions)
        max_interval = max([s.interval for s in self.config.enabled_sources] or [1800.0])
        self.state = HealthState(node=self.node, stall_after=max(3 * max_interval, 900.0))
        self._tasks: set[asyncio.Task[Any]] = set()
        self._held: set[str] = set()
        self._stopping = False
        self._db_failures = 0
        self._db_retry_at = 0.0
        self.scheduler: AsyncIOScheduler | None = None
        self.runner: Any = None
        self.fetcher: Any = None

    # ------------------------------------------------------------------ lifecycle

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig, stop)
        probe_engine = _probe_engine(self.rt.db_url)
        probe = DatabaseProbe(probe_engine)
        try:
            server = HealthServer(self.options.health_host, self.health_port,
                                  lambda: health_report(self.state, probe), self.metrics.render)
        except OSError as exc:
            probe_engine.dispose()
            raise UsageError(f"cannot serve /healthz on {self.options.health_host}:{self.health_port}: "
                             f"{exc.strerror or exc} (choose another with --health-port)") from None
        server.start()
        log.info("health server listening", extra={"host": self.options.health_host, "port": server.port,
                                                    "node": self.node})
        sched_filter = _QuietMaxInstances()
        logging.getLogger("apscheduler.scheduler").addFilter(sched_filter)
        try:
            await self._serve(stop)
        finally:
            logging.getLogger("apscheduler.scheduler").removeFilter(sched_filter)
            server.stop()
            probe_engine.dispose()
        log.info("daemon stopped", extra={"node": self.node})
        return 0

    def _on_signal(self, sig: signal.Signals, stop: asyncio.Event) -> None:
        if stop.is_set():
            log.warning("second signal: exiting now", extra={"signal": sig.name})
            os._exit(0)
        log.info("stopping", extra={"signal": sig.name, "in_flight": len(self._tasks)})
        stop.set()

    async def _serve(self, stop: asyncio.Event) -> None:
        from pipeline.cycle import CycleRunner, settle_heap
        from pipeline.fetch import Fetcher

        self.runner = CycleRunner(self.config, self.sessions, node=self.node,
                                  processor=_timed_processor(self.config, self.metrics))
        settle_heap()  # the daemon owns its process: start-up state is built, freeze it
        while not stop.is_set():  # the database may be down when we start: wait for it, stay stoppable
            try:
                await asyncio.to_thread(self.runner.sync)
                self._db_ok()
                break
            except DB_ERRORS as exc:
                delay = self._db_failed(exc, "sync")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
        if stop.is_set():
            return
        async with Fetcher(self.config.settings) as fetcher:
            self.fetcher = _MeteredFetcher(fetcher, self.metrics)
            self.scheduler = self._build_scheduler()
            self.scheduler.start()
            self.state.scheduler_running = True
            self.state.jobs = len(self.scheduler.get_jobs())
            self.metrics.up.set(1)
            log.info("scheduler started", extra={"node": self.node, "sources": len(self.config.enabled_sources),
                                                 "jobs": self.state.jobs, "digest_time": self.config.settings
                                                 .digest_time, "timezone": self.config.settings.timezone,
                                                 "lease_seconds": self.options.lease_seconds})
            await stop.wait()
            await self._shutdown()

    async def _shutdown(self) -> None:
        self._stopping = True
        self.state.stopping = True
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        self.state.scheduler_running = False
        self.metrics.up.set(0)
        tasks = [t for t in self._tasks if not t.done()]
        for t in tasks:
            t.cancel()
        if tasks:
            done, pending = await asyncio.wait(tasks, timeout=self.options.shutdown_grace)
            log.info("in-flight work cancelled", extra={"tasks": len(tasks), "unfinished": len(pending)})
        try:
            await asyncio.wait_for(asyncio.to_thread(self._release_all), timeout=self.options.shutdown_grace)
        except (TimeoutError, *DB_ERRORS) as exc:
            log.warning("could not release leases (they will expire)", extra={"error": str(exc)[:300]})

    # ------------------------------------------------------------------ scheduling

    def _build_scheduler(self) -> AsyncIOScheduler:
        settings = self.config.settings
        sched = AsyncIOScheduler(timezone=settings.tz, job_defaults={"coalesce": True, "max_instances": 1})
        now = datetime.now(settings.tz)
        for src in self.config.enabled_sources:
            jitter = min(src.interval * 0.1, 300.0)
            first = now + timedelta(seconds=random.uniform(0, min(5.0, src.interval * 0.2)))
            sched.add_job(self._source_job, IntervalTrigger(seconds=src.interval, jitter=jitter, timezone=settings.tz),
                          args=[src], id=f"source:{src.key}", name=src.key, next_run_time=first,
                          misfire_grace_time=max(1, int(src.interval)))
        clock = settings.digest_clock
        sched.add_job(self._digest_job, CronTrigger(hour=clock.hour, minute=clock.minute, timezone=settings.tz),
                      id="digest", name="daily digest", misfire_grace_time=6 * 3600)
        sched.add_job(self._digest_job, DateTrigger(now + timedelta(seconds=random.uniform(1, 3))),
                      kwargs={"catch_up": True}, id="digest-catch-up", name="digest catch-up")
        sched.add_job(self._housekeeping_job, IntervalTrigger(seconds=self.options.housekeeping_interval,
                                                              timezone=settings.tz),
                      id="housekeeping", name="housekeeping", next_run_time=now + timedelta(seconds=2))
        sched.add_job(self._heartbeat_job, IntervalTrigger(seconds=max(1.0, self.options.lease_seconds / 4),
                                                           timezone=settings.tz),
                      id="lease-heartbeat", name="lease heartbeat")
        return sched

    def _track(self) -> asyncio.Task[Any] | None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return task

    def _db_paused(self) -> bool:
        return time.monotonic() < self._db_retry_at

    def _db_failed(self, exc: BaseException, where: str) -> float:
        self._db_failures += 1
        delay = min(self.options.max_db_backoff, 2.0 ** min(self._db_failures, 10)) * random.uniform(0.8, 1.2)
        self._db_retry_at = time.monotonic() + delay
        self.state.last_db_error = f"{type(exc).__name__}: {str(getattr(exc, 'orig', exc)).strip()[:300]}"
        self.state.last_db_error_at = utcnow()
        self.metrics.db_errors.inc()
        self.metrics.up.set(0)
        log.error("database error, backing off", extra={"where": where, "error": self.state.last_db_error,
                                                         "retry_in": round(delay, 1),
                                                         "failures": self._db_failures})
        return delay

    def _db_ok(self) -> None:
        if self._db_failures:
            log.info("database back", extra={"after_failures": self._db_failures})
        self._db_failures = 0
        self._db_retry_at = 0.0
        if self.state.scheduler_running:
            self.metrics.up.set(1)

    # ------------------------------------------------------------------ jobs

    async def _source_job(self, source: Source) -> None:
        if self._stopping or self._db_paused():
            return
        self._track()
        try:
            wait = await asyncio.to_thread(self._seconds_until_due, source)
            self.state.last_tick_at = utcnow()
            if wait is None:
                return
            if wait > 0:
                await asyncio.sleep(wait)
            # claimed in the loop thread: a cancelled claim must not leave a lease behind unseen
            claimed = self.runner.claim([source], lease_seconds=self.options.lease_seconds, due_only=True)
            self._db_ok()
            if not claimed:
                return
            self._held.add(source.key)
            self.state.in_flight = len(self._held)
            self.metrics.in_flight.set(len(self._held))
            try:
                outcome = await self.runner.run_source(self.fetcher, source)
            finally:
                self._held.discard(source.key)
                self.state.in_flight = len(self._held)
                self.metrics.in_flight.set(len(self._held))
            self.metrics.observe_outcome(outcome)
            now = utcnow()
            self.state.last_cycle_at = now
            if outcome.status in GOOD:
                self.state.last_successful_cycle_at = now
                self.metrics.last_success.set(now.timestamp())
        except asyncio.CancelledError:  # shutdown: the job ends here (run_source recorded the interruption)
            return
        except DB_ERRORS as exc:
            self._db_failed(exc, f"source {source.key}")
        except Exception:
            log.exception("source job failed", extra={"source": source.key})

    def _seconds_until_due(self, source: Source) -> float | None:
        """None: skip this turn (leased elsewhere, or not due before the next turn); else seconds to wait."""
        now = utcnow()
        with self.sessions() as s:
            row = s.scalar(select(SourceRow).where(SourceRow.key == source.key))
        if row is None:
            return 0.0
        if row.lease_owner and row.lease_owner != self.node and row.lease_expires_at and row.lease_expires_at > now:
            return None
        if row.next_fetch_at is None or row.next_fetch_at <= now:
            return 0.0
        wait = (row.next_fetch_at - now).total_seconds()
        return wait if wait < source.interval * 0.75 else None

    async def _heartbeat_job(self) -> None:
        if self._stopping or not self._held or self._db_paused():
            return
        try:
            await asyncio.to_thread(self._renew_leases, set(self._held))
        except DB_ERRORS as exc:
            self._db_failed(exc, "lease heartbeat")

    def _renew_leases(self, keys: set[str]) -> None:
        until = utcnow() + timedelta(seconds=self.options.lease_seconds)
        with self.sessions() as s, s.begin():
            s.execute(update(SourceRow).where(SourceRow.key.in_(keys), SourceRow.lease_owner == self.node)
                      .values(lease_expires_at=until).execution_options(synchronize_session=False))

    async def _housekeeping_job(self) -> None:
        if self._stopping or self._db_paused():
            return
        self._track()
        try:
            result = await asyncio.to_thread(self.housekeeping)
            self._db_ok()
            if any(result.values()):
                log.info("housekeeping", extra=result)
        except asyncio.CancelledError:
            return
        except DB_ERRORS as exc:
            self._db_failed(exc, "housekeeping")
        except Exception:
            log.exception("housekeeping failed")

    def housekeeping(self, now: datetime | None = None) -> dict[str, int]:
        """Dormant stories, pruned fetch log, expired leases; each in its own transaction."""
        now = now or utcnow()
        out = {"dormant_stories": 0, "pruned_fetches": 0, "expired_leases": 0}
        try:
            from pipeline.stories import StoryTracker
        except ImportError:  # the stories stage is optional for the scheduler itself
            StoryTracker = None  # type: ignore[assignment]  # noqa: N806
        if StoryTracker is not None:
            tracker = getattr(getattr(self.runner, "processor", None), "tracker", None) or \
                StoryTracker(story_dormant_after=self.config.settings.story_dormant_after)
            with self.sessions() as s, s.begin():
                out["dormant_stories"] = tracker.update_dormancy(s, now)
        cutoff = now - timedelta(seconds=self.config.settings.fetch_log_retention)
        with self.sessions() as s, s.begin():
            res = s.execute(delete(FetchRow).where(FetchRow.started_at < cutoff, FetchRow.status != "running")
                            .execution_options(synchronize_session=False))
            out["pruned_fetches"] = int(getattr(res, "rowcount", 0) or 0)
        out["expired_leases"] = expire_leases(self.sessions, now)
        return out

    async def _digest_job(self, catch_up: bool = False) -> None:
        if self._stopping:
            return
        self._track()
        from pipeline.digest import generate_digest

        settings = self.config.settings
        day = digest_day_due(self.config, utcnow(), catch_up=catch_up)
        try:
            exists = await asyncio.to_thread(self._digest_exists, day)
            if exists:
                return
            outcome = await asyncio.to_thread(generate_digest, self.config, self.sessions, day, node=self.node)
            self._db_ok()
            self.state.last_digest_day = day.isoformat()
            if outcome.created:
                self.metrics.digests.inc()
        except asyncio.CancelledError:
            return
        except Exception as exc:
            if isinstance(exc, DB_ERRORS):
                self._db_failed(exc, "digest")
            else:
                log.exception("digest failed", extra={"day": day.isoformat()})
            if self.scheduler is not None and not self._stopping:  # try again in a while
                self.scheduler.add_job(self._digest_job, DateTrigger(datetime.now(settings.tz)
                                                                     + timedelta(seconds=300)),
                                       kwargs={"catch_up": True}, id="digest-retry", replace_existing=True)

    def _digest_exists(self, day) -> bool:
        with self.sessions() as s:
            return s.scalar(select(DigestRow.id).where(DigestRow.day == day)) is not None

    def _release_all(self) -> None:
        with self.sessions() as s, s.begin():
            s.execute(update(SourceRow).where(SourceRow.lease_owner == self.node)
                      .values(lease_owner=None, lease_expires_at=None)
                      .execution_options(synchronize_session=False))


def digest_day_due(config: Config, now: datetime, *, catch_up: bool) -> date:
    """The day whose digest is due at ``now``: yesterday (local), or the day before when catching up
    before today's ``digest_time`` (yesterday's digest is not due yet then)."""
    local = now.astimezone(config.settings.tz)
    day = local.date() - timedelta(days=1)
    if catch_up and local.time() < config.settings.digest_clock:
        day -= timedelta(days=1)
    return day


def expire_leases(sessions, now: datetime) -> int:
    """Clear leases that ran out (their node died) and close the fetches that node left running."""
    with sessions() as s, s.begin():
        q = select(SourceRow).where(SourceRow.lease_owner.is_not(None), SourceRow.lease_expires_at < now)
        if s.get_bind().dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        rows = list(s.scalars(q))
        for row in rows:
            log.warning("lease expired", extra={"source": row.key, "owner": row.lease_owner})
            row.lease_owner = None
            row.lease_expires_at = None
        mark_interrupted(s, [r.id for r in rows])
        return len(rows)


def _probe_engine(db_url: str):
    from sqlalchemy.engine import make_url

    if make_url(db_url).get_backend_name() == "postgresql":
        return make_engine(db_url, connect_args={"connect_timeout": 3}, pool_size=1, max_overflow=1)
    return make_engine(db_url)


class _MeteredFetcher:
    """The fetcher with latency and status metrics around its two entry points."""

    def __init__(self, inner: Any, metrics: DaemonMetrics) -> None:
        self._inner = inner
        self._m = metrics

    async def fetch_source(self, source: Source, state: Any = None) -> Any:
        t0 = time.perf_counter()
        try:
            result = await self._inner.fetch_source(source, state)
        except Exception:
            self._m.fetches.labels("source", "error").inc()
            raise
        finally:
            self._m.fetch_seconds.labels("source").observe(time.perf_counter() - t0)
        self._m.fetches.labels("source", result.status).inc()
        return result

    async def fetch_page(self, url: str, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            page = await self._inner.fetch_page(url, **kwargs)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._m.fetches.labels("article", str(getattr(exc, "status", None) or "error")).inc()
            raise
        finally:
            self._m.fetch_seconds.labels("article").observe(time.perf_counter() - t0)
        self._m.fetches.labels("article", "ok").inc()
        return page

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _timed_processor(config: Config, metrics: DaemonMetrics) -> Any:
    """An ArticleProcessor that times extraction and storing separately for /metrics."""
    from pipeline.extract import extract_article
    from pipeline.process import ArticleProcessor

    class TimedProcessor(ArticleProcessor):
        # mirrors ArticleProcessor.process (extract, then store) with a clock around each half
        def process(self, sessions, *, html, url, source_id, feed_item=None, body_selector=None, now=None):
            t0 = time.perf_counter()
            extracted = extract_article(html, url, feed_item=feed_item, body_selector=body_selector)
            t1 = time.perf_counter()
            metrics.extract_seconds.observe(t1 - t0)
            try:
                outcome = self.store(sessions, extracted, url=url, source_id=source_id, feed_item=feed_item,
                                     now=now)
            finally:
                metrics.store_seconds.observe(time.perf_counter() - t1)
            metrics.article_outcomes.labels(outcome.status).inc()
            return outcome

    return TimedProcessor(config)


def run_daemon(rt: Runtime, health_port: int | None = None) -> int:
    """Run until SIGTERM/SIGINT; the exit code (0 after a clean stop)."""
    return asyncio.run(Daemon(rt, health_port=health_port).run())
