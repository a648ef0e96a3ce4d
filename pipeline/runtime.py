"""What a command needs at run time: the config and an open, migrated database."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from pipeline.config import Config
from pipeline.errors import DatabaseUnavailable
from pipeline.store import check_connection, describe, make_engine, session_factory
from pipeline.store.migrate import current_revision, head_revision, upgrade

log = logging.getLogger(__name__)
_PG_MIGRATION_LOCK = 0x62616E77  # "banw": one node migrates at a time


@dataclass
class Runtime:
    config: Config
    db_url: str
    _engine: Engine | None = field(default=None, repr=False)
    _sessions: sessionmaker[Session] | None = field(default=None, repr=False)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.db_url)
        return self._engine

    @property
    def sessions(self) -> sessionmaker[Session]:
        # one factory per engine: each new sessionmaker sets up SQLAlchemy's event dispatch for its
        # sessions again (about 25 listener collections), a cost per call for a caller that asks per article
        engine = self.engine
        if self._sessions is None or self._sessions.kw.get("bind") is not engine:
            self._sessions = session_factory(engine)
        return self._sessions

    def open_db(self, *, auto_upgrade: bool) -> Engine:
        """Connect, and bring the schema to head when allowed; else insist that it is there."""
        engine = self.engine
        check_connection(engine)
        head = head_revision(engine)
        current = current_revision(engine)
        if current == head:
            return engine
        if auto_upgrade and (engine.dialect.name == "sqlite" or not _has_tables(engine)):
            log.info("migrating database", extra={"db": describe(engine.url), "to": head})
            _locked_upgrade(engine)
            return engine
        raise DatabaseUnavailable(
            f"the database at {describe(engine.url)} is at schema revision {current or 'none'}, "
            f"not {head}: run `banwatch db upgrade`"
        )

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
            self._sessions = None


def _has_tables(engine: Engine) -> bool:
    return bool(inspect(engine).get_table_names())


def _locked_upgrade(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        _atomic_sqlite_upgrade(engine)
        return
    if engine.dialect.name != "postgresql":
        upgrade(engine)
        return
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        conn.commit()
        try:
            if current_revision(engine) != head_revision(engine):
                upgrade(engine)
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_MIGRATION_LOCK})
            conn.commit()


def _atomic_sqlite_upgrade(engine: Engine) -> None:
    """Upgrade SQLite so that a crash mid-migration leaves the schema as it was.

    Python's sqlite3 driver runs DDL outside any transaction, so a process killed between two
    CREATE TABLEs left a half-built schema that every later start failed on ("table … already
    exists"). With the driver's own transaction handling off and an explicit BEGIN, each revision's
    DDL commits together with its alembic_version update.
    """
    atomic = make_engine(engine.url.render_as_string(hide_password=False))

    @event.listens_for(atomic, "connect")
    def _no_implicit_transactions(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None

    @event.listens_for(atomic, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    try:
        upgrade(atomic)
    finally:
        atomic.dispose()
