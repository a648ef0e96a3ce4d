"""Soak, short version: many cycles against a web that keeps publishing; memory and fds stay flat.

Also the bounds of the caches a months-long daemon keeps filling (decoded story profiles, headline
words, entity ids, per-host fetch state): each stays within its bound however many keys go through.

Runs the cycle machinery the daemon uses (one CycleRunner and one Fetcher kept for the whole run,
as in the daemon) for BANWATCH_SOAK_CYCLES cycles (default 30), the web publishing new articles
before each one. The resident set size and the open file descriptors of this process are sampled
after every cycle; after a warm-up quarter their growth must stay within small bounds.
The long run against the real daemon process is benchmarks/soak.py.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import func, select

from benchmarks.newsweb import NewsWeb, NewsWebSpec, TemplateBank, resolve, serve, sources_toml
from pipeline import stories
from pipeline.config import Settings, load_config
from pipeline.cycle import CycleRunner
from pipeline.enrich import EntityHit
from pipeline.fetch import Fetcher, politeness
from pipeline.fetch import fetcher as fetcher_module
from pipeline.fetch import guard as guard_module
from pipeline.fetch import transport as transport_module
from pipeline.fetch.guard import AddressGuard
from pipeline.runtime import Runtime
from pipeline.store import make_engine, session_factory
from pipeline.store.models import ArticleRow
from pipeline.store.writer import EntityCache
from tests.testweb import LOCAL_PROFILE, LocalWeb, Response, testweb_fixture  # noqa: F401

CYCLES = int(os.environ.get("BANWATCH_SOAK_CYCLES", "30"))
PER_CYCLE = 12


def rss_mb(pid: int | str = "self", field: str = "VmRSS") -> float:
    """Resident memory in MB; ``field="RssAnon"`` leaves out file pages (SQLite maps its database file)."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def open_fds(pid: int | str = "self") -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def slope(values: list[float]) -> float:
    """Least-squares slope per sample."""
    n = len(values)
    if n < 2:
        return 0.0
    mx, my = (n - 1) / 2, sum(values) / n
    num = sum((i - mx) * (v - my) for i, v in enumerate(values))
    den = sum((i - mx) ** 2 for i in range(n))
    return num / den


async def soak(rt: Runtime, web: NewsWeb, config_path: Path, cycles: int) -> tuple[list[float], list[int]]:
    config = load_config(config_path, env={})
    runner = CycleRunner(config, rt.sessions)
    runner.sync()
    rss: list[float] = []
    fds: list[int] = []
    async with Fetcher(config.settings, resolver=resolve) as fetcher:
        for _ in range(cycles):
            web.published = (web.published or 0) + PER_CYCLE
            claimed = runner.claim(list(config.enabled_sources), lease_seconds=600, due_only=False)
            await runner.run_sources(fetcher, claimed)
            gc.collect()
            rss.append(rss_mb())
            fds.append(open_fds())
    return rss, fds


def test_soak_memory_and_fds_flat(db_url: str, tmp_path: Path) -> None:
    spec = NewsWebSpec(sites=4, articles=CYCLES * PER_CYCLE, seed=3, paragraphs=(3, 7), feed_items=30)
    web = NewsWeb(spec, TemplateBank.builtin(), published=0)
    with serve(web) as port:
        cfg = tmp_path / "sources.toml"
        cfg.write_text(LOCAL_PROFILE + sources_toml(spec.sites, port))
        rt = Runtime(load_config(cfg, env={}), db_url)
        rt.open_db(auto_upgrade=True)
        rss, fds = asyncio.run(soak(rt, web, cfg, CYCLES))
        with rt.sessions() as s:
            stored = s.scalar(select(func.count()).select_from(ArticleRow))
        rt.close()
    assert stored == spec.articles  # every article published was stored, once
    warm = CYCLES // 4
    rss_after, fds_after = rss[warm:], fds[warm:]
    report = (f"RSS {rss[0]:.0f} -> {rss[warm]:.0f} -> {rss[-1]:.0f} MB, slope after warm-up "
              f"{slope(rss_after) * 1000:.0f} kB/cycle; fds {fds[0]} -> {fds[-1]}, slope {slope(fds_after):.3f}/cycle")
    print(report)
    assert max(fds_after) - min(fds_after) <= 4, report
    assert rss_after[-1] - min(rss_after) < 25, report
    assert slope(rss_after) < 0.5, report  # MB per cycle


def test_profile_cache_stays_within_its_bound() -> None:
    tracker = stories.StoryTracker()
    for i in range(2 * stories.PROFILE_CACHE_SIZE + 7):  # new clusters and new versions of old ones
        tracker._decoded("event", i % (stories.PROFILE_CACHE_SIZE + 3), json.dumps({"v": {f"w{i}": 1.0}, "n": i}))
        assert len(tracker._profiles) <= stories.PROFILE_CACHE_SIZE


def test_headline_cache_stays_within_its_bound() -> None:
    tracker = stories.StoryTracker()
    for i in range(stories.TITLE_CACHE_SIZE + 50):
        tracker._title_word_set(f"headline number {i} about chips")
    assert len(tracker._title_words) <= stories.TITLE_CACHE_SIZE


def test_word_stem_cache_stays_within_its_bound(monkeypatch) -> None:
    monkeypatch.setattr(stories, "_WORD_CACHE_SIZE", 100)
    monkeypatch.setattr(stories, "_WORD_STEMS", {})
    words = " ".join(f"ban{chr(97 + i % 26)}{i}x" for i in range(1000)) + " " + "w" * 60  # new words, a long one
    assert len(stories.tokens(words)) >= 1000 and stories.tokens(words) == stories.tokens(words)
    assert 0 < len(stories._WORD_STEMS) <= 100 and "w" * 60 not in stories._WORD_STEMS


def test_entity_cache_stays_within_its_bound(db_url: str) -> None:
    engine = make_engine(db_url)
    cache = EntityCache(max_entries=10)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    try:
        with session_factory(engine)() as s, s.begin():
            for i in range(30):
                hits = [EntityHit(f"discovered:name-{i}-{j}", f"Name {i} {j}", "organisation", None, "discovered", 1)
                        for j in range(3)]
                ids = cache.ids_for(s, hits, now)
                assert len(ids) == 3 and len(cache._ids) <= 10
    finally:
        engine.dispose()


def test_robots_cache_stays_within_its_bound(monkeypatch) -> None:
    monkeypatch.setattr(politeness, "MAX_ORIGINS", 8)

    async def load(_url: str) -> tuple[int, str]:
        return 200, "User-agent: *\nDisallow: /private/\n"

    async def run() -> int:
        cache = politeness.RobotsCache(load)
        held = 0
        for i in range(40):  # more origins than the bound, none expired (a robots.txt is kept 24 hours)
            await cache.rules(f"https://h{i}.example/news/{i}")
            held = max(held, len(cache._rules))
        return held

    assert asyncio.run(run()) <= 8


def test_per_host_fetch_state_stays_within_its_bound(monkeypatch) -> None:
    monkeypatch.setattr(fetcher_module, "MAX_IDLE_HOSTS", 20)

    async def run() -> int:
        async with Fetcher(Settings(allow_private_networks=True)) as f:
            for i in range(100):
                f.gate(f"host{i}.example")
            return len(f._gates)

    assert asyncio.run(run()) <= 20


def test_origins_met_once_do_not_keep_pools_or_sockets(monkeypatch, testweb: LocalWeb) -> None:
    """Article hosts seen once: their idle keep-alive connections expire and must not pin their pools."""
    monkeypatch.setattr(transport_module, "MAX_ORIGINS", 4)
    testweb.set_default(lambda _req: Response("<p>x</p>"))
    limits = httpx.Limits(max_connections=None, keepalive_expiry=0.03, max_keepalive_connections=2)
    transport = transport_module.GuardedTransport(AddressGuard(allow_private=True, resolver=testweb.resolve),
                                                  limits=limits)

    async def run() -> int:
        async with httpx.AsyncClient(transport=transport) as client:
            for i in range(16):
                assert (await client.get(f"http://h{i}.test:{testweb.port}/")).status_code == 200
                await asyncio.sleep(0.05)  # the connections opened so far are past their keep-alive expiry
            return len(transport._origins)

    assert asyncio.run(run()) <= 4


def test_dns_cache_stays_within_its_bound(monkeypatch) -> None:
    """A minute's worth of new hosts (answers not yet expired) must not grow the cache past its bound."""
    monkeypatch.setattr(guard_module, "DNS_CACHE_MAX", 8)

    async def public(host: str, port: int) -> list[str]:
        return ["93.184.216.34"]

    guard = AddressGuard(allow_private=False, resolver=public)

    async def run() -> int:
        for i in range(40):
            await guard.resolve(f"host{i}.example", 443)
        return len(guard._cache)

    assert asyncio.run(run()) <= 8
