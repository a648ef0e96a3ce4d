"""Near-duplicate benchmark: syndicated copies found, false merges, lookup time as the store grows.

Usage: python benchmarks/dedup.py PATH.jsonl [--sizes 10000,100000] [--seed 7] [--repeat 5]
       [--db postgresql://postgres@127.0.0.1:5432/postgres]

PATH is a JSONL of real articles (id, url, title, text, and a gold ``event`` label), e.g.
../shared/datasets/news-events/articles.jsonl. Through the code the pipeline uses
(canonicalize_url, fingerprint, Deduplicator) on a temporary SQLite database, or with ``--db`` on a
temporary database created on that PostgreSQL server (and dropped afterwards):

1. the real articles are stored in publication order; pairs of distinct articles on the same
   gold event must stay apart (a pair whose shorter text has half of its sentences verbatim in the
   longer one is a wire copy, not an own report, and is reported separately);
2. a syndicated copy of each article is made (other site boilerplate, another headline, a
   paragraph cut or one added, tracking parameters on the URL) and must be found;
3. the store is filled with synthetic articles (sentences of the real ones shuffled together,
   framed by the same site boilerplate as the copies, as a real corpus is) to each size; at each
   size 100 new syndicated copies (not stored) and 100 new unrelated texts are looked up
   (find_duplicate), ``--repeat`` times: the median lookup time of each run, the median over runs,
   and how many of the copies are still found. The "index floor" is a lookup whose band keys and
   hash match nothing: the index probes alone, whose cost grows only with the B-tree depth.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert  # noqa: E402
from sqlalchemy import text as sql  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from pipeline.dedup import Deduplicator, Fingerprint, canonicalize_url, fingerprint  # noqa: E402
from pipeline.store import ArticleRow, Base, make_engine, session_factory, transaction  # noqa: E402
from pipeline.store.index_models import DedupBandRow, DedupSketchRow  # noqa: E402

HEADERS = [
    "Advertisement", "Sign up for our daily briefing and get the news that matters in your inbox.",
    "Published by the Metro Desk. Updated 2 hours ago.", "LISTEN TO THIS ARTICLE",
    "Share on Facebook Share on Twitter Share via Email", "From our wire partners:",
]
FOOTERS = [
    "Copyright 2018 The Associated Press. All rights reserved. This material may not be published, broadcast, "
    "rewritten or redistributed.",
    "Have a news tip? Contact our newsroom at any time. Follow us on social media for the latest updates.",
    "This article was produced by a wire service and edited for length by our staff.",
    "Related coverage: more stories from the world desk. Comments are closed for this article.",
]
HEADLINE_SWAPS = ["{} - latest updates", "Report: {}", "What we know: {}", "{}, officials say", "WATCH: {}"]
TRACKING = ["utm_source=twitter&utm_medium=social", "fbclid=IwAR2x9", "utm_campaign=wire&gclid=abc123",
            "ocid=msn&cmpid=rss", "mc_cid=77&mc_eid=88"]
_SENT = re.compile(r"(?<=[.!?])\s+")


def load(path: Path) -> list[dict[str, Any]]:
    if path.is_dir():  # the dataset folder (news-events) holds articles.jsonl
        path = path / "articles.jsonl"
    rows = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
    rows.sort(key=lambda r: r.get("published") or r.get("date_publish") or "")
    return rows


def paragraphs(text: str) -> list[str]:
    paras = [p.strip() for p in text.split("\n") if p.strip()]
    if len(paras) < 3:  # texts extracted as one block: group sentences into paragraphs of three
        sents = _SENT.split(text)
        paras = [" ".join(sents[i:i + 3]) for i in range(0, len(sents), 3)]
    return paras


def sentences(text: str) -> set[str]:
    """Sentences as word sequences (case, quotes and punctuation styles differ between sites)."""
    out = set()
    for sent in re.split(r"[.!?\n]+", text):  # "week.The": pages lose spaces after full stops
        words = re.findall(r"\w+", sent.casefold())
        if len(words) >= 6:
            out.add(" ".join(words))
    return out


def is_wire_copy(a: str, b: str) -> bool:
    """Independent of the sketch: half of the shorter text's sentences appear verbatim in the other."""
    sa, sb = sentences(a), sentences(b)
    small, big = (sa, sb) if len(sa) <= len(sb) else (sb, sa)
    return bool(small) and len(small & big) / len(small) >= 0.5


def syndicate(row: dict[str, Any], others: list[dict[str, Any]], rng: random.Random) -> tuple[str, str, str]:
    """URL, headline and text of a syndicated copy."""
    paras = paragraphs(row["text"])
    change = rng.choice(("cut", "add", "both"))
    if change in ("cut", "both") and len(paras) > 3:
        del paras[rng.randrange(1, len(paras))]
    if change in ("add", "both"):
        donor = paragraphs(rng.choice(others)["text"])
        paras.insert(rng.randrange(1, len(paras) + 1), rng.choice(donor) if donor else "Editor's note.")
    text = "\n".join([rng.choice(HEADERS), *paras, rng.choice(FOOTERS)])
    title = rng.choice(HEADLINE_SWAPS).format(row["title"] or "Breaking news")
    sep = "&" if "?" in row["url"] else "?"
    url = f"https://syndicate{rng.randrange(1000)}.example/wire/{row['id']}{sep}{rng.choice(TRACKING)}"
    return url, title, text


def store(sessions: Any, dedup: Deduplicator, url: str, title: str, text: str, fp: Fingerprint) -> tuple[int, int | None]:
    with transaction(sessions) as s:
        row = ArticleRow(url=url, canonical_url=canonicalize_url(url)[:2048], title=title, text=text,
                         content_hash=fp.content_hash, published_at=datetime.now(UTC))
        s.add(row)
        s.flush()
        first = dedup.find_duplicate(s, fp, exclude_id=row.id)
        row.duplicate_of = first
        dedup.index(s, row, fp)
        return row.id, first


def fill(engine: Any, rows: list[dict[str, Any]], count: int, start: int, rng: random.Random) -> None:
    """Add ``count`` synthetic articles (shuffled real sentences) with their sketches, in bulk."""
    pool = [s for r in rows for s in _SENT.split(r["text"].replace("\n", " ")) if len(s.split()) >= 5]
    batch_a, batch_s, batch_b = [], [], []
    now = datetime.now(UTC)

    def flush() -> None:
        with engine.begin() as conn:
            conn.execute(insert(ArticleRow), batch_a)
            conn.execute(insert(DedupSketchRow), batch_s)
            conn.execute(insert(DedupBandRow), batch_b)
        batch_a.clear(), batch_s.clear(), batch_b.clear()

    for i in range(start, start + count):
        body = " ".join([rng.choice(HEADERS), *rng.sample(pool, 12), rng.choice(FOOTERS)])
        fp = fingerprint(None, body)
        batch_a.append({"id": i, "url": f"https://filler.example/{i}", "canonical_url": f"https://filler.example/{i}",
                        "text": "", "content_hash": fp.content_hash, "first_seen_at": now, "is_relevant": True,
                        "word_count": 0, "duplicate_count": 0})
        if fp.band_keys:
            batch_s.append({"article_id": i, "signature": fp.signature_bytes(), "shingle_count": fp.shingle_count})
            batch_b.extend({"band_key": k, "article_id": i} for k in set(fp.band_keys))
        if len(batch_a) >= 5000:
            flush()
    if batch_a:
        flush()


def time_lookups(sessions: Any, dedup: Deduplicator, probes: list[tuple[Fingerprint, int | None]],
                 repeat: int) -> tuple[list[float], int, int]:
    """Median lookup time (ms) of each of ``repeat`` runs over the probes, copies found, texts merged
    that should not be (probes whose root is None)."""
    runs, found, wrong = [], 0, 0
    with sessions() as s:
        for fp, _ in probes:  # warm-up: the fill has just pushed the index pages out of the caches
            dedup.find_duplicate(s, fp)
        for _ in range(repeat):
            times, found, wrong = [], 0, 0
            for fp, root in probes:
                t = time.perf_counter()
                first = dedup.find_duplicate(s, fp)
                times.append((time.perf_counter() - t) * 1000)
                found += root is not None and first == root
                wrong += root is None and first is not None
            runs.append(statistics.median(times))
    return runs, found, wrong


@contextmanager
def database(url: str | None) -> Iterator[str]:
    """A temporary SQLite file (RAM-backed when possible), or a new database on a PostgreSQL server."""
    if not url:
        shm = Path("/dev/shm")  # the fill is I/O, not what is measured
        with tempfile.TemporaryDirectory(dir=shm if shm.is_dir() else None) as tmp:
            yield f"sqlite:///{Path(tmp) / 'dedup.db'}"
        return
    name = f"banwatch_bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sql(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", type=Path)
    ap.add_argument("--sizes", default="10000,100000", help="stored-article counts for the lookup timing")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=5, help="timing runs at each size (median of run medians)")
    ap.add_argument("--db", help="a PostgreSQL server URL to benchmark on instead of SQLite")
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    rows = [r for r in load(args.path) if len((r.get("text") or "").split()) >= 60]
    dedup = Deduplicator()

    with database(args.db) as url:
        engine = make_engine(url)
        Base.metadata.create_all(engine)
        sessions = session_factory(engine)

        # 1. the real articles: own reports of one event must stay apart
        root: dict[str, int] = {}
        ids: dict[str, int] = {}
        for r in rows:
            fp = fingerprint(r["title"], r["text"])
            aid, first = store(sessions, dedup, r["url"] + f"#{r['id']}", r["title"], r["text"], fp)
            ids[r["id"]], root[r["id"]] = aid, first or aid
        pairs = wire = merged_own = merged_wire = 0
        for i, a in enumerate(rows):
            for b in rows[:i]:
                if a.get("event") is None or a.get("event") != b.get("event"):
                    continue
                same = root[a["id"]] == root[b["id"]]
                if is_wire_copy(a["text"], b["text"]):
                    wire += 1
                    merged_wire += same
                else:
                    pairs += 1
                    merged_own += same
        cross = sum(1 for i, a in enumerate(rows) for b in rows[:i]
                    if a.get("event") != b.get("event") and root[a["id"]] == root[b["id"]])

        # 2. syndicated copies and URL variants
        found = variants_found = 0
        copy_fps = []
        for r in rows:
            url, title, text = syndicate(r, rows, rng)
            fp = fingerprint(title, text)
            copy_fps.append(fp)
            _, first = store(sessions, dedup, url, title, text, fp)
            found += first == root[r["id"]]
            sep = "&" if "?" in r["url"] else "?"
            variant = canonicalize_url(r["url"].replace("://www.", "://").replace("://", "://www.", 1)
                                       + f"{sep}utm_source=rss&fbclid=x")
            variants_found += variant == canonicalize_url(r["url"])

        print(f"{args.path.name}: {len(rows)} real articles (>= 60 words), seed {args.seed}")
        print(f"syndicated copies found: {found}/{len(rows)} = {found / len(rows):.3f} (bar >= 0.95)")
        print(f"URL variants (www, tracking parameters) mapped to one canonical URL: "
              f"{variants_found}/{len(rows)}")
        print(f"false merges, distinct same-event reports: {merged_own}/{pairs} = {merged_own / max(1, pairs):.4f} "
              f"(bar <= 0.01)")
        print(f"false merges, different events: {cross} pairs")
        print(f"same-event wire copies already in the data (verbatim sentences), merged: {merged_wire}/{wire}")

        # 3. lookup time as the store grows: new copies (not stored) and new unrelated texts
        pool = [s for r in rows for s in _SENT.split(r["text"]) if s.strip()]
        copies = [(fingerprint(*syndicate(r, rows, rng)[1:]), root[r["id"]]) for r in rng.sample(rows, 100)]
        unrelated = [(fingerprint(None, " ".join([rng.choice(HEADERS), *rng.sample(pool, 12), rng.choice(FOOTERS)])),
                      None) for _ in range(100)]
        # the floor: band keys and a hash found nowhere, so a lookup is its index probes alone
        absent = [(dataclasses.replace(fp, content_hash=f"{rng.getrandbits(256):064x}",
                                       band_keys=tuple(rng.randrange(-(1 << 63), 1 << 63) for _ in fp.band_keys)),
                   None) for fp, _ in unrelated]
        stored = len(rows) * 2
        next_id = 10_000_000
        for size in sorted(int(x) for x in args.sizes.split(",")):
            t = time.perf_counter()
            if size > stored:
                fill(engine, rows, size - stored, next_id, rng)
                next_id += size - stored
                stored = size
                if engine.dialect.name == "postgresql":  # what autovacuum does after a bulk load
                    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                        conn.execute(sql("VACUUM ANALYZE"))
            fill_s = time.perf_counter() - t
            runs, hits, wrong = time_lookups(sessions, dedup, copies + unrelated, args.repeat)
            c_runs = time_lookups(sessions, dedup, copies, args.repeat)[0]
            u_runs = time_lookups(sessions, dedup, unrelated, args.repeat)[0]
            f_runs = time_lookups(sessions, dedup, absent, args.repeat)[0]
            print(f"lookup at {stored:>7} stored articles ({engine.dialect.name}): median {statistics.median(runs):.3f} ms "
                  f"(runs {' '.join(f'{m:.3f}' for m in runs)}; copies {statistics.median(c_runs):.3f}, "
                  f"unrelated {statistics.median(u_runs):.3f}, index floor {statistics.median(f_runs):.3f}); new copies found {hits}/{len(copies)}, "
                  f"unrelated merged {wrong}/{len(unrelated)} (fill {fill_s:.0f} s)", flush=True)
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
