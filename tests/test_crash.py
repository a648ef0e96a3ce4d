"""Crash consistency: `banwatch run --once` killed with SIGKILL at random points, then rerun.

The kills land during start-up and schema migration, while feeds and (slow) article pages are
being fetched, and right after an article was committed, i.e. while the next ones are being
extracted and written. After a final uninterrupted run the database must hold every article
exactly once, each with all of its parts (entities, dates, dedup sketch, event when relevant), and
the fetch log must show the interrupted attempts and no attempt still "running".

BANWATCH_CRASH_KILLS sets the number of kills per backend (default 10).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from benchmarks.newsweb import NewsWeb, NewsWebSpec, TemplateBank, serve, sources_toml
from pipeline.config import load_config
from pipeline.dedup import canonicalize_url, fingerprint
from pipeline.process import ArticleProcessor
from pipeline.store import make_engine, session_factory
from pipeline.store.index_models import DedupSketchRow
from pipeline.store.models import ArticleDateRow, ArticleEntityRow, ArticleRow, EntityRow, FetchRow
from tests.testweb import LOCAL_PROFILE

KILLS = int(os.environ.get("BANWATCH_CRASH_KILLS", "10"))


def banwatch_cmd() -> list[str]:
    script = Path(sys.executable).parent / "banwatch"
    return [str(script)] if script.exists() else [sys.executable, "-m", "pipeline.cli"]


class Run:
    """One `banwatch run --once` subprocess whose output is read as it comes."""

    def __init__(self, config: Path, db_url: str) -> None:
        self.proc = subprocess.Popen([*banwatch_cmd(), "--config", str(config), "--db", db_url, "run", "--once"],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def saw(self, text: str) -> bool:
        return any(text in line for line in list(self.lines))

    def wait_until(self, cond: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if cond():
                return True
            time.sleep(0.01)
        return False

    def kill(self) -> bool:
        """SIGKILL; True if the process was still running."""
        alive = self.proc.poll() is None
        if alive:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        self._reader.join(5)
        return alive

    def finish(self, timeout: float = 120) -> int:
        rc = self.proc.wait(timeout)
        self._reader.join(5)
        return rc


def _count(sessions, model, *where) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _safe_count(sessions) -> int:
    try:
        return _count(sessions, ArticleRow)
    except Exception:  # noqa: BLE001 - the schema may not exist yet (the killed run was migrating)
        return 0


@pytest.fixture
def crash_db(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> str:
    """The backend's database; on SQLite an empty file, so that early kills land inside the migration."""
    if db_url.startswith("sqlite"):
        path = tmp_path / "crash.db"
        for p in tmp_path.glob("crash.db*"):
            p.unlink()
        return f"sqlite:///{path}"
    return db_url


def test_sigkill_at_random_points_then_rerun(crash_db: str, tmp_path: Path) -> None:
    rng = random.Random(int(os.environ.get("BANWATCH_CRASH_SEED", "0")) or None)
    seed = rng.randrange(1 << 30)
    rng = random.Random(seed)
    spec = NewsWebSpec(sites=3, articles=60, seed=seed % 1000, one_host=True, slow_every=4, slow_delay=0.5,
                       paragraphs=(4, 8), copy_share=0.12, feed_items=60)
    web = NewsWeb(spec, TemplateBank.builtin())
    with serve(web) as port:
        cfg = tmp_path / "sources.toml"
        cfg.write_text(LOCAL_PROFILE + sources_toml(spec.sites, port, one_host=True))
        engine = make_engine(crash_db)
        sessions = session_factory(engine)
        kills: list[str] = []
        try:
            for i in range(KILLS):
                before = _safe_count(sessions)
                run = Run(cfg, crash_db)
                mode = ("startup", "fetching", "writing", "writing")[i % 4]
                if mode == "startup":
                    time.sleep(rng.uniform(0.2, 2.5))
                elif mode == "fetching":
                    run.wait_until(lambda r=run: r.saw("fetched source="), 30)
                    time.sleep(rng.uniform(0.0, 0.6))
                else:
                    run.wait_until(lambda b=before: _safe_count(sessions) > b, 30)
                    time.sleep(rng.uniform(0.0, 0.25))
                if run.kill():
                    kills.append(mode)
                else:
                    assert run.proc.returncode == 0, "".join(run.lines)
            final = Run(cfg, crash_db)
            rc = final.finish()
            assert rc == 0, "".join(final.lines)
            print("kills:", kills, "seed:", seed)
            check_database(sessions, web, port, cfg, kills, seed)
        finally:
            engine.dispose()
            shutil.rmtree(tmp_path / "digests", ignore_errors=True)


def check_database(sessions, web: NewsWeb, port: int, cfg: Path, kills: list[str], seed: int) -> None:
    where = f"(seed {seed}, kills {kills})"
    expected = {canonicalize_url(web.article_url(n, port)) for n in range(web.spec.articles)}
    with sessions() as s:
        rows = list(s.scalars(select(ArticleRow)))
        stored = [r.canonical_url for r in rows]
        assert len(stored) == len(set(stored)), f"an article stored twice {where}"
        assert set(stored) == expected, f"missing {sorted(expected - set(stored))[:5]} {where}"
        # every article whole: recompute what the pipeline derives from the stored text and compare
        config = load_config(cfg, env={})
        enricher = ArticleProcessor(config).enricher
        ent_keys = dict(s.execute(select(EntityRow.id, EntityRow.key)).all())
        by_article: dict[int, set[str]] = {}
        for aid, eid in s.execute(select(ArticleEntityRow.article_id, ArticleEntityRow.entity_id)):
            by_article.setdefault(aid, set()).add(ent_keys[eid])
        dates: dict[int, set[tuple[str, str]]] = {}
        for aid, d, role in s.execute(select(ArticleDateRow.article_id, ArticleDateRow.date, ArticleDateRow.role)):
            dates.setdefault(aid, set()).add((d.isoformat(), role))
        sketches = set(s.scalars(select(DedupSketchRow.article_id)))
        relevant = 0
        for r in rows:
            e = enricher.enrich(r.title, r.text, r.published_at, r.language)
            got, want = by_article.get(r.id, set()), {h.key for h in e.entities}
            assert got == want, f"entities of {r.url}: stored {sorted(got)}, expected {sorted(want)} {where}"
            assert dates.get(r.id, set()) == {(d.date.isoformat(), d.role) for d in e.dates}, \
                f"dates of {r.url} {where}"
            if fingerprint(r.title, r.text).band_keys:
                assert r.id in sketches, f"dedup sketch of {r.url} {where}"
            if r.is_relevant and r.duplicate_of is None:
                relevant += 1
                assert r.event_id is not None, f"relevant article without its event: {r.url} {where}"
        assert relevant > 0
        # the fetch log: nothing left running; the killed runs that had started fetching are recorded
        running = _count(sessions, FetchRow, FetchRow.status == "running")
        assert running == 0, f"{running} fetch rows still 'running' {where}"
        interrupted = _count(sessions, FetchRow, FetchRow.status == "interrupted", FetchRow.target == "source")
        must = sum(1 for k in kills if k in ("fetching", "writing"))
        assert must <= interrupted <= web.spec.sites * len(kills), where


def test_failure_inside_the_sqlite_migration_leaves_a_usable_database(tmp_path: Path) -> None:
    """A start-up that dies between two CREATE TABLEs of the migration must not brick the file.

    Regression: the SQLite driver ran DDL outside transactions, so a run killed while migrating an
    empty database left some tables behind and every later run failed with "table … already exists".
    """
    from sqlalchemy import event, inspect
    from sqlalchemy.engine import Engine

    from pipeline.config import Config
    from pipeline.runtime import Runtime
    from pipeline.store.migrate import current_revision, head_revision

    class Crash(Exception):
        pass

    def crash_on_second_table(conn, cursor, statement, params, context, executemany) -> None:
        if statement.lstrip().upper().startswith("CREATE TABLE"):
            seen.append(statement)
            if len(seen) == 3:
                raise Crash("the process died here")

    seen: list[str] = []
    url = f"sqlite:///{tmp_path / 'm.db'}"
    event.listen(Engine, "before_cursor_execute", crash_on_second_table)
    try:
        rt = Runtime(Config(path=None), url)
        with pytest.raises(Exception) as info:
            rt.open_db(auto_upgrade=True)
        assert "died here" in str(info.value)
        rt.close()
    finally:
        event.remove(Engine, "before_cursor_execute", crash_on_second_table)
    assert len(seen) == 3
    rt = Runtime(Config(path=None), url)
    rt.open_db(auto_upgrade=True)  # the rerun migrates from where the schema really is
    assert current_revision(rt.engine) == head_revision(rt.engine)
    assert "articles" in inspect(rt.engine).get_table_names()
    rt.close()


def test_leases_of_a_killed_process_are_taken_over(db_url: str, tmp_path: Path) -> None:
    """A `run --once` killed while holding leases must not make the rerun skip every source."""
    import socket
    from datetime import timedelta

    from pipeline.config import Config, Source
    from pipeline.cycle import CycleRunner
    from pipeline.store.base import utcnow
    from pipeline.store.models import SourceRow

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    config = Config(path=None, sources=(Source(key="a", name="A", kind="feed", url="http://127.0.0.1:9/a"),
                                        Source(key="b", name="B", kind="feed", url="http://127.0.0.1:9/b")))
    engine = make_engine(db_url)
    sessions = session_factory(engine)
    runner = CycleRunner(config, sessions, node="me:1")
    runner.sync()
    with sessions() as s, s.begin():
        for key, owner in (("a", f"{socket.gethostname()}:{dead.pid}"), ("b", "other-host:4242")):
            row = s.scalar(select(SourceRow).where(SourceRow.key == key))
            row.lease_owner, row.lease_expires_at = owner, utcnow() + timedelta(minutes=10)
    claimed = runner.claim(list(config.sources), lease_seconds=60, due_only=False)
    assert [c.key for c in claimed] == ["a"]  # the live (other host) lease is respected
    engine.dispose()
