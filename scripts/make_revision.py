"""Autogenerate an Alembic revision from the models against an empty SQLite database.

Usage: python scripts/make_revision.py "message" [--rev-id 0002]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from alembic import command

from pipeline.store import make_engine
from pipeline.store.migrate import alembic_config, upgrade


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("message")
    ap.add_argument("--rev-id")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'gen.db'}")
        upgrade(engine)
        command.revision(alembic_config(engine), message=args.message, autogenerate=True, rev_id=args.rev_id)


if __name__ == "__main__":
    main()
