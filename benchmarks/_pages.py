"""Shared loader and scoring helpers for the news-pages benchmarks.

The dataset stays outside the repository; every benchmark takes its folder as an argument.
"""

from __future__ import annotations

import gzip
import json
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Page:
    file: str
    url: str
    raw: bytes
    label: dict


def load_pages(folder: str | Path, *, half: str | None = None) -> list[Page]:
    """Read labels.jsonl and the gzipped pages it names.

    ``half`` ("even"/"odd") selects every other page, to develop on one half and check the other.
    """
    root = Path(folder)
    pages: list[Page] = []
    with open(root / "labels.jsonl", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if not line.strip():
                continue
            if half == "even" and i % 2:
                continue
            if half == "odd" and not i % 2:
                continue
            label = json.loads(line)
            path = root / label["file"]
            data = path.read_bytes()
            if path.suffix == ".gz":
                data = gzip.decompress(data)
            pages.append(Page(file=label["file"], url=label["url"], raw=data, label=label))
    return pages


# CJK ideographs, kana and Hangul syllables are scored one character per token: those scripts do not
# separate words with spaces, so whitespace tokens would make one "token" out of a whole sentence.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_TOKEN_RE = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+", re.UNICODE)


def tokens(text: str | None) -> Counter[str]:
    return Counter(_TOKEN_RE.findall((text or "").lower()))


def prf(pred: str | None, gold: str | None) -> tuple[float, float, float]:
    """Token-level precision, recall and F1 as multisets."""
    p, g = tokens(pred), tokens(gold)
    overlap = sum((p & g).values())
    np_, ng = sum(p.values()), sum(g.values())
    if np_ == 0 and ng == 0:
        return 1.0, 1.0, 1.0
    precision = overlap / np_ if np_ else 0.0
    recall = overlap / ng if ng else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def norm_title(title: str | None) -> str:
    return " ".join((title or "").split()).casefold()


def ms_stats(times_ms: list[float]) -> tuple[float, float]:
    return (statistics.median(times_ms) if times_ms else 0.0), sum(times_ms)
