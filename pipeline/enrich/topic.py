"""Topic relevance: a vocabulary in data (TOML) and a small logistic score over it.

The ``[topic]`` table of sources.toml::

    [topic]
    name = "Foreign-adversary technology bans"   # optional label
    vocabulary = "foreign-adversary-tech-bans"  # builtin name (pipeline/data/topics/<name>.toml)
                                                 # or a path to a TOML file, relative to sources.toml
    threshold = 0.5                              # optional, 0..1; overrides the vocabulary's own

A vocabulary file has ``threshold``, ``bias``, ``subject_countries`` and ``subject_types`` (linked
entities of these types from these countries count in the ``subject`` group), ``entity_groups``
(group = [entity types]: linked entities of those types count in that group), ``required`` (groups that must be present), ``missing_penalty``, ``title_weight`` and
``[groups.<name>]`` tables with ``weight`` and ``terms``. The score is
``sigmoid(bias + sum(weight * log1p(density)))`` where density is hits per 100 words (the title
counts ``title_weight`` times), minus ``missing_penalty`` for each ``required`` group with fewer
hits than asked (a list of groups needing one hit, or a table group = minimum hits).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError

_KNOWN_KEYS = {"name", "threshold", "vocabulary"}
DEFAULT_VOCABULARY = "foreign-adversary-tech-bans"


@dataclass(frozen=True)
class TermGroup:
    name: str
    weight: float
    terms: tuple[str, ...]


@dataclass(frozen=True)
class Topic:
    name: str
    threshold: float
    bias: float
    groups: tuple[TermGroup, ...]
    subject_countries: frozenset[str] = frozenset()
    subject_types: frozenset[str] = frozenset({"company", "product", "country"})
    entity_groups: tuple[tuple[str, frozenset[str]], ...] = ()
    required: tuple[tuple[str, float], ...] = ()  # (group, minimum hits)
    missing_penalty: float = 3.0
    title_weight: float = 3.0
    min_words: int = 150
    source: str = field(default="", compare=False)

    def score(self, counts: Mapping[str, float], words: int) -> float:
        """Relevance in [0, 1] from hit counts per group (entity hits already folded in)."""
        z = self.bias
        scale = 100.0 / max(words, self.min_words)
        for g in self.groups:
            c = counts.get(g.name, 0.0)
            z += g.weight * math.log1p(c * scale)
        for name, minimum in self.required:
            if counts.get(name, 0.0) < minimum:
                z -= self.missing_penalty
        return 1.0 / (1.0 + math.exp(-z))


def _err(field_name: str, message: str, path: Path | None = None) -> ConfigError:
    return ConfigError(message, path=path, where="topic", field=field_name)


def _builtin_names() -> list[str]:
    folder = resources.files("pipeline.data").joinpath("topics")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def _read_vocabulary(ref: str, base_dir: Path) -> tuple[dict[str, Any], str]:
    builtin = resources.files("pipeline.data").joinpath("topics").joinpath(f"{ref}.toml")
    looks_like_path = "/" in ref or "\\" in ref or ref.endswith(".toml")
    if not looks_like_path and builtin.is_file():
        return tomllib.loads(builtin.read_text(encoding="utf-8")), f"builtin:{ref}"
    path = Path(ref)
    if not path.is_absolute():
        path = base_dir / path
    if not path.is_file():
        hint = f"; builtin vocabularies: {', '.join(_builtin_names())}" if not looks_like_path else ""
        raise _err("vocabulary", f"no such vocabulary file or builtin name: {ref!r}{hint}")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8")), str(path)
    except tomllib.TOMLDecodeError as exc:
        raise _err("vocabulary", f"invalid TOML in {path}: {exc}") from exc


def _number(value: Any, field_name: str, lo: float | None = None, hi: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _err(field_name, f"expected a number, got {value!r}")
    value = float(value)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise _err(field_name, f"must be between {lo:g} and {hi:g}, got {value:g}")
    return value


def _str_list(value: Any, field_name: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _err(field_name, "expected a list of non-empty strings")
    return tuple(v.strip() for v in value)


def _entity_groups(value: Any, groups: Mapping[str, Any]) -> tuple[tuple[str, frozenset[str]], ...]:
    if not isinstance(value, dict):
        raise _err("vocabulary.entity_groups", "expected a table of group = [entity types]")
    out = []
    for gname, types in value.items():
        if gname not in groups:
            raise _err(f"vocabulary.entity_groups.{gname}", "unknown group")
        out.append((gname, frozenset(_str_list(types, f"vocabulary.entity_groups.{gname}"))))
    return tuple(out)


def parse_vocabulary(data: Mapping[str, Any], name: str | None, threshold: float | None, source: str) -> Topic:
    groups_raw = data.get("groups")
    if not isinstance(groups_raw, dict) or not groups_raw:
        raise _err("vocabulary", f"{source}: needs at least one [groups.<name>] table")
    groups = []
    for gname, g in groups_raw.items():
        if not isinstance(g, dict):
            raise _err(f"vocabulary.groups.{gname}", "expected a table")
        groups.append(TermGroup(gname, _number(g.get("weight", 1.0), f"vocabulary.groups.{gname}.weight"),
                                _str_list(g.get("terms", []), f"vocabulary.groups.{gname}.terms")))
    raw_required = data.get("required", [])
    if isinstance(raw_required, dict):
        required = tuple((str(k), _number(v, f"vocabulary.required.{k}", 0)) for k, v in raw_required.items())
    else:
        required = tuple((r, 1.0) for r in _str_list(raw_required, "vocabulary.required"))
    unknown = [r for r, _ in required if r not in groups_raw]
    if unknown:
        raise _err("vocabulary.required", f"unknown group(s): {', '.join(unknown)}")
    thr = threshold if threshold is not None else _number(data.get("threshold", 0.5), "vocabulary.threshold", 0, 1)
    return Topic(
        name=name or str(data.get("name", "topic")),
        threshold=thr,
        bias=_number(data.get("bias", 0.0), "vocabulary.bias"),
        groups=tuple(groups),
        subject_countries=frozenset(_str_list(data.get("subject_countries", []), "vocabulary.subject_countries")),
        entity_groups=_entity_groups(data.get("entity_groups", {}), groups_raw),
        subject_types=frozenset(_str_list(data.get("subject_types", ["company", "product", "country"]),
                                          "vocabulary.subject_types")),
        required=required,
        missing_penalty=_number(data.get("missing_penalty", 3.0), "vocabulary.missing_penalty", 0),
        title_weight=_number(data.get("title_weight", 3.0), "vocabulary.title_weight", 0),
        min_words=int(_number(data.get("min_words", 150), "vocabulary.min_words", 1)),
        source=source,
    )


def load_topic(table: Mapping[str, Any] | None, base_dir: Path) -> Topic | None:
    """Validate the ``[topic]`` table of sources.toml; ``None`` (no table) keeps every article."""
    if table is None:
        return None
    if not isinstance(table, Mapping):
        raise ConfigError("expected a table", where="topic")
    unknown = sorted(set(table) - _KNOWN_KEYS)
    if unknown:
        raise _err(unknown[0], f"unknown key (known: {', '.join(sorted(_KNOWN_KEYS))})")
    name = table.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise _err("name", "expected a non-empty string")
    threshold = None
    if "threshold" in table:
        threshold = _number(table["threshold"], "threshold", 0.0, 1.0)
    ref = table.get("vocabulary", DEFAULT_VOCABULARY)
    if not isinstance(ref, str) or not ref.strip():
        raise _err("vocabulary", "expected a builtin name or a path to a TOML file")
    data, source = _read_vocabulary(ref.strip(), Path(base_dir))
    return parse_vocabulary(data, name, threshold, source)
