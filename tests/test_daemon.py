"""`banwatch daemon` as a real process: schedule, health, metrics, digest, clean stop, database outage."""

from __future__ import annotations

import signal
import socket
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pipeline.config import Config, Settings, Source
from pipeline.daemon import Daemon, DaemonOptions, expire_leases
from pipeline.errors import ConfigError
from pipeline.runtime import Runtime
from pipeline.store import make_engine, session_factory
from pipeline.store.base import utcnow
from pipeline.store.models import ArticleRow, DigestRow, FetchRow, SourceRow, StoryRow
from tests.daemon_proc import DaemonProc, wait_for
from tests.daemon_site import NewsWeb
from tests.testweb import testweb_fixture  # noqa: F401


def _count(sessions, model, *where) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _fetches(sessions, status: str | None = None) -> list[FetchRow]:
    with sessions() as s:
        q = select(FetchRow).where(FetchRow.target == "source")
        if status:
            q = q.where(FetchRow.status == status)
        return list(s.scalars(q.order_by(FetchRow.id)))


def test_daemon_runs_serves_health_and_stops_cleanly(testweb, tmp_path: Path):
    site = NewsWeb(testweb, 2, initial=3)
    cfg = site.write_config(tmp_path / "sources.toml")
    db = f"sqlite:///{tmp_path / 'b.db'}"
    engine = make_engine(db)
    sessions = session_factory(engine)
    with DaemonProc(cfg, db) as d:
        d.wait_ready()
        wait_for(lambda: len(_fetches(sessions, "ok")) >= 2, 30, "both sources fetched")
        wait_for(lambda: _count(sessions, ArticleRow) >= 6, 30, "articles stored")
        wait_for(lambda: _count(sessions, DigestRow) == 1, 30, "the catch-up digest")
        status, health = d.health()
        assert status == 200 and health["status"] == "ok", health
        assert health["scheduler"]["running"] and health["database"]["reachable"]
        assert health["last_successful_cycle_at"] is not None
        status, metrics = d.get("/metrics")
        text = metrics.decode()
        assert status == 200
        for name in ('banwatch_fetches_total{status="ok",target="source"}', "banwatch_articles_stored_total",
                     "banwatch_duplicates_total", "banwatch_db_events", 'banwatch_db_stories{status="developing"}',
                     "banwatch_fetch_seconds_bucket", "banwatch_extract_seconds_bucket", "banwatch_up 1.0"):
            assert name in text, name
        assert d.get("/nope")[0] == 404
        assert d.stop(signal.SIGTERM) == 0
    out = d.output()
    assert 'msg="daemon stopped"' in out and "Traceback" not in out
    assert (tmp_path / "digests" / "atom.xml").exists()
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(SourceRow).where(SourceRow.lease_owner.is_not(None))) == 0
    assert not _fetches(sessions, "running")
    engine.dispose()


def test_sigterm_mid_cycle_records_interrupted_work(testweb, tmp_path: Path):
    site = NewsWeb(testweb, 2, initial=4, page_delay=30)  # pages hang: SIGTERM lands mid-fetch
    cfg = site.write_config(tmp_path / "sources.toml")
    db = f"sqlite:///{tmp_path / 'b.db'}"
    engine = make_engine(db)
    sessions = session_factory(engine)
    with DaemonProc(cfg, db) as d:
        d.wait_ready()
        wait_for(lambda: len(_fetches(sessions, "running")) == 2, 30, "both sources in flight")
        wait_for(lambda: sum("/article-" in r.path for r in testweb.requests()) >= 2, 30, "page requests")
        assert d.stop(signal.SIGTERM, timeout=15) == 0
    statuses = {f.status for f in _fetches(sessions)}
    assert statuses == {"interrupted"}, statuses
    with sessions() as s:
        rows = list(s.scalars(select(SourceRow)))
    assert all(r.lease_owner is None for r in rows)
    assert all(r.consecutive_failures == 0 for r in rows)  # a shutdown is not the source's fault
    engine.dispose()


class TcpProxy:
    """A TCP forwarder we can cut: the daemon's only road to PostgreSQL."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.up = True
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        self.up = False
        with self._lock:
            conns, self._conns = self._conns, []
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
                c.close()
            except OSError:
                pass

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.cut()
        self.sock.close()


def test_database_outage_is_survived(testweb, tmp_path: Path, pg_migrated: str):
    from sqlalchemy.engine import make_url

    from tests.conftest import _truncate_all

    _truncate_all(pg_migrated)
    url = make_url(pg_migrated)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    via_proxy = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    site = NewsWeb(testweb, 2, initial=2)
    cfg = site.write_config(tmp_path / "sources.toml")
    engine = make_engine(pg_migrated)
    sessions = session_factory(engine)
    try:
        with DaemonProc(cfg, via_proxy) as d:
            d.wait_ready()
            wait_for(lambda: len(_fetches(sessions, "ok")) >= 2, 30, "first fetches")
            assert d.health()[0] == 200
            proxy.cut()
            status, health = wait_for(lambda: (h := d.health())[0] == 503 and h, 20, "unhealthy report")
            assert health["database"]["reachable"] is False and "database unreachable" in health["problems"]
            wait_for(lambda: 'msg="database error, backing off"' in d.output(), 30, "a logged database error")
            assert d.proc.poll() is None  # still running
            before = len(_fetches(sessions, "ok"))
            proxy.restore()
            wait_for(lambda: d.health()[0] == 200, 30, "healthy again")
            wait_for(lambda: len(_fetches(sessions, "ok")) > before, 60, "fetching resumed")
            assert d.stop() == 0
    finally:
        proxy.close()
        engine.dispose()


def _runtime(db_url: str, tmp_path: Path, **settings) -> Runtime:
    config = Config(path=tmp_path / "sources.toml", settings=Settings(**settings),
                    sources=(Source(key="a", name="A", kind="feed", url="http://127.0.0.1:9/a.xml"),
                             Source(key="b", name="B", kind="feed", url="http://127.0.0.1:9/b.xml")))
    return Runtime(config=config, db_url=db_url)


def test_housekeeping(db_url: str, tmp_path: Path):
    rt = _runtime(db_url, tmp_path, story_dormant_after=86400.0, fetch_log_retention=7 * 86400.0)
    daemon = Daemon(rt, health_port=0, options=DaemonOptions(), node="me:1")
    from pipeline.cycle import CycleRunner

    CycleRunner(rt.config, rt.sessions, node="other:2").sync()
    now = utcnow()
    with rt.sessions() as s, s.begin():
        a, b = s.scalars(select(SourceRow).order_by(SourceRow.key)).all()
        a.lease_owner, a.lease_expires_at = "dead:3", now - timedelta(seconds=1)  # a killed node's lease
        b.lease_owner, b.lease_expires_at = "alive:4", now + timedelta(seconds=60)
        s.add_all([
            FetchRow(source_id=a.id, started_at=now - timedelta(seconds=30), status="running", node="dead:3"),
            FetchRow(source_id=b.id, started_at=now - timedelta(seconds=5), status="running", node="alive:4"),
            FetchRow(source_id=b.id, started_at=now - timedelta(days=8), status="ok"),
            FetchRow(source_id=b.id, started_at=now - timedelta(days=6), status="ok"),
        ])
        s.add_all([StoryRow(title="old", status="developing", first_seen_at=now - timedelta(days=5),
                            last_updated_at=now - timedelta(days=2)),
                   StoryRow(title="fresh", status="developing", first_seen_at=now - timedelta(days=5),
                            last_updated_at=now - timedelta(hours=2))])
    result = daemon.housekeeping(now)
    assert result == {"dormant_stories": 1, "pruned_fetches": 1, "expired_leases": 1}
    with rt.sessions() as s:
        a, b = s.scalars(select(SourceRow).order_by(SourceRow.key)).all()
        assert (a.lease_owner, a.lease_expires_at) == (None, None)
        assert b.lease_owner == "alive:4"
        by_node = {f.node: f.status for f in s.scalars(select(FetchRow).where(FetchRow.node.is_not(None)))}
        assert by_node == {"dead:3": "interrupted", "alive:4": "running"}
        assert dict(s.execute(select(StoryRow.title, StoryRow.status)).all()) == {
            "old": "dormant", "fresh": "developing"}
    assert expire_leases(rt.sessions, now) == 0  # idempotent
    rt.close()


def test_options_from_env():
    o = DaemonOptions.from_env({"BANWATCH_LEASE_SECONDS": "30", "BANWATCH_HEALTH_HOST": "127.0.0.1"})
    assert o.lease_seconds == 30 and o.health_host == "127.0.0.1"
    assert DaemonOptions.from_env({"BANWATCH_LEASE_SECONDS": "1"}).lease_seconds == 5  # floor
    with pytest.raises(ConfigError, match="BANWATCH_LEASE_SECONDS"):
        DaemonOptions.from_env({"BANWATCH_LEASE_SECONDS": "soon"})


def test_busy_health_port_is_a_clear_error(tmp_path: Path):
    import subprocess
    import sys

    with socket.socket() as busy:
        busy.bind(("0.0.0.0", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        cfg = tmp_path / "sources.toml"
        cfg.write_text("[settings]\n")
        proc = subprocess.run([sys.executable, "-m", "pipeline.cli", "--config", str(cfg), "--db",
                               f"sqlite:///{tmp_path / 'b.db'}", "daemon", "--health-port", str(port)],
                              capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert f"cannot serve /healthz on 0.0.0.0:{port}" in proc.stderr and "Traceback" not in proc.stderr


def test_digest_day_due_follows_the_local_clock():
    from datetime import UTC, date, datetime

    from pipeline.daemon import digest_day_due

    config = Config(path=None, settings=Settings(timezone="America/New_York", digest_time="07:00"))
    at_0630_local = datetime(2026, 11, 20, 11, 30, tzinfo=UTC)  # 06:30 in New York
    at_0800_local = datetime(2026, 11, 20, 13, 0, tzinfo=UTC)
    late_evening = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)  # 22:00 on the 20th in New York
    assert digest_day_due(config, at_0800_local, catch_up=False) == date(2026, 11, 19)
    assert digest_day_due(config, at_0800_local, catch_up=True) == date(2026, 11, 19)
    assert digest_day_due(config, at_0630_local, catch_up=True) == date(2026, 11, 18)
    assert digest_day_due(config, late_evening, catch_up=True) == date(2026, 11, 19)
