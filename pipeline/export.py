"""``banwatch export``: articles with their entities, typed dates, event and story, as CSV or JSON Lines.

Streamed in constant memory: one read transaction, the articles come through a server-side cursor
(``yield_per``: a named cursor on PostgreSQL, stepwise reads on SQLite), and each batch fetches
only its own entities and dates. A multi-gigabyte database exports with the memory of one batch.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from pipeline.errors import UsageError
from pipeline.store.models import (
    ArticleDateRow,
    ArticleEntityRow,
    ArticleRow,
    EntityRow,
    EventRow,
    SourceRow,
    StoryRow,
)

log = logging.getLogger(__name__)
BATCH = 500
FORMATS = ("csv", "jsonl")

CSV_COLUMNS = (
    "id", "url", "canonical_url", "title", "outlet", "source_key", "published_at", "published_at_method",
    "first_seen_at", "language", "word_count", "relevance", "is_relevant", "duplicate_of", "duplicate_count",
    "event_id", "event_title", "event_occurred_on", "story_id", "story_title", "story_status",
    "entities", "entity_keys", "dates", "entities_json", "dates_json", "text",
)


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _filters(since: date | None, relevant_only: bool) -> list[Any]:
    where: list[Any] = []
    if since is not None:
        start = datetime.combine(since, time.min, tzinfo=UTC)
        where.append(func.coalesce(ArticleRow.published_at, ArticleRow.first_seen_at) >= start)
    if relevant_only:
        where.append(ArticleRow.is_relevant.is_(True))
    return where


def _article_query(where: list[Any]) -> Any:
    return (
        select(
            ArticleRow.id, ArticleRow.url, ArticleRow.canonical_url, ArticleRow.title, ArticleRow.site_name,
            SourceRow.key.label("source_key"), SourceRow.name.label("source_name"), ArticleRow.published_at,
            ArticleRow.published_at_method, ArticleRow.first_seen_at, ArticleRow.language, ArticleRow.word_count,
            ArticleRow.relevance, ArticleRow.is_relevant, ArticleRow.duplicate_of, ArticleRow.duplicate_count,
            ArticleRow.event_id, EventRow.title.label("event_title"), EventRow.occurred_on.label("event_occurred_on"),
            StoryRow.id.label("story_id"), StoryRow.title.label("story_title"),
            StoryRow.status.label("story_status"), ArticleRow.text,
        )
        .outerjoin(SourceRow, SourceRow.id == ArticleRow.source_id)
        .outerjoin(EventRow, EventRow.id == ArticleRow.event_id)
        .outerjoin(StoryRow, StoryRow.id == EventRow.story_id)
        .where(*where)
        .order_by(ArticleRow.id)
    )


def _children(conn: Connection, ids: list[int]) -> tuple[dict[int, list[dict[str, Any]]],
                                                         dict[int, list[dict[str, Any]]]]:
    entities: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    dates: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    ent_rows = conn.execute(
        select(ArticleEntityRow.article_id, EntityRow.key, EntityRow.name, EntityRow.type, EntityRow.country,
               EntityRow.origin, ArticleEntityRow.mentions)
        .join(EntityRow, EntityRow.id == ArticleEntityRow.entity_id)
        .where(ArticleEntityRow.article_id.in_(ids))
        .order_by(ArticleEntityRow.article_id, ArticleEntityRow.mentions.desc(), EntityRow.key)
    )
    for r in ent_rows:
        entities[r.article_id].append({"key": r.key, "name": r.name, "type": r.type, "country": r.country,
                                       "origin": r.origin, "mentions": r.mentions})
    date_rows = conn.execute(
        select(ArticleDateRow.article_id, ArticleDateRow.date, ArticleDateRow.precision, ArticleDateRow.role,
               ArticleDateRow.snippet)
        .where(ArticleDateRow.article_id.in_(ids))
        .order_by(ArticleDateRow.article_id, ArticleDateRow.date, ArticleDateRow.role)
    )
    for r in date_rows:
        dates[r.article_id].append({"date": _iso(r.date), "precision": r.precision, "role": r.role,
                                    "snippet": r.snippet})
    return entities, dates


def iter_export_records(conn: Connection, *, since: date | None = None, relevant_only: bool = False
                        ) -> Iterator[dict[str, Any]]:
    """One dict per article, in id order, read batch by batch from a server-side cursor."""
    result = conn.execution_options(yield_per=BATCH).execute(_article_query(_filters(since, relevant_only)))
    for batch in result.partitions():
        ids = [r.id for r in batch]
        entities, dates = _children(conn, ids)
        for r in batch:
            yield {
                "id": r.id, "url": r.url, "canonical_url": r.canonical_url, "title": r.title,
                "outlet": r.site_name or r.source_name, "source_key": r.source_key,
                "published_at": _iso(r.published_at), "published_at_method": r.published_at_method,
                "first_seen_at": _iso(r.first_seen_at), "language": r.language, "word_count": r.word_count,
                "relevance": r.relevance, "is_relevant": bool(r.is_relevant), "duplicate_of": r.duplicate_of,
                "duplicate_count": r.duplicate_count, "event_id": r.event_id, "event_title": r.event_title,
                "event_occurred_on": _iso(r.event_occurred_on), "story_id": r.story_id,
                "story_title": r.story_title, "story_status": r.story_status,
                "entities": entities[r.id], "dates": dates[r.id], "text": r.text,
            }


def _csv_row(rec: dict[str, Any]) -> list[Any]:
    flat = dict(rec)
    flat["entities"] = "; ".join(e["name"] for e in rec["entities"])
    flat["entity_keys"] = "; ".join(e["key"] for e in rec["entities"])
    flat["dates"] = "; ".join(f"{d['role']}={d['date']}" for d in rec["dates"])
    flat["entities_json"] = json.dumps(rec["entities"], ensure_ascii=False)
    flat["dates_json"] = json.dumps(rec["dates"], ensure_ascii=False)
    flat["is_relevant"] = "true" if rec["is_relevant"] else "false"
    return ["" if flat[c] is None else flat[c] for c in CSV_COLUMNS]


class _Writer:
    def __init__(self, fmt: str, fh: TextIO) -> None:
        self.fmt = fmt
        self.fh = fh
        if fmt == "csv":
            self.csv = csv.writer(fh)
            self.csv.writerow(CSV_COLUMNS)

    def write(self, rec: dict[str, Any]) -> None:
        if self.fmt == "csv":
            self.csv.writerow(_csv_row(rec))
        else:
            self.fh.write(json.dumps(rec, ensure_ascii=False) + "\n")


def export_articles(rt: Any, *, fmt: str = "jsonl", out: Path, since: date | None = None,
                    relevant_only: bool = False, progress: bool = False) -> int:
    """Write the articles to ``out`` (written whole to a temporary file, then renamed); returns the count."""
    if fmt not in FORMATS:
        raise UsageError(f"--format: expected csv or jsonl, got {fmt!r}")
    out = Path(out)
    if out.is_dir():
        raise UsageError(f"--out {out}: is a folder, expected a file name")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {out}: {exc.strerror}") from None
    tmp = out.with_name(out.name + ".part")
    n = 0
    with rt.engine.connect() as conn, conn.begin():
        total = conn.scalar(select(func.count()).select_from(ArticleRow).where(*_filters(since, relevant_only)))
        bar = _progress(progress, int(total or 0))
        try:
            with tmp.open("w", encoding="utf-8", newline="") as fh:
                writer = _Writer(fmt, fh)
                for rec in iter_export_records(conn, since=since, relevant_only=relevant_only):
                    writer.write(rec)
                    n += 1
                    if bar is not None and n % 100 == 0:
                        bar.advance(100)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        finally:
            if bar is not None:
                bar.finish(n)
    tmp.replace(out)
    log.info("export done format=%s articles=%d out=%s", fmt, n, out)
    return n


class _Bar:
    def __init__(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(TextColumn("exporting"), BarColumn(), MofNCompleteColumn(),
                                 TimeRemainingColumn(), console=Console(stderr=True), transient=True)
        self.task = self.progress.add_task("export", total=total)
        self.progress.start()

    def advance(self, n: int) -> None:
        self.progress.advance(self.task, n)

    def finish(self, done: int) -> None:
        self.progress.update(self.task, completed=done)
        self.progress.stop()


def _progress(enabled: bool, total: int) -> _Bar | None:
    return _Bar(total) if enabled else None
