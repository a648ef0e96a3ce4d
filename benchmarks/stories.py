"""Event and story clustering benchmark: the pipeline's online tracker against an offline reference.

Usage: python benchmarks/stories.py PATH [--profile default|general] [--no-entities]
                                              [--split all|even|odd] [--set NAME=VALUE ...]

PATH is a .jsonl file or a dataset folder holding ``articles.jsonl`` (such as
/work/shared/datasets/news-events). Each line: id, url, title, text, published (or date_publish),
event (gold label) and optionally story. Articles are processed in publication order through the code the pipeline uses
(canonicalize_url, fingerprint, Deduplicator, Enricher, StoryTracker) on a temporary SQLite
database; copies inherit their first copy's event, as in the pipeline. In the same run an offline
agglomerative clustering (TF-IDF cosine, average linkage, threshold tuned on the same data) is
the reference to beat.

The default profile is what the pipeline ships; it is meant to hold on both kinds of data: general
news whose gold events gather follow-ups weeks apart (news-events) and topic news whose related
developments a day apart are separate events (benchmarks/data/stories_*.jsonl). ``--profile
general`` uses pipeline.stories.GENERAL_NEWS (``event_grouping = "general"``: later reports join
even when they state another action), kept for compatibility.

``--split even|odd`` keeps only the gold events with an even/odd index (in order of first
appearance); the offline reference is then also shown with the threshold tuned on the other half.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.dedup import Deduplicator, canonicalize_url, fingerprint  # noqa: E402
from pipeline.store import ArticleRow, Base, EventRow, make_engine, session_factory, transaction  # noqa: E402
from pipeline.stories import GENERAL_NEWS, StoryTracker, iter_event_ids, tokens  # noqa: E402

# ---------------------------------------------------------------------------------------------
# metrics


def bcubed(pred: Sequence[Any], gold: Sequence[Any]) -> tuple[float, float, float]:
    """B-cubed precision, recall and F1 (Bagga & Baldwin), averaged over items."""
    n = len(gold)
    pairs = Counter(zip(pred, gold, strict=True))
    psize, gsize = Counter(pred), Counter(gold)
    p = sum(c * c / psize[pc] for (pc, _), c in pairs.items()) / n
    r = sum(c * c / gsize[gc] for (_, gc), c in pairs.items()) / n
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _comb2(x: int) -> float:
    return x * (x - 1) / 2


def ari(pred: Sequence[Any], gold: Sequence[Any]) -> float:
    n = len(gold)
    index = sum(_comb2(c) for c in Counter(zip(pred, gold, strict=True)).values())
    a = sum(_comb2(c) for c in Counter(pred).values())
    b = sum(_comb2(c) for c in Counter(gold).values())
    expected = a * b / _comb2(n) if n > 1 else 0.0
    top = (a + b) / 2
    return (index - expected) / (top - expected) if top != expected else 1.0


def nmi(pred: Sequence[Any], gold: Sequence[Any]) -> float:
    """Normalised mutual information, arithmetic-mean normalisation (scikit-learn's default)."""
    n = len(gold)
    joint = Counter(zip(pred, gold, strict=True))
    pc, gc = Counter(pred), Counter(gold)
    mi = sum(c / n * math.log(c * n / (pc[p] * gc[g])) for (p, g), c in joint.items())
    hp = -sum(c / n * math.log(c / n) for c in pc.values())
    hg = -sum(c / n * math.log(c / n) for c in gc.values())
    return mi / ((hp + hg) / 2) if hp + hg else 1.0


# ---------------------------------------------------------------------------------------------
# data


def dataset_file(path: Path) -> Path:
    """The .jsonl file of ``path``: the path itself, or the ``articles.jsonl`` of a dataset folder."""
    if path.is_dir():
        found = path / "articles.jsonl"
        if not found.is_file():
            raise SystemExit(f"{path} is a folder without articles.jsonl")
        return found
    return path


def load(path: Path) -> list[dict[str, Any]]:
    path = dataset_file(path)
    rows = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            r = json.loads(line)
            when = r.get("published") or r.get("date_publish")
            dt = datetime.fromisoformat(when.replace("Z", "+00:00")) if when else None
            r["_when"] = (dt if dt is None or dt.tzinfo else dt.replace(tzinfo=UTC))
            rows.append(r)
    rows.sort(key=lambda r: (r["_when"] or datetime.min.replace(tzinfo=UTC)))
    return rows


def split(rows: list[dict[str, Any]], which: str) -> list[dict[str, Any]]:
    if which == "all":
        return rows
    order = list(dict.fromkeys(r["event"] for r in rows))
    keep = {e for i, e in enumerate(order) if (i % 2 == 0) == (which == "even")}
    return [r for r in rows if r["event"] in keep]


# ---------------------------------------------------------------------------------------------
# the pipeline's way


def make_enricher(enabled: bool) -> Any | None:
    if not enabled:
        return None
    try:
        from pipeline.enrich import Enricher, load_gazetteer

        return Enricher(load_gazetteer(None), None)
    except Exception as exc:  # the enrichment stage is optional here; say so and go on
        print(f"(entities off: enrichment unavailable: {exc})", file=sys.stderr)
        return None


def run_online(rows: list[dict[str, Any]], tracker: StoryTracker, enricher: Any | None
               ) -> tuple[list[int], list[int], float, int]:
    """Event and story id per article, ms/article, number of copies found."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        Base.metadata.create_all(engine)  # the models the migrations are generated from
        sessions = session_factory(engine)
        dedup = Deduplicator()
        ids: list[int] = []
        copies = 0
        seen_urls: set[str] = set()
        t0 = time.perf_counter()
        for r in rows:
            when = r["_when"] or datetime.now(UTC)
            canon = canonicalize_url(r["url"])
            if canon in seen_urls:  # two dataset rows at one URL: keep both, as the pipeline would not
                canon = f"{canon}#bench-{r['id']}"
            seen_urls.add(canon)
            ents: list[Any] = []
            dates: list[Any] = []
            if enricher is not None:
                enr = enricher.enrich(r.get("title"), r.get("text") or "", when)
                ents, dates = enr.entities, enr.dates
            with transaction(sessions) as s:
                row = ArticleRow(url=r["url"], canonical_url=canon[:2048], title=r.get("title"),
                                 text=r.get("text") or "", site_name=r.get("source"), published_at=when,
                                 first_seen_at=when)
                fp = fingerprint(row.title, row.text)
                row.content_hash = fp.content_hash
                s.add(row)
                s.flush()
                first = dedup.find_duplicate(s, fp, exclude_id=row.id)
                dedup.index(s, row, fp)
                if first is not None:
                    row.duplicate_of = first
                    copies += 1
                    if tracker.attach_duplicate(s, row, first) is not None:
                        ids.append(row.id)
                        continue
                tracker.place(s, row, ents, dates, now=when)
                ids.append(row.id)
        elapsed = (time.perf_counter() - t0) * 1000 / max(1, len(rows))
        with sessions() as s:
            ev = iter_event_ids(s, ids)
            story_of = dict(s.execute(EventRow.__table__.select().with_only_columns(
                EventRow.id, EventRow.story_id)).all())
        engine.dispose()
    events = [ev[i] or -i for i in ids]
    stories = [story_of.get(e, -1) or -1 for e in events]
    return events, stories, elapsed, copies


# ---------------------------------------------------------------------------------------------
# the offline reference


def tfidf_vectors(rows: list[dict[str, Any]]) -> list[dict[str, float]]:
    """Sublinear TF, smoothed IDF, L2-normalised; title and text together."""
    docs = [Counter(tokens(f"{r.get('title') or ''}\n{r.get('text') or ''}")) for r in rows]
    df: Counter[str] = Counter()
    for d in docs:
        df.update(d.keys())
    n = len(docs)
    out = []
    for d in docs:
        v = {t: (1 + math.log(c)) * (math.log((1 + n) / (1 + df[t])) + 1) for t, c in d.items()}
        norm = math.sqrt(sum(w * w for w in v.values())) or 1.0
        out.append({t: w / norm for t, w in v.items()})
    return out


def average_linkage(vectors: list[dict[str, float]]) -> list[tuple[float, int, int]]:
    """Merges (similarity, a, b) of average-linkage clustering on cosine similarity, best first."""
    n = len(vectors)
    sim = [[0.0] * n for _ in range(n)]
    for i in range(n):
        vi = vectors[i]
        for j in range(i):
            a, b = (vi, vectors[j]) if len(vi) < len(vectors[j]) else (vectors[j], vi)
            s = sum(w * b.get(t, 0.0) for t, w in a.items())
            sim[i][j] = sim[j][i] = s
    size = [1] * n
    active = set(range(n))
    merges = []
    while len(active) > 1:
        best, bi, bj = -2.0, -1, -1
        for i in active:
            row = sim[i]
            for j in active:
                if j < i and row[j] > best:
                    best, bi, bj = row[j], i, j
        merges.append((best, bi, bj))
        # Lance-Williams update for average linkage; bi absorbs bj
        for k in active:
            if k not in (bi, bj):
                v = (size[bi] * sim[bi][k] + size[bj] * sim[bj][k]) / (size[bi] + size[bj])
                sim[bi][k] = sim[k][bi] = v
        size[bi] += size[bj]
        active.discard(bj)
    return merges


def cut(n: int, merges: list[tuple[float, int, int]], threshold: float) -> list[int]:
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for s, a, b in merges:
        if s < threshold:
            break
        parent[find(b)] = find(a)
    return [find(i) for i in range(n)]


def offline_reference(rows: list[dict[str, Any]], gold: list[Any]) -> tuple[float, float, list[int]]:
    merges = average_linkage(tfidf_vectors(rows))
    best = (-1.0, 0.0, list(range(len(rows))))
    for k in range(1, 100):
        th = k / 100
        labels = cut(len(rows), merges, th)
        f1 = bcubed(labels, gold)[2]
        if f1 > best[0]:
            best = (f1, th, labels)
    return best


# ---------------------------------------------------------------------------------------------


def report(name: str, pred: Sequence[Any], gold: Sequence[Any]) -> None:
    p, r, f = bcubed(pred, gold)
    print(f"  {name:<28} B3 P {p:.3f}  R {r:.3f}  F1 {f:.3f}   ARI {ari(pred, gold):.3f}  "
          f"NMI {nmi(pred, gold):.3f}   clusters {len(set(pred))} (gold {len(set(gold))})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", type=Path, help="a .jsonl file, or a dataset folder holding articles.jsonl")
    ap.add_argument("--no-entities", action="store_true", help="do not run the enrichment stage")
    ap.add_argument("--split", choices=("all", "even", "odd"), default="all")
    ap.add_argument("--profile", choices=("default", "general"), default="default",
                    help="general: pipeline.stories.GENERAL_NEWS (events that span weeks or years)")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="override a StoryTracker parameter (for exploring; defaults are what ships)")
    args = ap.parse_args(argv)

    all_rows = load(args.path)
    rows = split(all_rows, args.split)
    gold_events = [r["event"] for r in rows]
    params: dict[str, Any] = dict(GENERAL_NEWS) if args.profile == "general" else {}
    params.update({k: (v if k in ("linkage", "window_anchor") else float(v))
                   for k, v in (s.split("=", 1) for s in args.set)})
    tracker = StoryTracker(**params)
    enricher = make_enricher(not args.no_entities)

    events, stories, ms, copies = run_online(rows, tracker, enricher)
    print(f"{dataset_file(args.path).name} split={args.split}: {len(rows)} articles, {len(set(gold_events))} gold events, "
          f"entities {'on' if enricher else 'off'}{', params ' + str(params) if params else ''}")
    print(f"online (pipeline StoryTracker): {ms:.1f} ms/article (dedup + enrich + place, SQLite), "
          f"{copies} copies attached to their first copy")
    report("events", events, gold_events)
    if all("story" in r for r in rows):
        gold_stories = [r["story"] for r in rows]
        report("stories", stories, gold_stories)
    t = time.perf_counter()
    f1, th, labels = offline_reference(rows, gold_events)
    print(f"offline reference (TF-IDF cosine, average linkage, threshold {th:.2f} tuned on this data; "
          f"{time.perf_counter() - t:.1f} s):")
    report("events", labels, gold_events)
    if all("story" in r for r in rows):
        sf1, sth, slabels = offline_reference(rows, [r["story"] for r in rows])
        report(f"stories (threshold {sth:.2f})", slabels, [r["story"] for r in rows])
    if args.split != "all":  # held out: the threshold tuned on the other half, applied to this one
        other = split(all_rows, "odd" if args.split == "even" else "even")
        _, oth, _ = offline_reference(other, [r["event"] for r in other])
        held = cut(len(rows), average_linkage(tfidf_vectors(rows)), oth)
        report(f"events (threshold {oth:.2f} of other half)", held, gold_events)
    ours = bcubed(events, gold_events)[2]
    print(f"events B3 F1 online/offline = {ours:.3f}/{f1:.3f} = {ours / f1:.3f} "
          f"({'meets' if ours >= f1 else 'BELOW'} the bar)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
