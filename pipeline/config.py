"""Load and validate ``sources.toml`` into typed, immutable settings.

Every problem becomes a :class:`~pipeline.errors.ConfigError` whose message names
the file, the table or source key, and the field, because an operator editing a
file with a hundred sources needs to know exactly where to look.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import time as dtime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipeline.errors import ConfigError

DEFAULT_CONFIG = "sources.toml"
DEFAULT_DB = "sqlite:///banwatch.db"
SOURCE_KINDS = ("feed", "sitemap", "html")

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)", re.I)
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$", re.I)
_SIZE_UNITS = {"b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2, "gb": 1000**3, "gib": 1024**3}
_KEY = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


def parse_duration(value: Any) -> float:
    """Seconds from "30m", "1h30m", "1.5s", "500ms", "2d" or a bare number of seconds."""
    if isinstance(value, bool):
        raise ValueError(f'expected a duration like "30m", got {value!r}')
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f'expected a duration like "30m", got {value!r}')
        return float(value)
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        if text and _DURATION_PART.sub("", text) == "":
            return sum(float(n) * _DURATION_UNITS[u.lower()] for n, u in _DURATION_PART.findall(text))
    raise ValueError(f'expected a duration like "30m", got {_show(value)}')


def parse_size(value: Any) -> int:
    """Bytes from "10MB", "512KiB", "1000" or a bare integer."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str):
        m = _SIZE.match(value)
        if m:
            return int(float(m.group(1)) * _SIZE_UNITS[(m.group(2) or "b").lower()])
    raise ValueError(f'expected a size like "10MB", got {_show(value)}')


def _show(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def check_url(value: Any, *, schemes: tuple[str, ...] = ("http", "https")) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a URL, got {_show(value)}")
    parts = urlsplit(value.strip())
    if parts.scheme.lower() not in schemes or not parts.hostname:
        raise ValueError(f"expected an absolute {' or '.join(schemes)} URL, got {_show(value)}")
    return value.strip()


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
        return value.lower() in {"1", "true", "yes", "on"}
    raise ValueError(f"expected true or false, got {_show(value)}")


def _int_in(lo: int, hi: int) -> Callable[[Any], int]:
    def conv(value: Any) -> int:
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ValueError(f"expected a whole number from {lo} to {hi}, got {_show(value)}")
        return value

    return conv


def _str(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a non-empty string, got {_show(value)}")
    return value.strip()


def _opt_str(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return _str(value)


def _timezone(value: Any) -> str:
    name = _str(value)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f'unknown time zone "{name}" (use an IANA name like "Europe/Berlin")') from None
    return name


def _clock(value: Any) -> str:
    text = _str(value)
    m = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", text)
    if not m:
        raise ValueError(f'expected a time of day like "07:00", got {_show(value)}')
    return f"{int(m.group(1)):02d}:{m.group(2)}"


def _db_url(value: Any) -> str:
    text = _str(value)
    if "://" not in text:
        raise ValueError(f'expected a database URL like "sqlite:///banwatch.db", got {_show(value)}')
    return text


def _event_grouping(value: Any) -> str:
    text = _str(value).lower()
    if text not in ("developments", "general"):
        raise ValueError(f'expected "developments" or "general", got {_show(value)}')
    return text


def _log_format(value: Any) -> str:
    text = _str(value).lower()
    if text not in ("text", "json"):
        raise ValueError(f'expected "text" or "json", got {_show(value)}')
    return text


# name -> (converter, default). Adding a setting is one line here plus one field on Settings.
_SETTINGS_SCHEMA: dict[str, tuple[Callable[[Any], Any], Any]] = {
    "database_url": (_db_url, None),
    "timezone": (_timezone, "UTC"),
    "digest_time": (_clock, "07:00"),
    "output_dir": (_str, "digests"),
    "user_agent": (_str, "banwatch/0.1 (+https://github.com/banwatch/banwatch)"),
    "per_host_concurrency": (_int_in(1, 64), 2),
    "per_host_delay": (parse_duration, 1.0),
    "allow_private_networks": (_bool, False),
    "health_port": (_int_in(0, 65535), 8087),
    "entities_file": (_opt_str, None),
    "connect_timeout": (parse_duration, 10.0),
    "read_timeout": (parse_duration, 30.0),
    "total_timeout": (parse_duration, 60.0),
    "max_body_size": (parse_size, 10 * 1024**2),
    "max_redirects": (_int_in(0, 30), 5),
    "max_retries": (_int_in(0, 10), 2),
    "max_articles_per_source": (_int_in(1, 10000), 100),
    "respect_robots": (_bool, True),
    "story_dormant_after": (parse_duration, 14 * 86400.0),
    "fetch_log_retention": (parse_duration, 90 * 86400.0),
    "log_format": (_log_format, "text"),
    "event_grouping": (_event_grouping, "developments"),
    "report_failing_sources_after": (parse_duration, 86400.0),
}


@dataclass(frozen=True)
class Settings:
    """The ``[settings]`` table; durations are seconds, sizes are bytes."""

    database_url: str | None = None
    timezone: str = "UTC"
    digest_time: str = "07:00"
    output_dir: str = "digests"
    user_agent: str = "banwatch/0.1 (+https://github.com/banwatch/banwatch)"
    per_host_concurrency: int = 2
    per_host_delay: float = 1.0
    allow_private_networks: bool = False
    health_port: int = 8087
    entities_file: str | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_timeout: float = 60.0
    max_body_size: int = 10 * 1024**2
    max_redirects: int = 5
    max_retries: int = 2
    max_articles_per_source: int = 100
    respect_robots: bool = True
    story_dormant_after: float = 14 * 86400.0
    fetch_log_retention: float = 90 * 86400.0
    log_format: str = "text"
    # "developments" (default): one development per event; later reports join it, articles stating
    # another action (a headline verb, a later action day, a new deadline) open a new event; holds
    # on general news too. "general": later reports join even when they state another action.
    event_grouping: str = "developments"
    report_failing_sources_after: float = 86400.0  # the digest lists sources failing for this long

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def digest_clock(self) -> dtime:
        hh, mm = self.digest_time.split(":")
        return dtime(int(hh), int(mm))


@dataclass(frozen=True)
class Source:
    """One ``[[source]]``: where to look and how often."""

    key: str
    name: str
    kind: str
    url: str
    interval: float = 1800.0
    enabled: bool = True
    link_selector: str | None = None
    body_selector: str | None = None
    max_articles: int | None = None

    @property
    def host(self) -> str:
        return (urlsplit(self.url).hostname or "").lower()


_SOURCE_SCHEMA: dict[str, tuple[Callable[[Any], Any], Any]] = {
    "key": (_str, None),
    "name": (_str, None),
    "kind": (_str, None),
    "url": (check_url, None),
    "interval": (parse_duration, 1800.0),
    "enabled": (_bool, True),
    "link_selector": (_opt_str, None),
    "body_selector": (_opt_str, None),
    "max_articles": (_int_in(1, 10000), None),
}
_SOURCE_REQUIRED = ("key", "url", "kind")


@dataclass(frozen=True)
class Config:
    """A whole profile: settings, the raw ``[topic]`` table and the sources."""

    path: Path | None
    settings: Settings = field(default_factory=Settings)
    topic: Mapping[str, Any] | None = None
    sources: tuple[Source, ...] = ()

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    @property
    def enabled_sources(self) -> tuple[Source, ...]:
        return tuple(s for s in self.sources if s.enabled)

    def source(self, key: str) -> Source | None:
        return next((s for s in self.sources if s.key == key), None)

    def resolve(self, relative: str | None) -> Path | None:
        """A path from the config, relative to the config file's folder."""
        if not relative:
            return None
        p = Path(relative).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    def database_url(self, override: str | None = None) -> str:
        return override or os.environ.get("BANWATCH_DB") or self.settings.database_url or DEFAULT_DB


def _convert(schema: Mapping[str, tuple[Callable[[Any], Any], Any]], table: Mapping[str, Any], where: str
             ) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, raw in table.items():
        if name not in schema:
            known = ", ".join(sorted(schema))
            raise ConfigError(f"unknown key (known keys: {known})", where=where, field=name)
        conv, _ = schema[name]
        try:
            values[name] = conv(raw)
        except ValueError as exc:
            raise ConfigError(str(exc), where=where, field=name) from None
    return values


def parse_settings(table: Any, env: Mapping[str, str] | None = None) -> Settings:
    if not isinstance(table, dict):
        raise ConfigError("expected a table", where="settings")
    values = _convert(_SETTINGS_SCHEMA, table, "settings")
    for name, (conv, _) in _SETTINGS_SCHEMA.items():
        raw = (env or {}).get(f"BANWATCH_{name.upper()}")
        if raw is not None:
            try:
                values[name] = conv(raw)
            except ValueError as exc:
                raise ConfigError(str(exc), where=f"environment BANWATCH_{name.upper()}") from None
    return Settings(**values)


def parse_source(table: Any, index: int) -> Source:
    if not isinstance(table, dict):
        raise ConfigError("expected a table", where=f"source #{index + 1}")
    key = table.get("key")
    where = f'source "{key}"' if isinstance(key, str) and key else f"source #{index + 1}"
    for req in _SOURCE_REQUIRED:
        if req not in table:
            raise ConfigError("missing (required)", where=where, field=req)
    values = _convert(_SOURCE_SCHEMA, table, where)
    if not _KEY.match(values["key"]):
        raise ConfigError(
            f'expected lowercase letters, digits, "-", "_" or "." (at most 64), got "{values["key"]}"',
            where=where, field="key",
        )
    if values["kind"] not in SOURCE_KINDS:
        raise ConfigError(f'expected one of {", ".join(SOURCE_KINDS)}, got "{values["kind"]}"',
                          where=where, field="kind")
    if values.get("interval", 1800.0) < 10:
        raise ConfigError("must be at least 10s", where=where, field="interval")
    if values["kind"] == "html" and not values.get("link_selector"):
        raise ConfigError("html sources need a CSS selector for article links", where=where,
                          field="link_selector")
    for sel in ("link_selector", "body_selector"):
        if values.get(sel):
            _check_selector(values[sel], where, sel)
    values.setdefault("name", values["key"])
    return Source(**values)


def _check_selector(selector: str, where: str, field_name: str) -> None:
    from selectolax.lexbor import LexborHTMLParser

    try:
        LexborHTMLParser("<p></p>").css(selector)
    except Exception:  # selectolax raises plain exceptions for bad selectors
        raise ConfigError(f'invalid CSS selector "{selector}"', where=where, field=field_name) from None


def parse_config(data: Mapping[str, Any], path: Path | None = None, env: Mapping[str, str] | None = None
                 ) -> Config:
    """Validate an already-parsed TOML document."""
    try:
        unknown = sorted(set(data) - {"settings", "topic", "source"})
        if unknown:
            raise ConfigError("unknown table (known: settings, topic, source)", where=unknown[0])
        settings = parse_settings(data.get("settings", {}), env)
        topic = data.get("topic")
        if topic is not None and not isinstance(topic, dict):
            raise ConfigError("expected a table", where="topic")
        raw_sources = data.get("source", [])
        if not isinstance(raw_sources, list):
            raise ConfigError("expected [[source]] tables", where="source")
        sources = [parse_source(t, i) for i, t in enumerate(raw_sources)]
        seen: set[str] = set()
        for s in sources:
            if s.key in seen:
                raise ConfigError("duplicate source key (keys must be unique)", where=f'source "{s.key}"',
                                  field="key")
            seen.add(s.key)
        config = Config(path=path, settings=settings, topic=topic, sources=tuple(sources))
        if settings.entities_file:
            ef = config.resolve(settings.entities_file)
            if ef is None or not ef.is_file():
                raise ConfigError(f'file not found: "{ef}"', where="settings", field="entities_file")
    except ConfigError as exc:
        raise exc.with_path(path if path else "<config>") from None
    return config


def load_config(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read a profile from ``path``, ``$BANWATCH_CONFIG`` or ``./sources.toml``."""
    env = os.environ if env is None else env
    p = Path(path or env.get("BANWATCH_CONFIG") or DEFAULT_CONFIG)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError("config file not found (use --config or BANWATCH_CONFIG)", path=p) from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file: {exc.strerror}", path=p) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text", path=p) from None
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None) or _line_of(str(exc))
        msg = getattr(exc, "msg", None) or re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise ConfigError(f"TOML syntax error: {msg}", path=p, line=line) from None
    return parse_config(data, p, env)


def _line_of(message: str) -> int | None:
    m = re.search(r"line (\d+)", message)
    return int(m.group(1)) if m else None


def with_overrides(config: Config, **settings: Any) -> Config:
    """A copy with some settings replaced (used by tests and the demo)."""
    return replace(config, settings=replace(config.settings, **settings))
