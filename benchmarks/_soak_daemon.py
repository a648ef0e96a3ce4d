"""`banwatch` with every long-lived cache shrunk, for `benchmarks/soak.py --small-caches`.

At their real bounds the caches take hours to fill at soak rates (decoded profiles about half an
hour, entity ids about 4 hours, headline words about 19 hours), so a short soak sees them filling
and cannot tell that from a leak. Shrunk to a few hundred entries they are full within minutes:
whatever still grows after that grows per article, per cycle or per URL, which is a leak.

    python -m benchmarks._soak_daemon --config sources.toml --db sqlite:///x.db daemon
"""

from __future__ import annotations

import sys
from functools import lru_cache

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


if __name__ == "__main__":
    shrink()
    from pipeline.cli import main

    sys.argv[0] = "banwatch"
    sys.exit(main())
