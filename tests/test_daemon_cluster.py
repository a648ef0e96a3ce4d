"""Scale-out: three `banwatch daemon` processes on one PostgreSQL database split the work.

Every source is fetched once per interval (never by two nodes at once), every advertised article
is stored exactly once, one digest is written; a node killed with SIGKILL mid-cycle loses its
leases when they expire and the others take its sources over without losing or duplicating anything.
"""

from __future__ import annotations

import signal
from collections import defaultdict
from pathlib import Path

from sqlalchemy import func, select

from pipeline.store import make_engine, session_factory
from pipeline.store.models import ArticleRow, DigestRow, FetchRow, SourceRow
from tests.conftest import _truncate_all
from tests.daemon_proc import DaemonProc, wait_for
from tests.daemon_site import NewsWeb
from tests.testweb import testweb_fixture  # noqa: F401

INTERVAL = 10.0
SOURCES = 6


def _source_fetches(sessions) -> list[FetchRow]:
    with sessions() as s:
        return list(s.scalars(select(FetchRow).where(FetchRow.target == "source").order_by(FetchRow.started_at)))


def test_three_daemons_share_one_database_and_survive_kill_9(testweb, tmp_path: Path, pg_migrated: str):
    _truncate_all(pg_migrated)
    site = NewsWeb(testweb, SOURCES, initial=3, page_delay=0.4)
    cfg = site.write_config(tmp_path / "sources.toml", interval=f"{int(INTERVAL)}s")
    engine = make_engine(pg_migrated)
    sessions = session_factory(engine)
    env = {"BANWATCH_LEASE_SECONDS": "6"}
    nodes = [DaemonProc(cfg, pg_migrated, env=env, name=f"node{i}") for i in range(3)]
    try:
        for n in nodes:
            n.wait_ready(45)
        # kill -9 a node while it holds a source mid-fetch
        victim_fetch = wait_for(lambda: next((f for f in _source_fetches(sessions) if f.status == "running"
                                              and any(f.node and f.node.endswith(f":{n.pid}") for n in nodes)),
                                             None), 60, "a source fetch in flight")
        victim = next(n for n in nodes if victim_fetch.node.endswith(f":{n.pid}"))
        victim.kill()
        survivors = [n for n in nodes if n is not victim]
        with sessions() as s:
            victim_source = s.get(SourceRow, victim_fetch.source_id).key

        def taken_over() -> bool:
            return any(f.source_id == victim_fetch.source_id and f.status == "ok" and f.id > victim_fetch.id
                       and not f.node.endswith(f":{victim.pid}") for f in _source_fetches(sessions))
        wait_for(taken_over, 90, f"another node to take over {victim_source}")
        # then let every feed settle: no new items, and one more complete fetch of each source
        site.freeze()
        frozen_at = max(f.id for f in _source_fetches(sessions))
        wait_for(lambda: _all_fetched_after(sessions, frozen_at), 90, "a full round after the freeze")
        for n in survivors:
            assert n.stop(signal.SIGTERM) == 0, n.output()[-3000:]
    finally:
        for n in nodes:
            n.kill()
    out = "\n".join(n.output() for n in nodes)
    assert "Traceback" not in out, [line[:3000] for line in out.splitlines() if "Traceback" in line]

    with sessions() as s:
        urls = [u for (u,) in s.execute(select(ArticleRow.url))]
        digests = s.scalar(select(func.count()).select_from(DigestRow))
        leased = s.scalar(select(func.count()).select_from(SourceRow).where(SourceRow.lease_owner.is_not(None)))
        sources = {r.id: r.key for r in s.scalars(select(SourceRow))}
    # nothing lost, nothing duplicated
    assert len(urls) == len(set(urls))
    assert set(urls) == site.advertised, (len(urls), len(site.advertised))
    assert digests == 1
    assert leased == 0
    # one node at a time per source, and never sooner than the interval after the previous fetch ended
    fetches = _source_fetches(sessions)
    by_source: dict[int, list[FetchRow]] = defaultdict(list)
    for f in fetches:
        by_source[f.source_id].append(f)
    assert set(by_source) == set(sources)
    nodes_seen = {f.node.rsplit(":", 1)[1] for f in fetches}
    assert len(nodes_seen) >= 2, nodes_seen  # the work was shared (who wins each claim is a race)
    for sid, rows in by_source.items():
        assert sum(r.status in ("ok", "unchanged", "not_modified") for r in rows) >= 2, (sources[sid], [(r.status, r.node) for r in rows])
        for prev, nxt in zip(rows, rows[1:], strict=False):
            assert prev.finished_at is not None and prev.finished_at <= nxt.started_at, (sources[sid], prev.id)
            if prev.status == "ok":
                gap = (nxt.started_at - prev.finished_at).total_seconds()
                assert gap >= INTERVAL - 0.05, (sources[sid], gap)
    # the killed node's fetch was closed as interrupted by the node that took over
    with sessions() as s:
        assert s.get(FetchRow, victim_fetch.id).status == "interrupted"
    # pages: each fetched once, except those of sources the victim was fetching when it died
    victim_sources = {sources[f.source_id] for f in fetches
                      if f.node.endswith(f":{victim.pid}") and f.status == "interrupted"}
    assert victim_source in victim_sources
    for path, n in site.page_requests().items():
        history = [(sources[f.source_id], f.status, f.node, f.started_at.time(), f.items_seen, f.new_articles)
                   for f in fetches if path.startswith(f"/{sources[f.source_id]}/")]
        assert n == 1 or (path.split("/")[1] in victim_sources and n == 2), (path, n, victim_sources, history)
    assert victim.proc.returncode == -signal.SIGKILL
    engine.dispose()


def _all_fetched_after(sessions, after_id: int) -> bool:
    with sessions() as s:
        done = {sid for (sid,) in s.execute(select(FetchRow.source_id).where(
            FetchRow.id > after_id, FetchRow.target == "source", FetchRow.status == "ok",
            FetchRow.finished_at.is_not(None)))}
        all_ids = {i for (i,) in s.execute(select(SourceRow.id))}
    return done >= all_ids
