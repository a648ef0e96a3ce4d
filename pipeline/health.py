"""Source health as the operator sees it (`banwatch sources status`, the digest header)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from pipeline.config import Config
from pipeline.runtime import Runtime
from pipeline.store.models import ArticleRow, SourceRow


@dataclass(frozen=True)
class SourceStatus:
    key: str
    name: str
    kind: str
    enabled: bool
    in_config: bool
    last_fetch_at: datetime | None
    last_success_at: datetime | None
    last_status: str | None
    last_error: str | None
    consecutive_failures: int
    next_fetch_at: datetime | None
    articles: int


def source_status_rows(rt: Runtime, config: Config) -> list[SourceStatus]:
    """Configured sources first (in config order), then rows of sources no longer configured."""
    with rt.sessions() as s:
        rows = {r.key: r for r in s.scalars(select(SourceRow))}
        counts = dict(s.execute(select(ArticleRow.source_id, func.count()).group_by(ArticleRow.source_id)).all())
    order = [src.key for src in config.sources] + sorted(k for k in rows if config.source(k) is None)
    result: list[SourceStatus] = []
    for key in order:
        row = rows.get(key)
        src = config.source(key)
        if row is None and src is not None:
            result.append(SourceStatus(key, src.name, src.kind, src.enabled, True, None, None, "never fetched",
                                       None, 0, None, 0))
        elif row is not None:
            result.append(SourceStatus(key, row.name, row.kind, bool(row.enabled and src is not None and
                                                                     src.enabled), src is not None,
                                       row.last_fetch_at, row.last_success_at, row.last_status, row.last_error,
                                       row.consecutive_failures or 0, row.next_fetch_at,
                                       int(counts.get(row.id, 0))))
    return result
