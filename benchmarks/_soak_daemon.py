"""`banwatch` with every long-lived cache shrunk, for `benchmarks/soak.py --small-caches`.

At their real bounds the caches take hours to fill at soak rates (decoded profiles about half an
hour, entity ids about 4 hours, headline words about 19 hours), so a short soak sees them filling
and cannot tell that from a leak. Shrunk to a few hundred entries they are full within minutes:
whatever still grows after that grows per article, per cycle or per URL, which is a leak.

    python -m benchmarks._soak_daemon --config sources.toml --db sqlite:///x.db daemon

With ``BANWATCH_SOAK_TRACE=DIR`` it also traces Python allocations (tracemalloc, 8 frames) and writes
a snapshot to DIR every ``BANWATCH_SOAK_TRACE_EVERY`` seconds (default 120), with the live object
count by type and the native memory (SQLite's allocator, glibc malloc); ``BANWATCH_SOAK_TRACE_FRAMES=0``
records only the counts, without tracemalloc: two late snapshots compared show what grows (``benchmarks/soak.py --trace DIR``).
RSS that grows while traced memory stays flat is outside Python's allocator (SQLite, lexbor, libc).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import json
import os
import sys
import threading
import time
import tracemalloc
from collections import Counter
from functools import lru_cache
from pathlib import Path

from pipeline import dedup, stories
from pipeline.enrich import dates
from pipeline.extract import body
from pipeline.fetch import fetcher, guard, politeness, transport
from pipeline.store import writer

SMALL = 200


def shrink() -> None:
    stories.PROFILE_CACHE_SIZE = 16
    stories.TITLE_CACHE_SIZE = SMALL
    stories._WORD_CACHE_SIZE = SMALL
    dedup._canonical_cached = lru_cache(maxsize=SMALL)(dedup._canonical_uncached)
    dedup._strip_host_cached = lru_cache(maxsize=SMALL)(dedup._strip_host_uncached)
    writer.EntityCache.__init__.__defaults__ = (SMALL,)
    dates.CUE_STARTS_MAX = SMALL
    body._VERDICTS_MAX = SMALL
    fetcher.MAX_IDLE_HOSTS = 8
    guard.DNS_CACHE_MAX = 8
    politeness.MAX_ORIGINS = 8
    transport.MAX_ORIGINS = 8


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


def native_memory() -> dict[str, int]:
    """What the C side holds: SQLite's allocator (all connections) and glibc malloc's totals.

    Python's traced memory flat while RSS grows points here; these two split SQLite from the rest
    (lexbor, expat, fragmentation)."""
    out: dict[str, int] = {}
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("sqlite3") or "libsqlite3.so.0")
        lib.sqlite3_memory_used.restype = ctypes.c_int64
        out["sqlite_used"] = lib.sqlite3_memory_used()
    except (OSError, AttributeError):
        pass
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
        mi = libc.mallinfo2()
        out.update(malloc_arena=mi.arena, malloc_mmapped=mi.hblkhd, malloc_in_use=mi.uordblks,
                   malloc_free=mi.fordblks)
    except (OSError, AttributeError):
        pass
    return out


def trace(folder: Path, every: float, frames: int = 8) -> None:
    """Snapshot traced allocations, live objects by type and native memory every ``every`` seconds,
    from a thread. ``frames=0`` skips tracemalloc (whose own bookkeeping doubles the RSS)."""
    folder.mkdir(parents=True, exist_ok=True)
    if frames:
        tracemalloc.start(frames)
    t0 = time.monotonic()

    def loop() -> None:
        n = 0
        while True:
            time.sleep(every)
            n += 1
            if frames:
                snap = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
                snap.dump(str(folder / f"snap-{n:03d}.pickle"))
            types = Counter(type(o).__qualname__ for o in gc.get_objects())
            current, peak = tracemalloc.get_traced_memory()
            (folder / f"snap-{n:03d}.json").write_text(json.dumps({
                "t": round(time.monotonic() - t0, 1), "traced": current, "peak": peak,
                "objects": dict(types.most_common(60)), **native_memory()}))

    threading.Thread(target=loop, daemon=True, name="soak-trace").start()


if __name__ == "__main__":
    shrink()
    if os.environ.get("BANWATCH_SOAK_TRACE"):
        trace(Path(os.environ["BANWATCH_SOAK_TRACE"]), float(os.environ.get("BANWATCH_SOAK_TRACE_EVERY", "120")),
              int(os.environ.get("BANWATCH_SOAK_TRACE_FRAMES", "8")))
    from pipeline.cli import main

    sys.argv[0] = "banwatch"
    sys.exit(main())
