"""Cheaper per-article writes of the dedup index: dedup_bands WITHOUT ROWID on SQLite (revision
0003), and one statement per article on PostgreSQL instead of an executemany. Same rows, same lookups."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import event, func, inspect, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.schema import CreateTable

from pipeline.dedup import Deduplicator, canonicalize_url, fingerprint
from pipeline.store import ArticleRow, make_engine, session_factory, transaction, upgrade
from pipeline.store.index_models import DedupBandRow, DedupSketchRow
from pipeline.store.migrate import alembic_config, current_revision, head_revision

WIRE = (
    "WASHINGTON (AP) — The Biden administration on Thursday announced a ban on sales of Kaspersky "
    "antivirus software in the United States, citing the company's ties to the Russian government.\n"
    "The Commerce Department said the rule takes effect on July 20, 2024, and that existing customers "
    "will receive updates until September 29, 2024, after which the software will stop working safely.\n"
    "Officials said the decision followed a lengthy investigation into whether the Moscow-based firm "
    "could be compelled to hand over data or push malicious updates to American computers.\n"
    "Kaspersky said in a statement that it would pursue all legally available options to preserve its "
    "operations and relationships, and denied that it posed any threat to United States security.\n"
    "Retailers and resellers will be barred from offering the products, and the company was added to "
    "the entity list along with two affiliated businesses in Russia and the United Kingdom."
)
COPY = ("Sign up for our morning newsletter.\n" + WIRE.replace("Officials said", "Officials added")
        + "\nCopyright 2024 The Associated Press. All rights reserved.")


def _store(engine: Engine, url: str, title: str, body: str) -> tuple[int, int | None]:
    dedup = Deduplicator()
    fp = fingerprint(title, body)
    with transaction(session_factory(engine)) as s:
        row = ArticleRow(url=url, canonical_url=canonicalize_url(url), title=title, text=body,
                         content_hash=fp.content_hash, published_at=datetime(2024, 6, 20, tzinfo=UTC))
        s.add(row)
        s.flush()
        first = dedup.find_duplicate(s, fp, exclude_id=row.id)
        row.duplicate_of = first
        dedup.index(s, row, fp)
        return row.id, first


def _bands(engine: Engine) -> set[tuple[int, int]]:
    with engine.connect() as conn:
        return set(conn.execute(select(DedupBandRow.band_key, DedupBandRow.article_id)).all())


def _without_rowid(engine: Engine) -> bool:
    with engine.connect() as conn:
        sql = conn.execute(text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'dedup_bands'"))
        return "WITHOUT ROWID" in sql.scalar_one().upper()


def test_model_and_migration_make_dedup_bands_without_rowid_on_sqlite(db_engine: Engine) -> None:
    assert "WITHOUT ROWID" in str(CreateTable(DedupBandRow.__table__).compile(dialect=sqlite.dialect()))
    indexes = {i["name"]: i["column_names"] for i in inspect(db_engine).get_indexes("dedup_bands")}
    assert indexes.get("ix_dedup_bands_article_id") == ["article_id"]
    assert inspect(db_engine).get_pk_constraint("dedup_bands")["constrained_columns"] == ["band_key", "article_id"]
    if db_engine.dialect.name == "sqlite":
        assert _without_rowid(db_engine)


def test_index_writes_sketch_and_bands_and_copies_only_what_their_first_copy_lacks(db_engine: Engine) -> None:
    first, _ = _store(db_engine, "https://apnews.example/1", "US bans Kaspersky", WIRE)
    statements: list[str] = []

    def count(conn, cursor, statement, params, context, executemany) -> None:  # noqa: ANN001
        if "dedup_bands" in statement or "dedup_sketches" in statement:
            statements.append(statement)

    event.listen(db_engine, "before_cursor_execute", count)
    try:
        second, dup = _store(db_engine, "https://localpaper.example/1", "Russian antivirus banned", COPY)
    finally:
        event.remove(db_engine, "before_cursor_execute", count)
    assert dup == first
    fp_first, fp_copy = fingerprint("US bans Kaspersky", WIRE), fingerprint("Russian antivirus banned", COPY)
    bands = _bands(db_engine)
    assert {k for k, a in bands if a == first} == set(fp_first.band_keys)
    assert {k for k, a in bands if a == second} == set(fp_copy.band_keys) - set(fp_first.band_keys)
    with session_factory(db_engine)() as s:
        assert s.scalar(select(func.count()).select_from(DedupSketchRow)) == 2
    writes = [st for st in statements if "INSERT" in st.upper()]
    # PostgreSQL: the sketch, the copy's remaining keys and the bands in one statement
    assert len(writes) == (1 if db_engine.dialect.name == "postgresql" else 2)
    # idempotent (a retried article)
    with transaction(session_factory(db_engine)) as s:
        row = s.get(ArticleRow, second)
        Deduplicator().index(s, row, fp_copy)
    assert _bands(db_engine) == bands


def test_revision_0003_upgrades_and_downgrades_a_database_with_data(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    upgrade(engine, "0002")
    first, _ = _store(engine, "https://apnews.example/1", "US bans Kaspersky", WIRE)
    _, dup = _store(engine, "https://localpaper.example/1", "Russian antivirus banned", COPY)
    assert dup == first
    before = _bands(engine)
    assert before
    sqlite_db = engine.dialect.name == "sqlite"
    if sqlite_db:
        assert not _without_rowid(engine)
        with engine.begin() as conn:  # what a migration killed before its transaction could leave
            conn.execute(text("CREATE TABLE _dedup_bands_new (band_key BIGINT, article_id INTEGER)"))

    upgrade(engine)
    assert current_revision(engine) == head_revision(engine)
    assert _bands(engine) == before
    if sqlite_db:
        assert _without_rowid(engine)
        assert "_dedup_bands_new" not in inspect(engine).get_table_names()
    assert _store(engine, "https://third.example/1", "Kaspersky ban", COPY + "\nMore at 11.")[1] == first

    after = _bands(engine)
    command.downgrade(alembic_config(engine), "0002")
    assert current_revision(engine) == "0002"
    assert _bands(engine) == after
    if sqlite_db:
        assert not _without_rowid(engine)
    assert "ix_dedup_bands_article_id" in {i["name"] for i in inspect(engine).get_indexes("dedup_bands")}
    upgrade(engine)
    assert _bands(engine) == after
    engine.dispose()
