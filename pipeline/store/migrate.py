"""Apply the Alembic revisions programmatically (``banwatch db upgrade``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

import pipeline


def migrations_dir() -> Path:
    """The revisions: packaged inside the wheel, or ``migrations/`` in a source checkout."""
    pkg = Path(pipeline.__file__).resolve().parent
    for candidate in (pkg / "_migrations", pkg.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("banwatch migrations not found (broken installation?)")


def alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def upgrade_if_needed(engine: Engine) -> bool:
    """Bring the schema to head; returns True when something was applied."""
    if current_revision(engine) == head_revision(engine):
        return False
    upgrade(engine)
    return True
