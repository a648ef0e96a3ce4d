"""Storage: the only stage that talks to the database."""

from pipeline.store import index_models  # noqa: F401  (registers the index tables)
from pipeline.store.base import Base, UTCDateTime, utcnow
from pipeline.store.engine import (
    check_connection,
    describe,
    make_engine,
    normalize_url,
    session_factory,
    transaction,
)
from pipeline.store.migrate import upgrade, upgrade_if_needed
from pipeline.store.models import (
    ArticleDateRow,
    ArticleEntityRow,
    ArticleRow,
    DigestRow,
    EntityRow,
    EventMergeRow,
    EventRow,
    FetchRow,
    SourceRow,
    StoryRow,
)

__all__ = [
    "ArticleDateRow", "ArticleEntityRow", "ArticleRow", "Base", "DigestRow", "EntityRow", "EventMergeRow",
    "EventRow", "FetchRow", "SourceRow", "StoryRow", "UTCDateTime", "check_connection", "describe",
    "make_engine", "normalize_url", "session_factory", "transaction", "upgrade", "upgrade_if_needed", "utcnow",
]
