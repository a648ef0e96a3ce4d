"""Writes that must be idempotent across retries and across daemons sharing one database."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from pipeline.config import Config
from pipeline.store import core
from pipeline.store.base import utcnow
from pipeline.store.models import ArticleDateRow, ArticleEntityRow, ArticleRow, EntityRow, FetchRow, SourceRow


def insert_ignore(session: Session, model: Any, values: dict[str, Any] | list[dict[str, Any]],
                  conflict: Iterable[str]) -> None:
    """INSERT … ON CONFLICT DO NOTHING on either backend."""
    dialect = session.get_bind().dialect.name
    # a Core insert of the table: on an ORM class it would take the slower ORM bulk path
    table = getattr(model, "__table__", model)
    ins = pg_insert(table) if dialect == "postgresql" else sqlite_insert(table)
    # executemany of one cached statement; a multi-row VALUES would be compiled anew for every row count
    session.execute(ins.on_conflict_do_nothing(index_elements=list(conflict)),
                    values if isinstance(values, list) else [values])


def sync_sources(session: Session, config: Config) -> dict[str, int]:
    """Make the sources table match the config (rows of removed sources stay, disabled)."""
    now = utcnow()
    rows = {r.key: r for r in session.scalars(select(SourceRow))}
    configured = {s.key for s in config.sources}
    for s in config.sources:
        row = rows.get(s.key)
        if row is None:
            insert_ignore(session, SourceRow, {
                "key": s.key, "name": s.name, "kind": s.kind, "url": s.url, "enabled": s.enabled,
                "interval_seconds": s.interval, "consecutive_failures": 0, "created_at": now, "updated_at": now,
            }, ["key"])
            continue
        changed = (row.name, row.kind, row.url, row.enabled, row.interval_seconds) != (
            s.name, s.kind, s.url, s.enabled, s.interval)
        if row.url != s.url or row.kind != s.kind:  # validators of another URL mean nothing
            row.etag = row.last_modified = row.body_hash = None
        if changed:
            row.name, row.kind, row.url, row.enabled, row.interval_seconds = (
                s.name, s.kind, s.url, s.enabled, s.interval)
    for key, row in rows.items():
        if key not in configured and row.enabled:
            row.enabled = False
    session.flush()
    return {r.key: r.id for r in session.scalars(select(SourceRow))}


def article_known(session: Session, canonical_url: str) -> bool:
    return session.scalar(select(ArticleRow.id).where(ArticleRow.canonical_url == canonical_url)) is not None


def known_urls(session: Session, canonical_urls: list[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(canonical_urls), 500):
        chunk = canonical_urls[i:i + 500]
        found.update(session.scalars(select(ArticleRow.canonical_url).where(ArticleRow.canonical_url.in_(chunk))))
    return found


ARTICLE_URL_MAX = 2000  # article fetch rows are keyed by URL; btree entries must stay small
MAX_ARTICLE_ATTEMPTS = 3


def given_up_urls(session: Session, canonical_urls: list[str]) -> set[str]:
    """Article URLs not worth fetching again: no article there, refused, or failed too often.

    Without this, an index page listed in a sitemap would be fetched on every cycle forever.
    """
    found: set[str] = set()
    for i in range(0, len(canonical_urls), 500):
        chunk = [u[:ARTICLE_URL_MAX] for u in canonical_urls[i:i + 500]]
        rows = session.execute(
            select(FetchRow.url, FetchRow.status, func.count())
            .where(FetchRow.target == "article", FetchRow.url.in_(chunk))
            .group_by(FetchRow.url, FetchRow.status)
        )
        for url, status, n in rows:
            if status in ("no_article", "refused", "blocked_by_robots") or n >= MAX_ARTICLE_ATTEMPTS:
                found.add(url)
    return found


# built once: constructing and cache-keying a statement per article was a visible share of the store path
_ENTITY_IDS = select(EntityRow.__table__.c.key, EntityRow.__table__.c.id).where(
    EntityRow.__table__.c.key.in_(bindparam("keys", expanding=True)))
_ARTICLE_ENTITY_INSERT = insert(ArticleEntityRow.__table__)
_ARTICLE_DATE_INSERT = insert(ArticleDateRow.__table__)
_ENTITY_INSERT = {
    name: ins(EntityRow.__table__).on_conflict_do_nothing(index_elements=["key"]).returning(
        EntityRow.__table__.c.key, EntityRow.__table__.c.id)
    for name, ins in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}


def _entity_insert(session: Session) -> Any:
    """INSERT … ON CONFLICT DO NOTHING RETURNING key, id for the session's backend."""
    return _ENTITY_INSERT[session.get_bind().dialect.name]


class EntityCache:
    """Entity key -> id, filled lazily; entity rows are never deleted, so the cache stays true.

    Bounded: discovered entities (new names) keep coming for as long as the daemon runs.
    """

    def __init__(self, max_entries: int = 50_000) -> None:
        self._ids: dict[str, int] = {}
        self.max_entries = max_entries

    def id_for(self, session: Session, hit: Any, now: datetime) -> int:
        cached = self._ids.get(hit.key)
        if cached is not None:
            return cached
        ident = session.scalar(select(EntityRow.id).where(EntityRow.key == hit.key))
        if ident is None:
            parent_id = None
            if getattr(hit, "parent_key", None):
                parent_id = session.scalar(select(EntityRow.id).where(EntityRow.key == hit.parent_key))
            insert_ignore(session, EntityRow, {
                "key": hit.key, "name": hit.name, "type": hit.type, "country": hit.country,
                "origin": hit.origin, "parent_id": parent_id, "first_seen_at": now,
            }, ["key"])
            ident = session.scalar(select(EntityRow.id).where(EntityRow.key == hit.key))
        assert ident is not None
        if len(self._ids) >= self.max_entries:
            self._ids.pop(next(iter(self._ids)))  # the oldest entry
        self._ids[hit.key] = ident
        return ident

    def forget(self) -> None:
        """Drop the cache after a rollback: ids inserted in the failed transaction are gone."""
        self._ids.clear()


    def ids_for(self, session: Session, hits: list[Any], now: datetime) -> dict[str, int]:
        """Ids of all ``hits`` in at most three statements (a SELECT, one INSERT … ON CONFLICT, a SELECT).

        One round of lookups per article instead of up to three per new entity: discovered entities
        (new names) make misses common, and this was a hot spot of the store path.
        """
        out = {h.key: self._ids[h.key] for h in hits if h.key in self._ids}
        missing = {h.key: h for h in hits if h.key not in out}
        if not missing:
            return out
        wanted = set(missing) | {h.parent_key for h in missing.values() if getattr(h, "parent_key", None)}
        found = dict(core.execute(session, _ENTITY_IDS, {"keys": list(wanted)}).all())
        new = [h for k, h in missing.items() if k not in found]
        if new:
            # RETURNING gives the ids of the rows inserted here; only rows another daemon inserted
            # meanwhile (a conflict, so nothing returned) need the SELECT after
            found.update(core.execute(session, _entity_insert(session), [{
                "key": h.key, "name": h.name, "type": h.type, "country": h.country, "origin": h.origin,
                "parent_id": found.get(getattr(h, "parent_key", None) or ""), "first_seen_at": now,
            } for h in new]).all())
            raced = [h.key for h in new if h.key not in found]
            if raced:
                found.update(core.execute(session, _ENTITY_IDS, {"keys": raced}).all())
        for key in missing:
            ident = found[key]
            if len(self._ids) >= self.max_entries:
                self._ids.pop(next(iter(self._ids)))  # the oldest entry
            self._ids[key] = out[key] = ident
        return out


def save_entities(session: Session, article_id: int, hits: Iterable[Any], cache: EntityCache, now: datetime
                  ) -> None:
    hits = list(hits)
    ids = cache.ids_for(session, hits, now)
    merged: dict[int, int] = {}
    for hit in hits:
        eid = ids[hit.key]
        merged[eid] = merged.get(eid, 0) + max(1, int(hit.mentions))
    if merged:  # one Core executemany: neither a unit-of-work flush nor the ORM bulk path (hot spots per article)
        core.execute(session, _ARTICLE_ENTITY_INSERT,
                        [{"article_id": article_id, "entity_id": e, "mentions": m} for e, m in merged.items()])


def save_dates(session: Session, article_id: int, dates: Iterable[Any]) -> None:
    seen: set[tuple[Any, str]] = set()
    rows = []
    for d in dates:
        if (d.date, d.role) in seen:
            continue
        seen.add((d.date, d.role))
        rows.append({"article_id": article_id, "date": d.date, "precision": d.precision, "role": d.role,
                     "snippet": (d.snippet or "")[:1000] or None})
    if rows:
        core.execute(session, _ARTICLE_DATE_INSERT, rows)


def start_fetch(session: Session, source_id: int, url: str | None, node: str | None, *, target: str = "source"
                ) -> int:
    row = FetchRow(source_id=source_id, url=url, started_at=utcnow(), status="running", node=node, target=target)
    session.add(row)
    session.flush()
    return row.id


def mark_interrupted(session: Session, source_ids: Iterable[int]) -> int:
    """Fetches left 'running' by a process that died are recorded as interrupted."""
    ids = list(source_ids)
    if not ids:
        return 0
    result = session.execute(
        update(FetchRow)
        .where(FetchRow.source_id.in_(ids), FetchRow.status == "running")
        .values(status="interrupted", finished_at=utcnow(), error="the process stopped before this fetch ended")
    )
    return int(getattr(result, "rowcount", 0) or 0)
