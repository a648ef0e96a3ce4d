"""cluster_postings: the lookup index also holds cluster_id (covering)

Revision ID: 0004
Revises: 0003

A story candidate lookup reads the newest postings of each of the article's keys through the index
on (kind, key, last_day) and needs only their cluster_id. Without it in the index, each posting was
one more read of a table row (a random page, more often outside the memory map as the database
grows); with it the lookup reads the index alone (SQLite: a covering index; PostgreSQL: an
index-only scan once the table is vacuumed). The old index is replaced, not kept beside the new one.
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_cluster_postings_kind_key_last_day_cluster_id", "cluster_postings",
                    ["kind", "key", "last_day", "cluster_id"], unique=False)
    op.drop_index("ix_cluster_postings_kind_key_last_day", table_name="cluster_postings")


def downgrade() -> None:
    op.create_index("ix_cluster_postings_kind_key_last_day", "cluster_postings", ["kind", "key", "last_day"],
                    unique=False)
    op.drop_index("ix_cluster_postings_kind_key_last_day_cluster_id", table_name="cluster_postings")
