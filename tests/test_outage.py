"""Database outages: PostgreSQL unreachable mid-work, SQLite locked by a researcher.

The machine's PostgreSQL service is shared with other tests and is never stopped: an asyncio TCP
proxy on 127.0.0.1 (random port) stands between banwatch and PostgreSQL, and the test cuts and
restores it. Afterwards nothing fetched may be lost: every article the web advertised ends up
stored exactly once (what failed during the outage is fetched again by the next cycle), and no
fetch attempt is left "running".

BANWATCH_LONG_OUTAGE=1 adds a daemon case where a researcher holds an SQLite write lock for longer
than the busy timeout (35 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url

from benchmarks.newsweb import NewsWeb, NewsWebSpec, TemplateBank, serve, sources_toml
from pipeline.config import load_config
from pipeline.cycle import run_cycle
from pipeline.dedup import canonicalize_url
from pipeline.runtime import Runtime
from pipeline.store import make_engine, session_factory
from pipeline.store.models import ArticleRow, FetchRow
from tests.testweb import LOCAL_PROFILE


class AsyncTcpProxy:
    """An asyncio TCP forwarder in its own thread; ``cut()`` drops every connection and refuses new ones."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.up = True
        self.port = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True, name="pg-proxy")
        self._thread.start()
        ready.wait(10)

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)

        async def start() -> asyncio.base_events.Server:
            server = await asyncio.start_server(self._client, "127.0.0.1", 0)
            self.port = server.sockets[0].getsockname()[1]
            return server

        self._server = self._loop.run_until_complete(start())
        ready.set()
        self._loop.run_forever()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers.difference_update((writer, up_writer))

    def _drop_all(self) -> None:
        for w in list(self._writers):
            transport = w.transport
            if transport is not None:
                transport.abort()
        self._writers.clear()

    def cut(self) -> None:
        self.up = False
        self._loop.call_soon_threadsafe(self._drop_all)

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


def _count(sessions, model, *where) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _wait(cond, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


@contextlib.contextmanager
def slow_web(articles: int = 40, sites: int = 2) -> Iterator[tuple[NewsWeb, int]]:
    spec = NewsWebSpec(sites=sites, articles=articles, seed=7, one_host=True, slow_every=3, slow_delay=0.3,
                       paragraphs=(3, 6), feed_items=articles)
    web = NewsWeb(spec, TemplateBank.builtin())
    with serve(web) as port:
        yield web, port


def _expected(web: NewsWeb, port: int) -> set[str]:
    return {canonicalize_url(web.article_url(n, port)) for n in range(web.spec.articles)}


def _assert_all_once(sessions, web: NewsWeb, port: int) -> None:
    with sessions() as s:
        stored = list(s.scalars(select(ArticleRow.canonical_url)))
    assert len(stored) == len(set(stored))
    assert set(stored) == _expected(web, port)


def _cycle_in_thread(rt: Runtime) -> tuple[threading.Thread, list[object]]:
    out: list[object] = []

    def go() -> None:
        try:
            out.append(run_cycle(rt))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            out.append(exc)

    t = threading.Thread(target=go, daemon=True)
    t.start()
    return t, out


@pytest.fixture
def pg_url(pg_migrated: str) -> str:
    from tests.conftest import _truncate_all

    _truncate_all(pg_migrated)
    return pg_migrated


def test_cycle_survives_postgres_cut_mid_cycle_and_loses_nothing(pg_url: str, tmp_path: Path) -> None:
    url = make_url(pg_url)
    proxy = AsyncTcpProxy((url.host or "127.0.0.1", url.port or 5432))
    via = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    direct = session_factory(make_engine(pg_url))
    try:
        with slow_web() as (web, port):
            cfg = tmp_path / "sources.toml"
            cfg.write_text(LOCAL_PROFILE + sources_toml(web.spec.sites, port, one_host=True))
            rt = Runtime(load_config(cfg, env={}), via)
            rt.open_db(auto_upgrade=False)
            thread, out = _cycle_in_thread(rt)
            _wait(lambda: _count(direct, ArticleRow) >= 3, 60, "the first articles")
            proxy.cut()
            time.sleep(1.5)
            proxy.restore()
            thread.join(120)
            assert not thread.is_alive(), "the cycle hung after the database came back"
            first = out[0]
            # the cycle ends: a summary with the failures, never a hang; an exception must be a clear one
            assert not isinstance(first, BaseException) or "connection" in str(first).lower(), first
            again = run_cycle(rt)  # the next cycle fetches again what the outage lost
            assert {o.status for o in again.outcomes} <= {"ok", "unchanged", "not_modified"}, again.render()
            _assert_all_once(direct, web, port)
            assert _count(direct, FetchRow, FetchRow.status == "running") == 0
            rt.close()
    finally:
        proxy.close()
        direct.kw["bind"].dispose()


def _short_busy_timeout(rt: Runtime, ms: int) -> None:
    """Make the runtime's SQLite connections give up on a lock after ``ms`` (the default waits 30 s)."""
    event.listen(rt.engine, "connect", lambda conn, _rec: conn.execute(f"PRAGMA busy_timeout={ms}"))


class Researcher:
    """Another program holding a write transaction on the SQLite file (e.g. an analyst's UPDATE)."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)

    def hold(self, seconds: float) -> threading.Thread:
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.execute("UPDATE sources SET name = name")

        def release() -> None:
            time.sleep(seconds)
            self.conn.execute("ROLLBACK")

        t = threading.Thread(target=release, daemon=True)
        t.start()
        return t

    def close(self) -> None:
        self.conn.close()


def test_cycle_survives_sqlite_locked_by_a_researcher(tmp_path: Path) -> None:
    """'database is locked' (a researcher's transaction outlasting the busy timeout) does not stop the cycle."""
    db = tmp_path / "locked.db"
    with slow_web() as (web, port):
        cfg = tmp_path / "sources.toml"
        cfg.write_text(LOCAL_PROFILE + sources_toml(web.spec.sites, port, one_host=True))
        rt = Runtime(load_config(cfg, env={}), f"sqlite:///{db}")
        rt.open_db(auto_upgrade=True)
        _short_busy_timeout(rt, 200)
        rt.engine.dispose()
        researcher = Researcher(db)
        try:
            thread, out = _cycle_in_thread(rt)
            _wait(lambda: _count(rt.sessions, ArticleRow) >= 3, 60, "the first articles")
            researcher.hold(1.5).join()
            thread.join(120)
            assert not thread.is_alive()
            assert not isinstance(out[0], BaseException), out[0]
            again = run_cycle(rt)
            assert {o.status for o in again.outcomes} <= {"ok", "unchanged", "not_modified"}, again.render()
            _assert_all_once(rt.sessions, web, port)
            assert _count(rt.sessions, FetchRow, FetchRow.status == "running") == 0
        finally:
            researcher.close()
            rt.close()


def _daemon_config(path: Path, web: NewsWeb, port: int, interval: str = "10s") -> Path:
    path.write_text(LOCAL_PROFILE.replace("[topic]", 'digest_time = "00:00"\noutput_dir = "digests"\n\n[topic]')
                    + sources_toml(web.spec.sites, port, one_host=True, interval=interval))
    return path


def test_daemon_postgres_outage_loses_nothing(pg_url: str, tmp_path: Path) -> None:
    from tests.daemon_proc import DaemonProc, wait_for

    url = make_url(pg_url)
    proxy = AsyncTcpProxy((url.host or "127.0.0.1", url.port or 5432))
    via = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    engine = make_engine(pg_url)
    direct = session_factory(engine)
    try:
        with slow_web(articles=36) as (web, port), \
                DaemonProc(_daemon_config(tmp_path / "sources.toml", web, port), via) as d:
            d.wait_ready()
            wait_for(lambda: _count(direct, ArticleRow) >= 3, 60, "the first articles")
            proxy.cut()
            wait_for(lambda: d.health()[0] == 503, 30, "/healthz to report the outage")
            wait_for(lambda: "database" in d.output().split("health server listening")[-1].lower()
                     and "error" in d.output().lower(), 30, "the outage in the log")
            time.sleep(1.0)
            assert d.proc.poll() is None, d.output()[-3000:]
            proxy.restore()
            wait_for(lambda: d.health()[0] == 200, 60, "healthy again")
            wait_for(lambda: _count(direct, ArticleRow) >= web.spec.articles, 90,
                     "every article stored after the outage")
            _assert_all_once(direct, web, port)
            assert d.stop() == 0, d.output()[-3000:]
    finally:
        proxy.close()
        engine.dispose()


@pytest.mark.parametrize("hold", [3.0] + ([35.0] if os.environ.get("BANWATCH_LONG_OUTAGE") == "1" else []))
def test_daemon_sqlite_locked_by_a_researcher(tmp_path: Path, hold: float) -> None:
    from tests.daemon_proc import DaemonProc, wait_for

    db = tmp_path / "d.db"
    url = f"sqlite:///{db}"
    engine = make_engine(url)
    sessions = session_factory(engine)
    with slow_web(articles=36) as (web, port), \
            DaemonProc(_daemon_config(tmp_path / "sources.toml", web, port), url) as d:
        d.wait_ready()
        wait_for(lambda: _count(sessions, ArticleRow) >= 3, 60, "the first articles")
        researcher = Researcher(db)
        try:
            researcher.hold(hold).join()
        finally:
            researcher.close()
        assert d.proc.poll() is None, d.output()[-3000:]
        wait_for(lambda: d.health()[0] == 200, 60, "healthy after the lock")
        wait_for(lambda: _count(sessions, ArticleRow) >= web.spec.articles, 90, "every article stored")
        _assert_all_once(sessions, web, port)
        assert d.stop() == 0, d.output()[-3000:]
    engine.dispose()
