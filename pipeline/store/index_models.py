"""Auxiliary index tables for near-duplicate lookup and incremental clustering.

All of them are keyed so that a lookup is an index probe whose cost does not grow with the
number of stored articles, and every write is an idempotent insert on a unique key, so several
daemons sharing one PostgreSQL database can write them at the same time.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from pipeline.store import core
from pipeline.store.base import Base


class DedupSketchRow(Base):
    """An article's MinHash signature, read back to verify the candidates an LSH band found."""

    __tablename__ = "dedup_sketches"

    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    shingle_count: Mapped[int] = mapped_column(Integer, default=0)


class DedupBandRow(Base):
    """One LSH band key of an article: articles sharing a band key are near-duplicate candidates.

    On SQLite a WITHOUT ROWID table (revision 0003): the rows live in the primary-key B-tree itself,
    so an article's ~40 band rows are written to one B-tree instead of a rowid table plus its
    primary-key index (fewer pages an article, a smaller file); PostgreSQL has no such option.
    """

    __tablename__ = "dedup_bands"
    __table_args__ = (Index(None, "article_id"), {"sqlite_with_rowid": False})

    band_key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )


class ClusterPostingRow(Base):
    """An inverted-index entry: term or entity ``key`` is prominent in event/story ``cluster_id``.

    ``last_day`` (days since 1970-01-01 of the cluster's latest article) lets a lookup read only
    the postings of clusters active in its time window, so its cost follows the news rate, not the
    size of the database.
    """

    __tablename__ = "cluster_postings"
    # the lookup index carries cluster_id, all a candidate lookup reads: the index alone serves it
    __table_args__ = (Index(None, "kind", "key", "last_day", "cluster_id"), Index(None, "kind", "cluster_id"))

    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # event | story
    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    cluster_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_day: Mapped[int] = mapped_column(Integer, default=0)


class TermStatRow(Base):
    """Document frequency of a term over the relevant articles placed so far (for IDF weights).

    The empty term ``""`` holds the number of documents.
    """

    __tablename__ = "term_stats"

    term: Mapped[str] = mapped_column(String(160), primary_key=True)
    df: Mapped[int] = mapped_column(Integer, default=0)


_IGNORE: dict[tuple[str, Table, tuple[str, ...]], Any] = {}  # insert_ignore's statements, built once


def insert_ignore(session: Session, table: Table, rows: list[dict[str, Any]], keys: list[str]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING on SQLite and PostgreSQL: safe under concurrent writers."""
    if not rows:
        return
    table = getattr(table, "__table__", table)  # a mapped class names its table
    # executemany of one statement: compiled once and cached (a multi-row VALUES is compiled anew
    # for every row count, which cost more than the inserts themselves); the statement itself is
    # built once per table too (building and cache-keying it cost as much as running it)
    name = session.get_bind().dialect.name
    stmt = _IGNORE.get((name, table, tuple(keys)))
    if stmt is None:
        stmt = _IGNORE[(name, table, tuple(keys))] = (
            _dialect_insert(session, table).on_conflict_do_nothing(index_elements=keys))
    core.execute(session, stmt, rows)


def upsert(session: Session, table: Table, rows: list[dict[str, Any]], keys: list[str],
           update: dict[str, Any]) -> None:
    """INSERT ... ON CONFLICT DO UPDATE; ``update`` maps column -> f(excluded, table) expression."""
    if not rows:
        return
    table = getattr(table, "__table__", table)
    ins = _dialect_insert(session, table)
    sets = {col: fn(ins.excluded, table.c) for col, fn in update.items()}
    core.execute(session, ins.on_conflict_do_update(index_elements=keys, set_=sets), rows)  # executemany, cached


def _dialect_insert(session: Session, table: Table) -> Any:
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return pg_insert(table)
    if name == "sqlite":
        return sqlite_insert(table)
    raise NotImplementedError(f"unsupported database {name!r}")
