"""CPU time of StoryTracker.place as the database grows (issue 9: flat from 10k to 100k stored).

Usage: python benchmarks/stories_growth.py [--sizes 0,10000,30000] [--measure 500] [--reps 2]
                                           [--snapshots DIR] [--inflate K] [--covering]

Articles of the generated news web (benchmarks/newsweb.py), enriched as the pipeline does, are
placed one transaction each on SQLite. For each size the database holding that many articles is
copied, 100 articles are placed to warm the tracker's caches, and the next ``--measure`` are
timed: CPU milliseconds of ``place`` and its flush, per article (CPU time, because the machines
this runs on are shared). ``--snapshots DIR`` keeps the databases of each size, and reuses them
on the next run (delete them after changing how clusters are stored). ``--inflate K`` adds K
postings of recent clusters to each of the 60 most frequent terms before measuring: the index of
a database where a few keys are shared by many events (the case a bounded lookup is for).
``--covering`` adds an index on cluster_postings (kind, key, last_day, cluster_id) to the measured
copy: a candidate lookup then reads the postings from the index alone, instead of one table row
(a random page, more of them outside the memory map as the database grows) per posting.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.newsweb import ArticleGen, NewsWebSpec  # noqa: E402
from pipeline.enrich import Enricher, load_gazetteer  # noqa: E402
from pipeline.store import ArticleRow, Base, make_engine, session_factory, transaction  # noqa: E402
from pipeline.stories import StoryTracker  # noqa: E402

WARM = 100


class Articles:
    """Article ``n`` of the web with its entities and dates (cached: reps re-place the same ones)."""

    def __init__(self, total: int) -> None:
        self.gen = ArticleGen(NewsWebSpec(articles=total))
        self.enricher = Enricher(load_gazetteer(None), None)
        self.cache: dict[int, tuple] = {}

    def __getitem__(self, n: int) -> tuple:
        if n not in self.cache:
            a = self.gen.article(n)
            text = "\n\n".join(a.paragraphs)
            e = self.enricher.enrich(a.title, text, a.published)
            self.cache[n] = (a, text, e.entities, e.dates)
        return self.cache[n]


def place(sessions, tracker: StoryTracker, arts: Articles, n: int) -> float:
    a, text, entities, dates = arts[n]
    url = f"https://s{a.site}.{a.path.lstrip('/')}#{n}"
    with transaction(sessions) as s:
        row = ArticleRow(url=url, canonical_url=url, title=a.title, text=text, published_at=a.published,
                         first_seen_at=a.published)
        s.add(row)
        s.flush()
        c0 = time.process_time()
        tracker.place(s, row, entities, dates, now=a.published)
        s.flush()
        return time.process_time() - c0


def fill(path: Path, size: int, snapshots: Path | None, arts: Articles) -> None:
    """A database of ``size`` placed articles at ``path`` (from the largest usable snapshot)."""
    start = 0
    if snapshots:
        have = sorted(int(p.stem) for p in snapshots.glob("*.db") if p.stem.isdigit() and int(p.stem) <= size)
        if have:
            start = have[-1]
            shutil.copy(snapshots / f"{start}.db", path)
    engine = make_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    sessions, tracker = session_factory(engine), StoryTracker()
    for n in range(start, size):
        place(sessions, tracker, arts, n)
    engine.dispose()
    if snapshots and not (snapshots / f"{size}.db").exists():  # size 0 too (nothing placed)
        shutil.copy(path, snapshots / f"{size}.db")


def inflate(path: Path, k: int) -> None:
    db = sqlite3.connect(path)
    day = db.execute("SELECT max(last_day) FROM cluster_postings").fetchone()[0] or 0
    terms = [t for (t,) in db.execute("SELECT term FROM term_stats WHERE term != '' ORDER BY df DESC LIMIT 60")]
    db.executemany("INSERT OR IGNORE INTO cluster_postings (kind, key, cluster_id, last_day) VALUES ('event', ?, ?, ?)",
                   [(t, 10_000_000 + i, day - i % 300) for t in terms for i in range(k)])
    db.commit()
    db.close()


def covering_index(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE INDEX IF NOT EXISTS ix_cluster_postings_covering "
               "ON cluster_postings (kind, key, last_day, cluster_id)")
    db.commit()
    db.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="0,10000,30000")
    ap.add_argument("--measure", type=int, default=500)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--snapshots", type=Path)
    ap.add_argument("--inflate", type=int, default=0)
    ap.add_argument("--covering", action="store_true")
    args = ap.parse_args()
    sizes = sorted(int(x) for x in args.sizes.split(","))
    arts = Articles(sizes[-1] + WARM + args.measure)
    if args.snapshots:
        args.snapshots.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base.db"
        for size in sizes:
            t0 = time.time()
            fill(base, size, args.snapshots, arts)
            if not args.snapshots:  # the next size continues from this one
                shutil.copy(base, Path(tmp) / f"{size}.db")
                args.snapshots = Path(tmp)
            filled = time.time() - t0
            runs = []
            for _ in range(args.reps):
                db = Path(tmp) / "measure.db"
                shutil.copy(args.snapshots / f"{size}.db", db)
                if args.inflate:
                    inflate(db, args.inflate)
                if args.covering:
                    covering_index(db)
                engine = make_engine(f"sqlite:///{db}")
                Base.metadata.create_all(engine)
                sessions, tracker = session_factory(engine), StoryTracker()
                for n in range(size, size + WARM):
                    place(sessions, tracker, arts, n)
                cpu = sum(place(sessions, tracker, arts, n) for n in range(size + WARM, size + WARM + args.measure))
                engine.dispose()
                runs.append(cpu / args.measure * 1000)
            print(f"stored {size:>6}: place " + " ".join(f"{r:.2f}" for r in runs)
                  + f" ms/article CPU (min {min(runs):.2f}; filled in {filled:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
