"""Soak: the real `banwatch daemon` for a while against a local web that keeps publishing.

The generated news web (benchmarks/newsweb.py, all sites on 127.0.0.1 under /s<N>/) publishes
``--per-minute`` articles a minute; every source is fetched every 10 s (the shortest interval the
config allows), so a 30-minute run is about 180 cycles per source. The daemon's resident memory and
open file descriptors are read from /proc every ``--sample`` seconds; the slope after the warm-up
(``--warmup``, the first fifth by default) and over the last half are printed, with the number of
articles stored against the number published. The daemon's caches are bounded (decoded story
profiles, headline words, entity ids, per-host state; see docs/operations.md): while they fill, RSS
rises and then levels off, so a slope over the last half well below the one after warm-up is a cache
still filling, and a steady slope is a leak.

    python benchmarks/soak.py                          # 5 minutes, SQLite
    python benchmarks/soak.py --minutes 30 --small-caches   # caches full within minutes: a leak shows
    python benchmarks/soak.py --minutes 30 --db postgresql+psycopg://postgres@127.0.0.1:5432/test
    python benchmarks/soak.py --minutes 40 --small-caches --trace /tmp/trace --trace-frames 0
                                   # plus, each minute: Python traced, SQLite and malloc memory
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select  # noqa: E402

from benchmarks.newsweb import NewsWeb, NewsWebSpec, TemplateBank, serve, sources_toml  # noqa: E402
from pipeline.store import make_engine, session_factory  # noqa: E402
from pipeline.store.models import ArticleRow  # noqa: E402
from tests.test_soak import open_fds, rss_mb, slope  # noqa: E402

SETTINGS = """
[settings]
allow_private_networks = true
per_host_delay = "0s"
per_host_concurrency = 8
max_retries = 0
respect_robots = false
digest_time = "00:00"
output_dir = "{out}"

[topic]
name = "Foreign-adversary technology bans"
vocabulary = "foreign-adversary-tech-bans"
threshold = 0.5
"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=5.0)
    p.add_argument("--sources", type=int, default=20)
    p.add_argument("--per-minute", type=int, default=120, help="articles published per minute")
    p.add_argument("--sample", type=float, default=5.0, help="seconds between samples")
    p.add_argument("--db", default=None, help="database URL (default: a fresh SQLite file)")
    p.add_argument("--pages", default=None, help="news-pages folder for templates (default: built-in layouts)")
    p.add_argument("--warmup", type=float, default=0.2, help="fraction of the samples left out of the slope")
    p.add_argument("--small-caches", action="store_true", help="shrink every long-lived cache to a few hundred "
                   "entries (benchmarks/_soak_daemon.py) so all are full within minutes: growth after that "
                   "is a leak, not a cache filling")
    p.add_argument("--trace", default=None, metavar="DIR", help="with --small-caches: trace Python allocations "
                   "in the daemon and write snapshots to DIR every --trace-every seconds")
    p.add_argument("--trace-every", type=float, default=120.0)
    p.add_argument("--trace-frames", type=int, default=8, help="tracemalloc frames per allocation; 0 records "
                   "only object counts and native memory (SQLite, malloc), without tracemalloc's overhead")
    args = p.parse_args(argv)
    if args.trace and not args.small_caches:
        p.error("--trace needs --small-caches (the tracing hook lives in benchmarks/_soak_daemon.py)")
    total = int(args.minutes * args.per_minute) + args.per_minute
    spec = NewsWebSpec(sites=args.sources, articles=total, seed=5, one_host=True, paragraphs=(4, 9),
                       feed_items=50)
    web = NewsWeb(spec, TemplateBank.load(args.pages), published=args.per_minute // 6)
    with tempfile.TemporaryDirectory(prefix="banwatch-soak-") as tmp, serve(web) as port:
        db = args.db or f"sqlite:///{Path(tmp) / 'soak.db'}"
        cfg = Path(tmp) / "sources.toml"
        cfg.write_text(SETTINGS.format(out=Path(tmp) / "digests")
                       + sources_toml(spec.sites, port, one_host=True, interval="10s", max_articles=50))
        entry = "benchmarks._soak_daemon" if args.small_caches else "pipeline.cli"
        proc = subprocess.Popen([sys.executable, "-m", entry, "--config", str(cfg), "--db", db,
                                 "daemon", "--health-port", "0"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env={**os.environ, "BANWATCH_LEASE_SECONDS": "60",
                                     **({"BANWATCH_SOAK_TRACE": str(Path(args.trace).resolve()),
                                         "BANWATCH_SOAK_TRACE_EVERY": str(args.trace_every),
                                         "BANWATCH_SOAK_TRACE_FRAMES": str(args.trace_frames)} if args.trace else {})},
                                cwd=Path(__file__).resolve().parent.parent)  # for -m benchmarks._soak_daemon
        stop = threading.Event()

        def publish() -> None:
            while not stop.wait(1.0):
                web.published = min(spec.articles, (web.published or 0) + max(1, args.per_minute // 60))

        threading.Thread(target=publish, daemon=True).start()
        samples: list[tuple[float, float, int, float]] = []
        t0 = time.monotonic()
        try:
            while time.monotonic() - t0 < args.minutes * 60 and proc.poll() is None:
                time.sleep(args.sample)
                samples.append((time.monotonic() - t0, rss_mb(proc.pid), open_fds(proc.pid),
                                rss_mb(proc.pid, "RssAnon")))
                print(f"  t={samples[-1][0]:6.0f}s  RSS {samples[-1][1]:6.1f} MB (anonymous {samples[-1][3]:6.1f})"
                      f"  fds {samples[-1][2]}", flush=True)
            stop.set()
            published = web.published or 0
            time.sleep(15)  # one more round of fetches for what was published last
        finally:
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(60)
        engine = make_engine(db)
        with session_factory(engine)() as s:
            stored = s.scalar(select(func.count()).select_from(ArticleRow))
        engine.dispose()
    warm = max(1, int(len(samples) * args.warmup))
    rss = [s[1] for s in samples[warm:]]
    late = [s[1] for s in samples[len(samples) // 2:]]
    anon = [s[3] for s in samples[warm:]]
    fds = [s[2] for s in samples[warm:]]
    per_hour = 3600 / args.sample
    print(f"\nsoak: {args.minutes:g} min, {args.sources} sources every 10 s, {args.per_minute} articles/min"
          f"{', caches shrunk' if args.small_caches else ''}; daemon exit code {rc}")
    print(f"  articles: {stored} stored of {published} published")
    print(f"  RSS: {samples[0][1]:.1f} MB at start, {samples[warm][1]:.1f} after warm-up, {samples[-1][1]:.1f} at end;"
          f" slope after warm-up {slope(rss) * per_hour:+.1f} MB/hour, over the last half"
          f" {slope(late) * per_hour:+.1f} MB/hour")
    anon_half = [s[3] for s in samples[len(samples) // 2:]]
    anon_quarter = [s[3] for s in samples[3 * len(samples) // 4:]]
    print(f"  anonymous RSS (without mapped files): {samples[warm][3]:.1f} MB after warm-up, {samples[-1][3]:.1f} at end;"
          f" slope after warm-up {slope(anon) * per_hour:+.1f} MB/hour, last half {slope(anon_half) * per_hour:+.1f},"
          f" last quarter {slope(anon_quarter) * per_hour:+.1f}")
    print(f"  open fds: {samples[0][2]} at start, {min(fds)}..{max(fds)} after warm-up;"
          f" slope {slope(fds) * per_hour:+.2f} fds/hour")
    if args.trace:
        print_trace(Path(args.trace))
    return 0 if rc == 0 else 1


def print_trace(folder: Path) -> None:
    """The daemon's own accounting at each snapshot: what Python holds (traced, when tracemalloc ran), what
    SQLite's allocator holds, and glibc malloc's bytes in use and free (free growing while in-use stays
    flat is fragmentation, not live data)."""
    import json

    print("  snapshots (MB): t, python traced, sqlite, malloc in use, malloc free, malloc mmapped")
    for f in sorted(folder.glob("snap-*.json")):
        d = json.loads(f.read_text())
        mb = [d.get(k, 0) / 1e6 for k in ("traced", "sqlite_used", "malloc_in_use", "malloc_free", "malloc_mmapped")]
        print(f"    {d['t']:7.0f}s " + " ".join(f"{v:7.1f}" for v in mb))


if __name__ == "__main__":
    raise SystemExit(main())
