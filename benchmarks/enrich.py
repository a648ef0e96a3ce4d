"""Benchmark of the enrichment stage on a hand-labelled JSONL file.

Usage: python benchmarks/enrich.py benchmarks/data/enrich_dev.jsonl [--split dev|holdout|all] [--errors]
       [--errors-split dev] [--negatives /work/shared/datasets/news-events/articles.jsonl]
       python benchmarks/enrich.py benchmarks/data/enrich_holdout2.jsonl --split all
       python benchmarks/enrich.py benchmarks/data/enrich_holdout4.jsonl --split all   # the blind one

Files: enrich_dev.jsonl (dev and holdout splits, written with the system); enrich_holdout2.jsonl
(30 articles, split "holdout2", written and labelled before looking at any system output, for an
independent check: non-US bans, cameras, drones, smart meters, port cranes, LiDAR, 8 hard negatives);
enrich_holdout3.jsonl (30 articles, split "holdout3", written and frozen before a later tuning pass:
US, UK, EU, Canada, Australia, India, Japan, Taiwan, 8 hard negatives); enrich_holdout4.jsonl (30
articles, split "holdout4", written and labelled blind, without reading the code or running the
system: US federal and state, UK, EU, Germany, Sweden, India, Australia, Canada, Netherlands/Japan,
South Korea, 8 hard negatives).

Each line: id, split ("dev" or "holdout"), title, text, published (YYYY-MM-DD), relevant (bool),
entities (gold gazetteer keys), discovered (names of organisations/people not in the gazetteer; an
item may be a list of accepted spellings), dates ([date, role] with date as YYYY-MM-DD, YYYY-MM
or YYYY).

Labelling guide: an entity is labelled when the text names it (any alias); a demonym or capital
alone ("Chinese firms", "Beijing said") does not label a country; a government body named inside a
longer name counts ("FCC" in "FCC Covered List"), a parent inside its child's name does not
("Kaspersky" in "AO Kaspersky Lab"). Discovered: organisations and people other than news outlets.
Dates: every day, month or year the text states or implies (weekdays and "last month" resolved
against the publication date; year-only dates only after in/since/by/until/from/through/early/
late/mid/model year; "within N days" from publication); role from the sentence (action on that
day = announcement; effective/takes effect/starting = effective_date; by/until/deadline/must =
compliance_deadline; court rules = court_ruling; lawsuit/complaint filed = filing; new date of an
extension = extension; else other). Prints micro precision/recall per part and timings.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.enrich import Enricher, load_gazetteer, load_topic  # noqa: E402


def _norm(name: str) -> str:
    name = re.sub(r"^(the)\s+", "", name.strip(), flags=re.I)
    return re.sub(r"[^a-z0-9]+", " ", name.lower()).strip()


class PR:
    def __init__(self) -> None:
        self.tp = self.fp = self.fn = 0

    def add(self, gold: set, pred: set) -> None:
        self.tp += len(gold & pred)
        self.fp += len(pred - gold)
        self.fn += len(gold - pred)

    def fmt(self) -> str:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0
        return f"P={p:.3f} R={r:.3f} (tp={self.tp} fp={self.fp} fn={self.fn})"


def evaluate(articles: list[dict], enricher: Enricher, show_errors: bool) -> dict[str, PR]:
    res = {k: PR() for k in ("linked", "discovered", "dates", "relevance")}
    for a in articles:
        pub = dt.datetime.fromisoformat(a["published"])
        out = enricher.enrich(a["title"], a["text"], pub)
        gold_e = set(a["entities"])
        pred_e = {h.key for h in out.entities if h.origin == "gazetteer"}
        res["linked"].add(gold_e, pred_e)
        # discovered: each gold item (with its accepted spellings) matches at most one prediction
        pred_d = {_norm(h.name) for h in out.entities if h.origin == "discovered"}
        gold_d = [{_norm(g)} if isinstance(g, str) else {_norm(x) for x in g} for g in a["discovered"]]
        matched = set()
        missed = []
        tp = 0
        for variants in gold_d:
            hit = variants & (pred_d - matched)
            if hit:
                tp += 1
                matched.add(next(iter(hit)))
            else:
                missed.append(sorted(variants)[0])
        res["discovered"].tp += tp
        res["discovered"].fn += len(gold_d) - tp
        res["discovered"].fp += len(pred_d - matched)
        gold_t = {(d, r) for d, r in a["dates"]}
        pred_t = {(d.iso(), d.role) for d in out.dates}
        res["dates"].add(gold_t, pred_t)
        res["relevance"].add({a["id"]} if a["relevant"] else set(), {a["id"]} if out.is_relevant else set())
        if show_errors:
            errs = []
            if gold_e ^ pred_e:
                errs.append(f"  linked missing={sorted(gold_e - pred_e)} extra={sorted(pred_e - gold_e)}")
            if gold_t ^ pred_t:
                errs.append(f"  dates missing={sorted(gold_t - pred_t)} extra={sorted(pred_t - gold_t)}")
                for d in out.dates:  # the sentence of each extra date, to classify the error
                    if (d.iso(), d.role) not in gold_t:
                        errs.append(f"    {d.iso()} {d.role}: {d.snippet[:160]}")
            if pred_d - matched or missed:
                errs.append(f"  discovered missing={missed} extra={sorted(pred_d - matched)}")
            if a["relevant"] != out.is_relevant:
                errs.append(f"  relevance gold={a['relevant']} score={out.relevance}")
            if errs:
                print(f"[{a['id']}]")
                print("\n".join(errs))
    return res


def timing(articles: list[dict], enricher: Enricher) -> tuple[float, float, float]:
    per = []
    for a in articles:
        pub = dt.datetime.fromisoformat(a["published"])
        t0 = time.perf_counter()
        enricher.enrich(a["title"], a["text"], pub)
        per.append((time.perf_counter() - t0) * 1000)
    # a 1,000-word article: dev texts concatenated until 1,000 words
    words: list[str] = []
    i = 0
    while len(words) < 1000:
        words += articles[i % len(articles)]["text"].split()
        i += 1
    big = " ".join(words[:1000])
    wall, cpu = [], []
    for _ in range(300):
        t0, c0 = time.perf_counter(), time.thread_time()
        enricher.enrich("A headline", big, dt.datetime(2025, 1, 1))
        cpu.append((time.thread_time() - c0) * 1000)
        wall.append((time.perf_counter() - t0) * 1000)
    return statistics.median(per), statistics.median(wall), statistics.median(cpu)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("path", type=Path)
    ap.add_argument("--split", default="both",
                    help="dev | holdout | all | both (dev, holdout and all) | any other split name in the file")
    ap.add_argument("--errors", action="store_true", help="print per-article differences (dev split only)")
    ap.add_argument("--errors-split", default="dev", help="the split whose differences --errors prints")
    ap.add_argument("--negatives", type=Path, help="JSONL of off-topic articles (title, text), e.g. the "
                    "news-events dataset: reports how many are wrongly judged relevant")
    args = ap.parse_args()
    articles = [json.loads(line) for line in args.path.read_text(encoding="utf-8").splitlines() if line.strip()]
    t0 = time.perf_counter()
    enricher = Enricher(load_gazetteer(), load_topic({"name": "bench"}, Path(".")))
    build_ms = (time.perf_counter() - t0) * 1000
    splits = ["dev", "holdout", "all"] if args.split == "both" else [args.split]
    for split in splits:
        subset = [a for a in articles if split == "all" or a.get("split", "dev") == split]
        if not subset:
            continue
        res = evaluate(subset, enricher, args.errors and split == args.errors_split)
        print(f"== split={split} articles={len(subset)} relevant={sum(a['relevant'] for a in subset)}")
        for k, v in res.items():
            print(f"{k:<11} {v.fmt()}")
    if args.negatives:
        negs = [json.loads(line) for line in args.negatives.read_text(encoding="utf-8").splitlines() if line.strip()]
        flagged = [n for n in negs if enricher.enrich(n.get("title"), n.get("text", ""), None).is_relevant]
        print(f"off-topic collection {args.negatives.name}: {len(flagged)} of {len(negs)} judged relevant")
    med, big_wall, big_cpu = timing(articles, enricher)
    print(f"enricher build: {build_ms:.1f} ms")
    print(f"ms/article (median over {len(articles)}, wall): {med:.3f}")
    print(f"1,000-word article, median of 300 runs: {big_wall:.3f} ms wall, {big_cpu:.3f} ms CPU (bar < 2 ms)")


if __name__ == "__main__":
    main()
