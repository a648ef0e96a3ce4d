"""``banwatch export`` on both backends: CSV and JSON Lines, filters, batches, the CLI."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from pipeline.config import Config
from pipeline.errors import UsageError
from pipeline.export import BATCH, CSV_COLUMNS, export_articles, iter_export_records
from pipeline.runtime import Runtime
from pipeline.store.models import ArticleEntityRow, ArticleRow
from tests.test_views import populate


def _rt(db_url: str) -> Runtime:
    return Runtime(Config(path=None), db_url)


def test_jsonl_has_entities_dates_event_and_story(db_url: str, tmp_path: Path) -> None:
    rt = _rt(db_url)
    ids = populate(rt.engine).ids
    out = tmp_path / "out" / "articles.jsonl"
    assert export_articles(rt, fmt="jsonl", out=out) == 5
    recs = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in recs] == sorted(ids[k] for k in ("a1", "a2", "a3", "a4", "a5"))
    a1 = next(r for r in recs if r["id"] == ids["a1"])
    assert a1["event_id"] == ids["e1"] and a1["event_title"] == "FCC votes to ban Huawei routers"
    assert a1["event_occurred_on"] == "2024-03-01"
    assert a1["story_id"] == ids["s1"] and a1["story_status"] == "developing"
    assert a1["entities"][0] == {"key": "huawei", "name": "Huawei Technologies Co., Ltd.", "type": "company",
                                 "country": "CN", "origin": "gazetteer", "mentions": 3}
    assert {(d["role"], d["date"]) for d in a1["dates"]} == {("effective_date", "2024-06-01"),
                                                              ("announcement", "2024-03-01")}
    assert a1["published_at"] == "2024-03-01T08:00:00+00:00" and a1["outlet"] == "Harbour Times"
    assert a1["duplicate_count"] == 1 and a1["text"].startswith("The Federal Communications Commission")
    a2 = next(r for r in recs if r["id"] == ids["a2"])
    assert a2["duplicate_of"] == ids["a1"] and a2["outlet"] == "Daily Ledger" and a2["story_id"] is None
    assert not (tmp_path / "out" / "articles.jsonl.part").exists()
    rt.close()


def test_csv_round_trips(db_url: str, tmp_path: Path) -> None:
    rt = _rt(db_url)
    ids = populate(rt.engine).ids
    out = tmp_path / "articles.csv"
    assert export_articles(rt, fmt="csv", out=out) == 5
    with out.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
        got = {int(r["id"]): r for r in reader}
    a1 = got[ids["a1"]]
    assert a1["entities"] == "Huawei Technologies Co., Ltd.; Federal Communications Commission"
    assert a1["entity_keys"] == "huawei; fcc"
    assert a1["dates"] == "announcement=2024-03-01; effective_date=2024-06-01"
    assert json.loads(a1["dates_json"])[1]["snippet"] == "The prohibition takes effect on 1 June 2024"
    assert a1["story_title"] == "US bans Huawei network equipment" and a1["is_relevant"] == "true"
    assert got[ids["a4"]]["is_relevant"] == "false" and got[ids["a4"]]["event_id"] == ""
    rt.close()


def test_filters(db_url: str, tmp_path: Path) -> None:
    rt = _rt(db_url)
    ids = populate(rt.engine).ids
    out = tmp_path / "a.jsonl"
    assert export_articles(rt, fmt="jsonl", out=out, relevant_only=True) == 4
    assert ids["a4"] not in {json.loads(x)["id"] for x in out.read_text().splitlines()}
    # since: the publication day, else the day banwatch first saw the article (a5 has no date)
    assert export_articles(rt, fmt="jsonl", out=out, since=date(2024, 4, 1)) == 2
    assert {json.loads(x)["id"] for x in out.read_text().splitlines()} == {ids["a3"], ids["a5"]}
    assert export_articles(rt, fmt="csv", out=out, since=date(2031, 1, 1)) == 0
    assert out.read_text().splitlines() == [",".join(CSV_COLUMNS)]
    rt.close()


def test_many_articles_cross_batches(db_engine: Engine) -> None:
    n = BATCH * 2 + 7
    base = datetime(2025, 1, 1, tzinfo=UTC)
    ids = populate(db_engine).ids
    with Session(db_engine) as s, s.begin():
        rows = [ArticleRow(url=f"https://bulk.test/{i}", canonical_url=f"https://bulk.test/{i}", title=f"item {i}",
                           text=f"text {i}", first_seen_at=base + timedelta(minutes=i)) for i in range(n)]
        s.add_all(rows)
        s.flush()
        s.add_all(ArticleEntityRow(article_id=r.id, entity_id=ids["huawei"], mentions=i % 5 + 1)
                  for i, r in enumerate(rows))
    with db_engine.connect() as conn:
        recs = list(iter_export_records(conn, since=date(2025, 1, 1)))
    assert len(recs) == n
    assert [r["title"] for r in recs] == [f"item {i}" for i in range(n)]
    assert all(r["entities"][0]["mentions"] == i % 5 + 1 for i, r in enumerate(recs))


def test_bad_arguments(db_url: str, tmp_path: Path) -> None:
    rt = _rt(db_url)
    with pytest.raises(UsageError, match="expected csv or jsonl"):
        export_articles(rt, fmt="xlsx", out=tmp_path / "x")
    with pytest.raises(UsageError, match="is a folder"):
        export_articles(rt, fmt="csv", out=tmp_path)
    rt.close()


def test_cli_export(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pipeline.cli import main

    rt = _rt(db_url)
    populate(rt.engine)
    rt.close()
    cfg = tmp_path / "sources.toml"
    cfg.write_text("[settings]\n")
    out = tmp_path / "e.csv"
    try:
        main(["--config", str(cfg), "--db", db_url, "export", "--format", "csv", "--relevant-only",
              "--out", str(out)])
    except SystemExit as exc:
        assert exc.code in (0, None)
    assert "exported 4 articles" in capsys.readouterr().err
    assert len(out.read_text(encoding="utf-8").splitlines()) >= 5
