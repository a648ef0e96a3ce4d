"""End-to-end throughput: a generated news web served locally, one pipeline process on one core.

The web (benchmarks/newsweb.py) runs in a separate process on the other cores; the pipeline
process is pinned to one core and runs the real cycle (CycleRunner + Fetcher: feeds, article
pages, extract, enrich, dedup, stories, store). Figures:

* articles/s end to end for one cycle over ``--articles`` new articles, per backend;
* how the per-article cost changes as the database grows: the database is pre-populated through
  the pipeline's own store path (enrich, dedup, stories, store: ArticleProcessor.store on
  generated articles, no HTTP) up to each size in ``--sizes``, and a cycle over fresh articles
  is measured at each size.

    python benchmarks/pipeline.py                                  # sqlite + postgresql, 1500 articles, 0/5k
    python benchmarks/pipeline.py --db sqlite --sizes 10000,50000,100000     # the large run (about 30 min)
    python benchmarks/pipeline.py --db sqlite --profile out.html   # pyinstrument profile of one cycle
    python benchmarks/pipeline.py --db sqlite --sizes 10000,100000 --seed-cache ~/.cache/banwatch-seed
                                                                   # seeded databases kept for reruns

Bar (DESIGN.md): >= 100 articles/s on one core with SQLite; per-article cost flat as the DB grows.

Two figures per cycle: wall-clock articles/s, and articles per CPU-second of the pinned pipeline
process (its own CPU time). On a machine shared with other work the wall clock also counts time the
core spent on other processes; articles per CPU-second is then the one-core throughput. With
PostgreSQL the server's CPU is not in the figure (it is a separate process, often a separate host).
The CPU time is also split by stage (wrappers around the stage functions, no profiler overhead).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select  # noqa: E402

from benchmarks.newsweb import (  # noqa: E402
    ArticleGen,
    NewsWebSpec,
    resolve,
    serve_in_process,
    sources_toml,
)
from pipeline.config import load_config  # noqa: E402
from pipeline.cycle import CycleRunner, settle_heap  # noqa: E402
from pipeline.extract import ExtractedArticle  # noqa: E402
from pipeline.fetch import Fetcher  # noqa: E402
from pipeline.process import ArticleProcessor  # noqa: E402
from pipeline.runtime import Runtime  # noqa: E402
from pipeline.store.models import ArticleRow  # noqa: E402

DATASET = "/work/shared/datasets/news-pages"
PG_ADMIN = os.environ.get("BANWATCH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SETTINGS = """
[settings]
allow_private_networks = true
per_host_delay = "0s"
per_host_concurrency = 8
max_retries = 0
max_articles_per_source = 10000

[topic]
name = "Foreign-adversary technology bans"
vocabulary = "foreign-adversary-tech-bans"
threshold = 0.5
"""


class StageClock:
    """CPU seconds spent in each stage, by wrapping the processor's stage functions (no profiler overhead).

    The garbage collector's time is measured too (it is also inside the stage that triggered it): the
    collections of the oldest generation walk every live object, so their cost grows with the caches.
    """

    def __init__(self, processor: ArticleProcessor) -> None:
        import gc

        import pipeline.process as process_mod

        self.cpu: dict[str, float] = {}
        self._undo: list[tuple[object, str, object]] = []
        self.gc_cpu = [0.0, 0.0, 0.0]  # seconds per generation
        self.gc_count = [0, 0, 0]
        self._gc_start = 0.0

        def on_gc(phase: str, info: dict) -> None:
            if phase == "start":
                self._gc_start = time.process_time()
            else:
                self.gc_cpu[info["generation"]] += time.process_time() - self._gc_start
                self.gc_count[info["generation"]] += 1

        self._on_gc = on_gc
        gc.callbacks.append(on_gc)
        self._wrap(process_mod, "extract_article", "extract")
        self._wrap(process_mod, "fingerprint", "dedup (fingerprint)")
        self._wrap(processor.enricher, "enrich", "enrich")
        self._wrap(processor.dedup, "find_duplicate", "dedup (lookup)")
        self._wrap(processor.dedup, "index", "dedup (index)")
        self._wrap(processor.tracker, "place", "stories")
        self._wrap(processor, "store", "store path (all but extract)")

    def _wrap(self, owner: object, name: str, label: str) -> None:
        """Time ``owner.name``: a module function, or a method (wrapped on the class when the instance
        does not take attributes, e.g. a slotted dataclass)."""
        target = owner
        if not isinstance(owner, type(sys)) and not hasattr(owner, "__dict__"):
            target = type(owner)
        inner = getattr(target, name)

        def timed(*a, **kw):  # noqa: ANN002, ANN003, ANN202
            t0 = time.process_time()
            try:
                return inner(*a, **kw)
            finally:
                self.cpu[label] = self.cpu.get(label, 0.0) + time.process_time() - t0

        self._undo.append((target, name, vars(target).get(name)))
        setattr(target, name, timed)

    def restore(self) -> None:
        import gc

        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)
        for target, name, old in reversed(self._undo):
            if old is None:
                delattr(target, name)
            else:
                setattr(target, name, old)

    def report(self, total_cpu: float, n: int) -> str:
        parts = dict(self.cpu)
        store = parts.pop("store path (all but extract)", 0.0)
        inner = sum(v for k, v in parts.items() if k != "extract")
        parts["database writes + ORM (rest of store path)"] = store - inner
        parts["fetch + feeds + cycle + event loop (rest)"] = total_cpu - store - parts.get("extract", 0.0)
        lines = [f"      {k:<45} {v / max(n, 1) * 1000:6.2f} ms/article ({v / total_cpu:4.0%})"
                 for k, v in sorted(parts.items(), key=lambda kv: -kv[1])]
        gc_total = sum(self.gc_cpu)
        lines.append(f"      {'(of which garbage collection, all stages)':<45} {gc_total / max(n, 1) * 1000:6.2f} "
                     f"ms/article ({gc_total / total_cpu:4.0%}); collections by generation {self.gc_count}, "
                     f"oldest {self.gc_cpu[2] / max(n, 1) * 1000:.2f} ms/article")
        return "\n".join(lines)


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


@contextlib.contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:6]}.db'}"
        return
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(PG_ADMIN)
    name = f"banwatch_bench_{uuid.uuid4().hex[:8]}"
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def db_size_mb(rt: Runtime) -> float:
    if rt.engine.dialect.name == "sqlite":
        path = Path(rt.engine.url.database or "")
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1e6
    with rt.engine.connect() as conn:
        return float(conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar() or 0) / 1e6


def count_articles(rt: Runtime) -> int:
    with rt.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(ArticleRow)) or 0)


def prepopulate(rt: Runtime, processor: ArticleProcessor, spec: NewsWebSpec, upto: int, start: int,
                report_every: int = 5000) -> None:
    """Store generated articles ``start..upto`` through the pipeline's store path (no HTTP, no extraction)."""
    gen = ArticleGen(spec)
    t0, c0 = time.perf_counter(), time.process_time()
    last = start
    for n in range(start, upto):
        a = gen.article(n)
        url = f"https://s{a.site}.seeded.test{a.path}"
        ex = ExtractedArticle(url=url, title=a.title, text="\n\n".join(a.paragraphs), published_at=a.published,
                              published_at_method="meta", language="en", is_article=True)
        processor.store(rt.sessions, ex, url=url, source_id=None, now=a.published + timedelta(minutes=5))
        if (n + 1 - start) % report_every == 0 or n + 1 == upto:
            dt, dc = time.perf_counter() - t0, time.process_time() - c0
            print(f"    seeded {n + 1:>7} articles; store path {dc / (n + 1 - last) * 1000:6.2f} ms/article CPU, "
                  f"{dt / (n + 1 - last) * 1000:6.2f} wall (enrich+dedup+stories+store, no fetch/extract)",
                  flush=True)
            t0, c0, last = time.perf_counter(), time.process_time(), n + 1


def seeded_copy(cache: Path, spec: NewsWebSpec, size: int, workdir: Path) -> str:
    """A working copy of an SQLite database seeded with ``size`` generated articles, from ``cache``.

    A missing size is built from the largest smaller one in the cache (or from empty) and kept, so the
    large run (100k) seeds once and later runs reuse it. The cache is keyed by size only: delete it
    after changing the generator, the store path's output or the schema.
    """
    import shutil

    cache.mkdir(parents=True, exist_ok=True)
    target = cache / f"seed-{size}.db"
    if not target.exists():
        smaller = sorted((int(f.stem.split("-")[1]), f) for f in cache.glob("seed-*.db")
                         if int(f.stem.split("-")[1]) < size)
        building = cache / f"seed-{size}.db.part"
        start = 0
        if smaller:
            start, src = smaller[-1]
            shutil.copyfile(src, building)
        else:
            building.unlink(missing_ok=True)
        config_path = workdir / "seed.toml"
        config_path.write_text(SETTINGS)
        rt = Runtime(load_config(config_path, env={}), f"sqlite:///{building}")
        rt.open_db(auto_upgrade=True)
        print(f"    seed cache: building {target.name} from {start} articles", flush=True)
        prepopulate(rt, ArticleProcessor(rt.config), spec, size, start)
        with rt.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        rt.close()
        building.rename(target)
    work = workdir / f"bench-{size}-{uuid.uuid4().hex[:6]}.db"
    shutil.copyfile(target, work)
    return f"sqlite:///{work}"


def _pg_admin() -> tuple[str, object]:
    from sqlalchemy.engine import make_url

    admin = make_url(PG_ADMIN)
    return admin.set(drivername="postgresql").render_as_string(hide_password=False), admin


def seeded_copy_pg(spec: NewsWebSpec, size: int, workdir: Path, created: list[str]) -> str:
    """seeded_copy for PostgreSQL: the cache is a template database ``banwatch_seed_<size>`` on the
    server (built once, from the largest smaller one), and the working copy is CREATE DATABASE …
    TEMPLATE (a file copy on the server). Templates stay for later runs: drop them with
    ``DROP DATABASE banwatch_seed_<size>``. Working copies are appended to ``created``."""
    import psycopg

    dsn, admin = _pg_admin()
    target = f"banwatch_seed_{size}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        have = {r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'banwatch_seed_%'")}
        if target not in have:
            smaller = sorted(int(n.rsplit("_", 1)[1]) for n in have
                             if n.rsplit("_", 1)[1].isdigit() and int(n.rsplit("_", 1)[1]) < size)
            building = f"{target}_part"
            conn.execute(f'DROP DATABASE IF EXISTS "{building}"')
            start = smaller[-1] if smaller else 0
            conn.execute(f'CREATE DATABASE "{building}"'
                         + (f' TEMPLATE "banwatch_seed_{start}"' if smaller else ""))
            config_path = workdir / "seed.toml"
            config_path.write_text(SETTINGS)
            rt = Runtime(load_config(config_path, env={}),
                         admin.set(drivername="postgresql+psycopg", database=building)
                         .render_as_string(hide_password=False))
            rt.open_db(auto_upgrade=True)
            print(f"    seed cache: building {target} from {start} articles", flush=True)
            prepopulate(rt, ArticleProcessor(rt.config), spec, size, start)
            rt.close()
            conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{target}"')
        work = f"banwatch_bench_{size}_{uuid.uuid4().hex[:6]}"
        conn.execute(f'CREATE DATABASE "{work}" TEMPLATE "{target}"')
    created.append(work)
    return admin.set(drivername="postgresql+psycopg", database=work).render_as_string(hide_password=False)


def drop_pg(names: list[str]) -> None:
    import psycopg

    dsn, _ = _pg_admin()
    with psycopg.connect(dsn, autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def one_cycle(rt: Runtime, config_text: str, workdir: Path, port: int, sites: int,
                    processor: ArticleProcessor | None) -> tuple[float, int, CycleRunner]:
    cfg = workdir / f"sources-{port}-{uuid.uuid4().hex[:4]}.toml"
    cfg.write_text(config_text + sources_toml(sites, port, max_articles=10000))
    config = load_config(cfg, env={})
    runner = CycleRunner(config, rt.sessions, processor=processor)
    settle_heap()  # as `banwatch run` and the daemon do
    runner.sync()
    sources = list(config.enabled_sources)
    before = count_articles(rt)
    t0 = time.perf_counter()
    async with Fetcher(config.settings, resolver=resolve) as fetcher:
        claimed = runner.claim(sources, lease_seconds=3600, due_only=False)
        await runner.run_sources(fetcher, claimed)
    elapsed = time.perf_counter() - t0
    return elapsed, count_articles(rt) - before, runner


def yardstick(spec: NewsWebSpec, folder: str | None, n: int = 150) -> tuple[float, float] | None:
    """CPU ms per page of trafilatura (text + metadata, dates by htmldate) and of banwatch's
    extract_article on ``n`` pages of the measured web, on the same core in the same run.

    The articles/s figure depends on the machine (one core of this workplace's VMs ran the same
    code at half the speed of another's); the extraction a user would otherwise run, timed beside it,
    is the machine-independent anchor: banwatch's whole pipeline per article against trafilatura's
    extraction alone per page. None when trafilatura is not installed (``pip install -e '.[bench]'``).
    """
    try:
        import trafilatura
    except ImportError:
        return None
    from benchmarks.newsweb import NewsWeb, TemplateBank
    from pipeline.extract import extract_article

    web = NewsWeb(spec, TemplateBank.load(folder) if folder else TemplateBank.builtin())
    pages = [(web.page(k, 80).encode(), web.article_url(k, 80)) for k in range(min(n, spec.articles))]
    for html, url in pages[:5]:  # warm both (imports, caches)
        trafilatura.bare_extraction(html, url=url, with_metadata=True)
        extract_article(html, url)
    c0 = time.process_time()
    for html, url in pages:
        trafilatura.bare_extraction(html, url=url, with_metadata=True)
    c1 = time.process_time()
    for html, url in pages:
        extract_article(html, url)
    c2 = time.process_time()
    return (c1 - c0) / len(pages) * 1000, (c2 - c1) / len(pages) * 1000


def run_backend(kind: str, args: argparse.Namespace, workdir: Path) -> list[str]:
    lines: list[str] = []
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    copies: list[str] = []  # PostgreSQL working copies of seeded databases, dropped at the end
    with database(kind, workdir) as url, contextlib.ExitStack() as cleanup:
        cleanup.callback(lambda: drop_pg(copies) if copies else None)
        config_path = workdir / "base.toml"
        config_path.write_text(SETTINGS)
        rt = Runtime(load_config(config_path, env={}), url)
        rt.open_db(auto_upgrade=True)
        processor = ArticleProcessor(rt.config)
        seeded = 0
        seed_spec = NewsWebSpec(sites=50, articles=max(sizes + [1]), seed=9000, start=args_start(args))
        for round_no, size in enumerate(sizes):
            if args.seed_cache and size > 0:
                # start this size from a cached seeded database (built once, then copied): each size is
                # measured on exactly ``size`` seeded articles, with a fresh processor (cold caches)
                rt.close()
                url = (seeded_copy(Path(args.seed_cache), seed_spec, size, workdir) if kind == "sqlite"
                       else seeded_copy_pg(seed_spec, size, workdir, copies))
                rt = Runtime(load_config(config_path, env={}), url)
                rt.open_db(auto_upgrade=True)
                processor = ArticleProcessor(rt.config)
                seeded = size
            elif size > seeded:
                prepopulate(rt, processor, seed_spec, size, seeded)
                seeded = size
            # the measured web is new to the database: with the seed cache each size starts from its own
            # copy, so every size reads the same web (sizes compare like with like); without it, the
            # rounds share one database and each needs a fresh web (a new seed), or its articles
            # would be copies of the last round's
            spec = NewsWebSpec(sites=args.sites, articles=args.articles,
                               seed=100 if args.seed_cache else 100 + round_no,
                               feed_items=args.articles, start=seed_spec.start + seed_spec.interval
                               * (size if args.seed_cache else seed_spec.articles))
            with serve_in_process(spec, args.pages, cpus=args.server_cpus) as (port, info):
                if round_no == 0:
                    lines.append(f"  templates: {info}")
                stored_before = count_articles(rt)
                prof = None
                if args.profile and round_no == 0:
                    from pyinstrument import Profiler

                    prof = Profiler(interval=0.001, async_mode="enabled")
                    prof.start()
                rss0 = rss_mb()
                clock = StageClock(processor)
                cpu0 = time.process_time()
                try:
                    elapsed, new, _ = asyncio.run(one_cycle(rt, SETTINGS, workdir, port, args.sites, processor))
                finally:
                    clock.restore()
                cpu = time.process_time() - cpu0
                if prof is not None:
                    prof.stop()
                    Path(args.profile).write_text(prof.output_html())
                    print(prof.output_text(unicode=False, color=False, show_all=False)[:args.profile_chars])
            lines.append(f"  {kind:<10} db={stored_before:>7} articles before: {new} new articles in {elapsed:6.1f}s"
                         f" = {new / elapsed:6.1f} articles/s ({elapsed / max(new, 1) * 1000:5.2f} ms/article wall,"
                         f" {cpu / max(new, 1) * 1000:5.2f} ms/article CPU), RSS {rss0:.0f}->{rss_mb():.0f} MB")
            print(lines[-1], flush=True)
            lines.append(f"      = {new / max(cpu, 1e-9):6.1f} articles per CPU-second; CPU by stage:\n"
                         + clock.report(cpu, new))
            print(lines[-1], flush=True)
            if round_no == 0 and not args.no_yardstick and (ys := yardstick(spec, args.pages)) is not None:
                per_article = cpu / max(new, 1) * 1000
                lines.append(f"      yardstick, same pages, same core: trafilatura (text + metadata) {ys[0]:.2f} ms/page"
                             f" CPU, banwatch extract_article {ys[1]:.2f}; banwatch end to end {per_article:.2f}"
                             f" ms/article = {ys[0] / per_article:.2f}x the speed of trafilatura's extraction alone")
                print(lines[-1], flush=True)
        total = count_articles(rt)
        size_mb = db_size_mb(rt)
        lines.append(f"  {kind:<10} database: {total} articles, {size_mb:.1f} MB "
                     f"= {size_mb / max(total, 1) * 1e5 / 1e3:.2f} GB per 100k articles")
        print(lines[-1], flush=True)
        rt.close()
    return lines


def args_start(args: argparse.Namespace):  # noqa: ANN201 - a datetime
    from datetime import UTC, datetime

    return datetime(2024, 1, 1, tzinfo=UTC)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pages", default=DATASET if Path(DATASET).is_dir() else None,
                   help="news-pages dataset folder for page templates (default: %(default)s; built-in layouts "
                        "without it)")
    p.add_argument("--db", default="both", choices=["sqlite", "postgresql", "both"])
    p.add_argument("--articles", type=int, default=1500, help="new articles per measured cycle")
    p.add_argument("--sites", type=int, default=20)
    p.add_argument("--sizes", default="0,5000", help="database sizes (articles) at which to measure a cycle, "
                   "e.g. 10000,50000,100000 for the large run")
    p.add_argument("--cpu", type=int, default=None, help="core for the pipeline (default: the first allowed)")
    p.add_argument("--seed-cache", default=None, help="folder keeping seeded SQLite databases per size "
                   "(PostgreSQL: template databases banwatch_seed_<size> on the server), built once and copied "
                   "for each run: each size then starts from exactly that many articles, with cold caches")
    p.add_argument("--no-yardstick", action="store_true", help="skip timing trafilatura on the same pages")
    p.add_argument("--profile", default=None, help="write a pyinstrument HTML profile of the first cycle here")
    p.add_argument("--profile-chars", type=int, default=6000)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    allowed = sorted(os.sched_getaffinity(0))
    core = args.cpu if args.cpu is not None else allowed[0]
    others = set(allowed) - {core}
    args.server_cpus = others or None
    os.sched_setaffinity(0, {core})
    print(f"pipeline pinned to core {core}; news web on cores {sorted(others) or 'shared'}; "
          f"{args.articles} articles over {args.sites} sites per cycle; sizes {args.sizes}", flush=True)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    out: list[str] = []
    with tempfile.TemporaryDirectory(prefix="banwatch-bench-") as tmp:
        for kind in kinds:
            out += run_backend(kind, args, Path(tmp))
    print("\nsummary")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
