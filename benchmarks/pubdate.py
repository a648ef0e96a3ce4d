"""Publication-date benchmark: banwatch against htmldate (extensive search, original date) on a folder of
labelled pages.

    python benchmarks/pubdate.py /path/to/news-pages [--half even|odd] [--errors]

Day-exact accuracy: the day of ``published_at`` in the offset the page states, against the label's day.
banwatch is timed with ``extract_metadata_only`` (parse + metadata + dates, the analogue of htmldate's
job); the full ``extract_article`` time is printed too.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._pages import load_pages, ms_stats  # noqa: E402
from pipeline.extract import extract_article, extract_metadata_only  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", help="dataset folder with labels.jsonl")
    ap.add_argument("--half", choices=["even", "odd"], help="only every other page")
    ap.add_argument("--errors", action="store_true", help="list the pages banwatch gets wrong")
    ap.add_argument("--chunk", type=int, default=16, help="pages per turn when the tools alternate")
    args = ap.parse_args(argv)

    from htmldate import find_date

    pages = load_pages(args.folder, half=args.half)
    extract_metadata_only(pages[0].raw, pages[0].url)
    find_date(pages[0].raw, url=pages[0].url, extensive_search=True, original_date=True)

    bw_ok, bw_ms, full_ok, full_ms, hd_ok, hd_ms = [], [], [], [], [], []
    methods: Counter[str] = Counter()
    errors: list[str] = []
    # As in extraction.py, the tools take turns on chunks of pages (same load, warm code within a turn).
    for start in range(0, len(pages), args.chunk):
        chunk = pages[start:start + args.chunk]
        for page in chunk:
            gold = page.label.get("date")
            t0 = time.perf_counter()
            art = extract_metadata_only(page.raw, page.url)
            bw_ms.append((time.perf_counter() - t0) * 1000)
            day = art.published_at.date().isoformat() if art.published_at else None
            bw_ok.append(day == gold)
            methods[art.published_at_method or "none"] += 1
            if day != gold:
                errors.append(f"  {page.file}: got {day} ({art.published_at_method}) want {gold}")
        for page in chunk:
            t0 = time.perf_counter()
            full = extract_article(page.raw, page.url)
            full_ms.append((time.perf_counter() - t0) * 1000)
            full_ok.append((full.published_at.date().isoformat() if full.published_at else None)
                           == page.label.get("date"))
        for page in chunk:
            t0 = time.perf_counter()
            hd = find_date(page.raw, url=page.url, extensive_search=True, original_date=True)
            hd_ms.append((time.perf_counter() - t0) * 1000)
            hd_ok.append(hd == page.label.get("date"))

    print(f"pages: {len(pages)}  (folder {args.folder}{', half ' + args.half if args.half else ''})")
    print(f"{'tool':<28} {'accuracy':>9} {'median ms':>10} {'total ms':>10}")
    for name, ok, ms in (("banwatch (metadata only)", bw_ok, bw_ms), ("banwatch (extract_article)", full_ok, full_ms),
                         ("htmldate (extensive)", hd_ok, hd_ms)):
        med, tot = ms_stats(ms)
        print(f"{name:<28} {statistics.mean(ok):9.3f} {med:10.2f} {tot:10.0f}")
    acc_ratio = statistics.mean(bw_ok) / max(statistics.mean(hd_ok), 1e-9)
    t_ratio = ms_stats(bw_ms)[0] / max(ms_stats(hd_ms)[0], 1e-9)
    print(f"accuracy ratio banwatch/htmldate: {acc_ratio:.3f}  (bar >= 1.000)")
    print(f"median time ratio banwatch/htmldate: {t_ratio:.3f}  (bar < 1.000)")
    print("methods: " + ", ".join(f"{k}={v}" for k, v in methods.most_common()))
    if args.errors:
        print("errors:")
        print("\n".join(errors))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
