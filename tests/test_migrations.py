"""The Alembic revisions and the models describe the same schema, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from pipeline.config import Config
from pipeline.runtime import Runtime
from pipeline.search import include_object
from pipeline.store import Base, make_engine, upgrade
from pipeline.store.migrate import current_revision, head_revision
from pipeline.store.models import ArticleRow

CONTRACT_TABLES = {"sources", "fetches", "articles", "entities", "article_entities", "article_dates", "events",
                   "stories", "digests"}


def test_upgrade_creates_contract_tables(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    upgrade(engine)
    tables = set(inspect(engine).get_table_names())
    assert CONTRACT_TABLES <= tables
    assert current_revision(engine) == head_revision(engine)
    engine.dispose()


def test_models_and_migrations_agree(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    upgrade(engine)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": include_object})
        diff = compare_metadata(ctx, Base.metadata)
    engine.dispose()
    assert diff == []


def test_upgrade_twice_is_a_no_op(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    upgrade(engine)
    upgrade(engine)
    assert current_revision(engine) == head_revision(engine)
    engine.dispose()


def test_runtime_auto_upgrades_empty_database(empty_db_url: str) -> None:
    rt = Runtime(Config(path=None), empty_db_url)
    rt.open_db(auto_upgrade=True)
    assert "articles" in inspect(rt.engine).get_table_names()
    rt.close()


def test_runtime_hands_out_one_session_factory_per_engine(tmp_path) -> None:
    """Callers may ask for ``rt.sessions`` per article: a new sessionmaker each time cost a dispatch set-up."""
    rt = Runtime(Config(path=None), f"sqlite:///{tmp_path / 'x.db'}")
    first = rt.sessions
    assert rt.sessions is first and first.kw["bind"] is rt.engine
    rt.close()
    assert rt.sessions is not first and rt.sessions.kw["bind"] is rt.engine
    rt.close()


def test_articles_canonical_url_is_unique(db_engine) -> None:
    uniques = inspect(db_engine).get_unique_constraints("articles")
    indexes = inspect(db_engine).get_indexes("articles")
    cols = [u["column_names"] for u in uniques] + [i["column_names"] for i in indexes if i.get("unique")]
    assert ["canonical_url"] in cols
    assert ArticleRow.__tablename__ == "articles"


def test_sqlite_connections_checkpoint_the_wal_in_large_steps(tmp_path) -> None:
    """The write path relies on a WAL checkpoint every ~40 MB, not SQLite's default ~4 MB."""
    from pipeline.store import make_engine
    from pipeline.store.engine import SQLITE_WAL_CHECKPOINT_PAGES

    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == SQLITE_WAL_CHECKPOINT_PAGES == 10_000
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()
