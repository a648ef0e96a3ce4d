"""The entity gazetteer: shipped data plus an optional user file in the same TOML format.

File format (``pipeline/data/gazetteer.toml`` documents it in its header)::

    [[entity]]
    key = "acme_robotics"            # stable id, unique across files
    name = "Acme Robotics Co., Ltd." # canonical name
    type = "company"                 # company|government_body|person|country|law_or_rule|product|organization
    country = "CN"                   # ISO 3166-1 alpha-2, optional
    parent = "acme_group"            # key of a parent entity, optional
    aliases = ["Acme Robotics", "Acme"]   # names that always identify the entity
    ambiguous = ["the Company"]      # names that count only when the entity or a `context` entity is named
    weak = ["Acme's"]                # metonyms/demonyms: add mentions only when the entity is named
    unverified = ["ACR"]             # unconfirmed spellings: long ones like aliases, acronyms like ambiguous
    context = ["dji"]                # keys supporting `ambiguous` names
    veto = ["Acme Bank"]             # phrases that switch off this entity's acronyms and ambiguous names
    note = "free text"               # provenance, kept
    sources = ["https://..."]

A user file may also redefine a shipped key (the user's entry replaces it) or add aliases to one
with ``extends = "key"`` instead of ``key``.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from pipeline.enrich.model import ENTITY_TYPES
from pipeline.errors import ConfigError

log = logging.getLogger(__name__)

_LIST_FIELDS = ("aliases", "ambiguous", "weak", "unverified", "context", "veto", "sources")


@dataclass(frozen=True)
class Entity:
    key: str
    name: str
    type: str
    country: str | None = None
    parent: str | None = None
    aliases: tuple[str, ...] = ()
    ambiguous: tuple[str, ...] = ()
    weak: tuple[str, ...] = ()
    unverified: tuple[str, ...] = ()
    context: tuple[str, ...] = ()
    veto: tuple[str, ...] = ()
    note: str | None = None
    sources: tuple[str, ...] = ()


@dataclass
class Gazetteer:
    """Entities by key; ``children`` is derived from ``parent`` links."""

    entities: dict[str, Entity]
    children: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        kids: dict[str, list[str]] = {}
        for e in self.entities.values():
            if e.parent:
                kids.setdefault(e.parent, []).append(e.key)
        self.children = {k: tuple(v) for k, v in kids.items()}

    def __len__(self) -> int:
        return len(self.entities)

    def __contains__(self, key: object) -> bool:
        return key in self.entities

    def get(self, key: str) -> Entity | None:
        return self.entities.get(key)


def _parse_entity(raw: dict, where: str, path: Path | None) -> tuple[Entity | None, str | None, dict]:
    """Validate one [[entity]] table; returns (entity, extends_key, extra aliases) ."""
    if not isinstance(raw, dict):
        raise ConfigError("expected a table", path=path, where=where)
    for name in _LIST_FIELDS:
        value = raw.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ConfigError("expected a list of non-empty strings", path=path, where=where, field=name)
    if "extends" in raw:
        return None, str(raw["extends"]), {n: tuple(raw.get(n, ())) for n in _LIST_FIELDS}
    for name in ("key", "name", "type"):
        if not isinstance(raw.get(name), str) or not raw[name].strip():
            raise ConfigError("required, a non-empty string", path=path, where=where, field=name)
    if raw["type"] not in ENTITY_TYPES:
        raise ConfigError(f"unknown type {raw['type']!r} (known: {', '.join(ENTITY_TYPES)})",
                          path=path, where=where, field="type")
    for name in ("country", "parent", "note"):
        if name in raw and not isinstance(raw[name], str):
            raise ConfigError("expected a string", path=path, where=where, field=name)
    entity = Entity(
        key=raw["key"].strip(),
        name=raw["name"].strip(),
        type=raw["type"],
        country=raw.get("country") or None,
        parent=raw.get("parent") or None,
        note=raw.get("note"),
        **{n: tuple(raw.get(n, ())) for n in _LIST_FIELDS},
    )
    return entity, None, {}


def parse_gazetteer(data: dict, path: Path | None = None) -> tuple[list[Entity], list[tuple[str, dict]]]:
    items = data.get("entity", [])
    if not isinstance(items, list):
        raise ConfigError("expected an array of tables [[entity]]", path=path, where="entity")
    entities: list[Entity] = []
    extensions: list[tuple[str, dict]] = []
    for i, raw in enumerate(items):
        where = f"entity[{i}]" + (f" {raw.get('key') or raw.get('extends')}" if isinstance(raw, dict) else "")
        entity, extends, extra = _parse_entity(raw, where, path)
        if entity is not None:
            entities.append(entity)
        else:
            extensions.append((extends or "", extra))
    return entities, extensions


def _read_toml(path: Path) -> dict:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError("file not found", path=path, where="settings", field="entities_file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", path=path) from exc


def load_gazetteer(extra_path: Path | None = None) -> Gazetteer:
    """The shipped gazetteer, plus the user's entity file (``settings.entities_file``) when given."""
    shipped = resources.files("pipeline.data").joinpath("gazetteer.toml").read_bytes()
    base, _ = parse_gazetteer(tomllib.loads(shipped.decode("utf-8")))
    entities = {e.key: e for e in base}
    if extra_path is not None:
        extra_path = Path(extra_path)
        added, extensions = parse_gazetteer(_read_toml(extra_path), extra_path)
        for e in added:
            entities[e.key] = e
        for key, extra in extensions:
            if key not in entities:
                raise ConfigError(f"extends unknown entity {key!r}", path=extra_path, where="entity", field="extends")
            old = entities[key]
            merged = {n: tuple(dict.fromkeys(getattr(old, n) + extra[n])) for n in _LIST_FIELDS}
            entities[key] = Entity(key=old.key, name=old.name, type=old.type, country=old.country,
                                   parent=old.parent, note=old.note, **merged)
        log.info("gazetteer_loaded path=%s added=%d extended=%d", extra_path, len(added), len(extensions))
    for e in entities.values():
        if e.parent and e.parent not in entities:
            raise ConfigError(f"unknown parent {e.parent!r}", path=extra_path, where=f"entity {e.key}", field="parent")
    return Gazetteer(entities)
