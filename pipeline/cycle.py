"""One pass of the data flow for a set of sources: the only place that calls the stages in order.

``run --once`` and the daemon both come through here. The fetcher runs sources
concurrently (politeness is enforced per host inside it); each article is processed
and stored in its own transaction as soon as its page arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import socket
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from pipeline.config import Config, Source
from pipeline.errors import DatabaseUnavailable
from pipeline.fetch import Candidate, Fetcher, FetchError, Page, SourceResult, SourceState, backoff_delay
from pipeline.process import ArticleProcessor
from pipeline.runtime import Runtime
from pipeline.store.base import utcnow
from pipeline.store.models import FetchRow, SourceRow
from pipeline.store.writer import (
    ARTICLE_URL_MAX,
    given_up_urls,
    known_urls,
    mark_interrupted,
    start_fetch,
    sync_sources,
)

log = logging.getLogger(__name__)
FAILED = ("error", "refused", "blocked_by_robots")
DB_ERRORS = (SQLAlchemyError, DatabaseUnavailable, sqlite3.Error)
PAGE_WINDOW = 64  # article pages fetched but not yet processed, at most, across the sources of a runner


def _status_of(error: str | None) -> str:
    """The fetch status an article page error maps to ("refused: …" -> refused)."""
    head = (error or "").split(":", 1)[0]
    return head if head in ("refused", "blocked_by_robots") else "error"


class SourceDatabaseError(DatabaseUnavailable):
    """The database failed while a source was being worked on; ``outcome`` says how far it got."""

    def __init__(self, outcome: SourceOutcome) -> None:
        super().__init__(f"source {outcome.key}: {outcome.error}")
        self.outcome = outcome


def _short(exc: BaseException) -> str:
    reason = str(getattr(exc, "orig", None) or exc).strip()
    return f"{type(exc).__name__}: {reason.splitlines()[0][:300] if reason else ''}"


def node_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def dead_local_owners(session: Session, now: datetime) -> list[str]:
    """Lease owners on this host whose process is gone (killed, crashed): their leases are void.

    Without this a `run --once` killed with SIGKILL would keep every source leased until the lease
    expires, and the rerun would skip them all as "leased elsewhere".
    """
    host = socket.gethostname()
    owners = session.scalars(select(SourceRow.lease_owner).where(
        SourceRow.lease_owner.like(f"{host}:%"), SourceRow.lease_expires_at >= now).distinct())
    dead = []
    for owner in owners:
        pid = owner.rsplit(":", 1)[1] if owner else ""
        if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            dead.append(owner)
    return dead


@dataclass
class SourceOutcome:
    key: str
    status: str
    http_status: int | None = None
    items_seen: int = 0
    new_articles: int = 0
    duplicates: int = 0
    relevant: int = 0
    failed_articles: int = 0
    skipped: int = 0
    error: str | None = None
    seconds: float = 0.0


@dataclass
class CycleSummary:
    started_at: datetime
    finished_at: datetime | None = None
    outcomes: list[SourceOutcome] = field(default_factory=list)
    dormant: int = 0

    @property
    def failed_everything(self) -> bool:
        return bool(self.outcomes) and all(o.status in (*FAILED, "interrupted") for o in self.outcomes)

    def total(self, attr: str) -> int:
        return sum(int(getattr(o, attr)) for o in self.outcomes)

    def render(self) -> str:
        secs = ((self.finished_at or utcnow()) - self.started_at).total_seconds()
        lines = [f"cycle: {len(self.outcomes)} sources in {secs:.1f}s — {self.total('new_articles')} new articles "
                 f"({self.total('relevant')} relevant, {self.total('duplicates')} duplicates), "
                 f"{self.total('failed_articles')} failed pages"]
        for o in sorted(self.outcomes, key=lambda o: o.key):
            detail = f"{o.items_seen} items, {o.new_articles} new"
            if o.duplicates:
                detail += f", {o.duplicates} duplicates"
            if o.failed_articles:
                detail += f", {o.failed_articles} failed"
            if o.error:
                detail += f" — {o.error}"
            lines.append(f"  {o.key:<28} {o.status:<18} {detail}")
        return "\n".join(lines)


_heap_settled = False


def settle_heap() -> None:
    """Move what start-up built (gazetteer automaton, topic, ORM mappers, modules) out of the collector's
    reach, once per process. Called by the processes that own the heap (``run --once``, the daemon, the
    benchmark), not by the library: it changes the whole process's collector.

    Every collection of the oldest generation walks all live tracked objects; those built at start-up
    live as long as the process, so walking them is pure cost on every article. Frozen objects are never
    freed, which is what a daemon's start-up state wants anyway.
    """
    global _heap_settled
    if _heap_settled:
        return
    _heap_settled = True
    gc.collect()
    gc.freeze()
    # an article allocates tens of thousands of short-lived container objects (ORM states, rows, token
    # lists): a young generation of 700 is collected many times per article for little
    young, older, oldest = gc.get_threshold()
    gc.set_threshold(max(young, 10_000), older, oldest)


class CycleRunner:
    """Fetches sources and processes their articles; shared by ``run --once`` and the daemon."""

    def __init__(self, config: Config, sessions: sessionmaker[Session], *, node: str | None = None,
                 processor: ArticleProcessor | None = None) -> None:
        self.config = config
        self.sessions = sessions
        self.node = node or node_name()
        self.processor = processor or ArticleProcessor(config)
        self._source_ids: dict[str, int] = {}
        self.page_window = PAGE_WINDOW
        self._slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    def sync(self) -> dict[str, int]:
        with self.sessions() as s, s.begin():
            self._source_ids = sync_sources(s, self.config)
        return self._source_ids

    def claim(self, sources: Sequence[Source], *, lease_seconds: float, due_only: bool,
              now: datetime | None = None) -> list[Source]:
        """Lease the sources this node will fetch; others' unexpired leases are skipped.

        On PostgreSQL the rows are locked with SKIP LOCKED so two nodes never claim one source.
        """
        now = now or utcnow()
        keys = {s.key: s for s in sources}
        claimed: list[Source] = []
        with self.sessions() as s, s.begin():
            dead = dead_local_owners(s, now)
            if dead:
                log.warning("taking over the leases of stopped processes", extra={"owners": ",".join(dead)})
            q = select(SourceRow).where(
                SourceRow.key.in_(list(keys)),
                or_(SourceRow.lease_expires_at.is_(None), SourceRow.lease_expires_at < now,
                    SourceRow.lease_owner == self.node, SourceRow.lease_owner.in_(dead)),
            )
            if due_only:
                q = q.where(or_(SourceRow.next_fetch_at.is_(None), SourceRow.next_fetch_at <= now))
            if s.get_bind().dialect.name == "postgresql":
                q = q.with_for_update(skip_locked=True)
            for row in s.scalars(q.order_by(SourceRow.id)):
                row.lease_owner = self.node
                row.lease_expires_at = now + timedelta(seconds=lease_seconds)
                claimed.append(keys[row.key])
            if claimed:
                mark_interrupted(s, [self._source_ids[c.key] for c in claimed if c.key in self._source_ids])
        return claimed

    def release(self, source: Source) -> None:
        with self.sessions() as s, s.begin():
            row = s.scalar(select(SourceRow).where(SourceRow.key == source.key))
            if row is not None and row.lease_owner == self.node:
                row.lease_owner = None
                row.lease_expires_at = None

    async def run_sources(self, fetcher: Fetcher, sources: Sequence[Source]) -> list[SourceOutcome]:
        return list(await asyncio.gather(*(self._run_source_guarded(fetcher, s) for s in sources)))

    async def _run_source_guarded(self, fetcher: Fetcher, source: Source) -> SourceOutcome:
        """run_source, with a database failure turned into the source's outcome (the others go on).

        What the source had stored stays; its unfinished pages are not known to the database, so the
        next cycle fetches them again. The daemon calls run_source itself and backs off instead.
        """
        try:
            return await self.run_source(fetcher, source)
        except SourceDatabaseError as exc:
            return exc.outcome
        except DB_ERRORS as exc:  # before the source started (its fetch row could not be written)
            log.error("database error; source skipped this cycle", extra={"source": source.key,
                                                                           "error": _short(exc)})
            return SourceOutcome(key=source.key, status="interrupted", error=f"database error: {_short(exc)}")

    async def run_source(self, fetcher: Fetcher, source: Source) -> SourceOutcome:
        t0 = time.monotonic()
        source_id = self._source_ids.get(source.key) or self.sync()[source.key]
        with self.sessions() as s, s.begin():
            row = s.get(SourceRow, source_id)
            assert row is not None
            state = SourceState(etag=row.etag, last_modified=row.last_modified, body_hash=row.body_hash)
            fetch_id = start_fetch(s, source_id, source.url, self.node)
        outcome = SourceOutcome(key=source.key, status="error")
        try:
            result = await fetcher.fetch_source(source, state)
            outcome.status, outcome.http_status, outcome.error = result.status, result.http_status, result.error
            outcome.items_seen = max(result.items_seen or 0, len(result.candidates))
            if result.status == "ok" and result.candidates:
                await self._articles(fetcher, source, source_id, result.candidates, outcome)
        except asyncio.CancelledError:
            outcome.status, outcome.error = "interrupted", "cancelled (shutdown)"
            self._finish(source, source_id, fetch_id, None, outcome)
            raise
        except DB_ERRORS as exc:
            # the database failed, not the source: no failure is counted against the source, and what
            # it had not stored yet is fetched again (its feed validators are not updated)
            outcome.status, outcome.error = "interrupted", f"database error: {_short(exc)}"
            outcome.seconds = time.monotonic() - t0
            log.error("database error during a source; its unfinished pages are fetched again next time",
                      extra={"source": source.key, "error": outcome.error, "new": outcome.new_articles})
            with contextlib.suppress(*DB_ERRORS):  # may fail too: the row stays 'running', then 'interrupted'
                self._finish(source, source_id, fetch_id, None, outcome)
            raise SourceDatabaseError(outcome) from exc
        except Exception as exc:  # a bug: record it, keep the other sources going
            log.exception("source failed", extra={"source": source.key})
            outcome.status, outcome.error = "error", f"{type(exc).__name__}: {exc}"[:2000]
            result = None
        outcome.seconds = time.monotonic() - t0
        try:
            self._finish(source, source_id, fetch_id, result, outcome)
        except DB_ERRORS as exc:
            outcome.status, outcome.error = "interrupted", f"database error: {_short(exc)}"
            log.error("database error while recording a source's fetch",
                      extra={"source": source.key, "error": outcome.error})
            raise SourceDatabaseError(outcome) from exc
        log.info("source done", extra={"source": source.key, "status": outcome.status,
                                       "items": outcome.items_seen, "new": outcome.new_articles,
                                       "seconds": round(outcome.seconds, 2)})
        return outcome

    async def _articles(self, fetcher: Fetcher, source: Source, source_id: int, candidates: list[Candidate],
                        outcome: SourceOutcome) -> None:
        from pipeline.dedup import canonicalize_url

        by_canon: dict[str, Candidate] = {}
        for c in candidates:
            by_canon.setdefault(canonicalize_url(c.url), c)
        with self.sessions() as s:
            skip = known_urls(s, list(by_canon)) | given_up_urls(s, list(by_canon))
        todo = {canon: c for canon, c in by_canon.items() if canon not in skip}
        outcome.skipped = len(by_canon) - len(todo)
        canon_of = {id(c): canon for canon, c in todo.items()}
        order = {id(c): i for i, c in enumerate(todo.values())}
        queue = iter(todo.values())
        slots = self._window()
        running: set[asyncio.Task] = set()
        # finished tasks, in the order they finished: a done-callback per task instead of asyncio.wait
        # over all the running ones, which added and removed a callback on each of them (up to
        # page_window) every time a page arrived
        finished: asyncio.Queue[asyncio.Task] = asyncio.Queue()
        unconsumed: list[asyncio.Task] = []

        def refill() -> None:  # at most page_window tasks per source; the shared window bounds the total
            while len(running) < self.page_window:
                nxt = next(queue, None)
                if nxt is None:
                    return
                task = asyncio.create_task(self._fetch_in_window(fetcher, nxt, slots))
                task.add_done_callback(finished.put_nowait)
                running.add(task)

        refill()
        try:
            while running:
                done = [await finished.get()]
                while not finished.empty():
                    done.append(finished.get_nowait())
                running.difference_update(done)
                refill()
                unconsumed = sorted(done, key=lambda t: order[id(t.result()[0])])  # feed order
                while unconsumed:
                    cand, page, err = unconsumed.pop(0).result()
                    try:
                        self._consume(source, source_id, cand, canon_of[id(cand)], page, err, outcome)
                    finally:
                        slots.release()
        finally:
            for t in running:
                t.cancel()
            for _ in unconsumed:  # fetched pages left unprocessed by an error or a cancellation
                slots.release()

    def _consume(self, source: Source, source_id: int, cand: Candidate, canon: str, page: Page | None,
                 err: str | None, outcome: SourceOutcome) -> None:
        """Process and store one fetched page (or record why there is none)."""
        if err is not None or page is None:
            outcome.failed_articles += 1
            self._record_article(source_id, canon, _status_of(err), err)
            return
        try:
            res = self.processor.process(self.sessions, html=page.body, url=page.final_url or cand.url,
                                         source_id=source_id, feed_item=cand, body_selector=source.body_selector)
        except DB_ERRORS:
            raise  # the database, not the page: stop this source; its pages are fetched again next time
        except Exception as exc:
            log.exception("article failed", extra={"source": source.key, "url": cand.url})
            outcome.failed_articles += 1
            self._record_article(source_id, canon, "error", f"{type(exc).__name__}: {exc}")
            return
        if res.status == "no_article":
            self._record_article(source_id, canon, "no_article",
                                 "the page holds no article (index page, empty or not HTML text)")
        if res.status in ("stored", "duplicate"):
            outcome.new_articles += 1
            outcome.duplicates += res.status == "duplicate"
            outcome.relevant += bool(res.is_relevant)

    def _window(self) -> asyncio.Semaphore:
        """The shared window of fetched-but-unprocessed pages (one per event loop).

        Pages arrive faster than they are processed; without a bound a cycle over thousands of
        candidates holds every page body in memory at once.
        """
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots[0] is not loop:
            self._slots = (loop, asyncio.Semaphore(self.page_window))
        return self._slots[1]

    async def _fetch_in_window(self, fetcher: Fetcher, cand: Candidate, slots: asyncio.Semaphore):
        await slots.acquire()
        try:
            return await self._fetch_page(fetcher, cand)
        except BaseException:  # cancelled: the page will never be processed
            slots.release()
            raise

    async def _fetch_page(self, fetcher: Fetcher, cand: Candidate):
        try:
            return cand, await fetcher.fetch_page(cand.url), None
        except FetchError as exc:
            return cand, None, f"{getattr(exc, 'status', 'error')}: {exc}"
        except Exception as exc:  # never let one page stop the source
            return cand, None, f"{type(exc).__name__}: {exc}"

    def _record_article(self, source_id: int, canonical_url: str, status: str, error: str | None) -> None:
        """An article page that gave no article is logged, keyed by its canonical URL (see given_up_urls)."""
        now = utcnow()
        with self.sessions() as s, s.begin():
            s.add(FetchRow(source_id=source_id, target="article", url=canonical_url[:ARTICLE_URL_MAX],
                           started_at=now, finished_at=now, status=status, error=(error or "")[:2000],
                           node=self.node))

    def _finish(self, source: Source, source_id: int, fetch_id: int, result: SourceResult | None,
                outcome: SourceOutcome) -> None:
        now = utcnow()
        with self.sessions() as s, s.begin():
            f = s.get(FetchRow, fetch_id)
            if f is not None:
                f.finished_at = now
                f.status = outcome.status
                f.http_status = outcome.http_status
                f.bytes = result.bytes if result is not None else None
                f.items_seen = outcome.items_seen
                f.new_articles = outcome.new_articles
                f.failed_articles = outcome.failed_articles
                f.error = outcome.error
            row = s.get(SourceRow, source_id)
            if row is None:
                return
            row.last_fetch_at = now
            row.last_status = outcome.status
            if outcome.status in FAILED or outcome.status == "interrupted":
                if outcome.status != "interrupted":
                    row.consecutive_failures = (row.consecutive_failures or 0) + 1
                row.last_error = outcome.error
                delay = backoff_delay(row.consecutive_failures, source.interval)
                retry_after = (result.retry_after or 0.0) if result is not None else 0.0
                row.next_fetch_at = now + timedelta(seconds=max(delay, source.interval, retry_after))
            else:
                row.consecutive_failures = 0
                row.last_success_at = now
                row.last_error = None
                row.next_fetch_at = now + timedelta(seconds=source.interval)
                if result is not None and result.status == "ok":
                    row.etag, row.last_modified, row.body_hash = result.etag, result.last_modified, result.body_hash
                elif result is not None:  # 304 / same body: keep what we had, take fresher validators if sent
                    row.etag = result.etag or row.etag
                    row.last_modified = result.last_modified or row.last_modified
                    row.body_hash = result.body_hash or row.body_hash
            if row.lease_owner == self.node:
                row.lease_owner = None
                row.lease_expires_at = None


def run_cycle(rt: Runtime, only: Sequence[str] | None = None) -> CycleSummary:
    """One full cycle over every enabled source (or the named ones), now, regardless of schedule."""
    return asyncio.run(run_cycle_async(rt, only))


async def run_cycle_async(rt: Runtime, only: Sequence[str] | None = None) -> CycleSummary:
    config = rt.config
    summary = CycleSummary(started_at=utcnow())
    sources = [s for s in config.enabled_sources if only is None or s.key in only]
    runner = CycleRunner(config, rt.sessions)
    runner.sync()
    lease = max(600.0, config.settings.total_timeout * 4)
    claimed = runner.claim(sources, lease_seconds=lease, due_only=False)
    skipped = {s.key for s in sources} - {s.key for s in claimed}
    for key in sorted(skipped):
        summary.outcomes.append(SourceOutcome(key=key, status="leased_elsewhere"))
    async with Fetcher(config.settings) as fetcher:
        summary.outcomes.extend(await runner.run_sources(fetcher, claimed))
    try:  # stories with no new event for the quiet period go dormant; the next cycle retries a failure
        with rt.sessions() as s, s.begin():
            summary.dormant = runner.processor.tracker.update_dormancy(s, utcnow())
    except DB_ERRORS as exc:
        log.warning("dormancy update skipped: %s", _short(exc))
    summary.finished_at = utcnow()
    return summary

