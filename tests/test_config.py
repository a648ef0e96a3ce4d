"""sources.toml validation: every bad input names the file, the place and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import load_config, parse_duration, parse_size
from pipeline.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent

GOOD = """
[settings]
per_host_delay = "2s"
[[source]]
key = "fr-bis"
name = "Federal Register"
kind = "feed"
url = "https://www.federalregister.gov/x.rss"
interval = "30m"
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "sources.toml"
    p.write_text(text, encoding="utf-8")
    return p


def error_of(tmp_path: Path, text: str) -> str:
    """The message for a config given by a relative path, as a user would type it."""
    write(tmp_path, text)
    with pytest.MonkeyPatch.context() as mp, pytest.raises(ConfigError) as info:
        mp.chdir(tmp_path)
        load_config("sources.toml", env={})
    return str(info.value)


def test_shipped_profile_is_valid() -> None:
    config = load_config(REPO / "sources.toml", env={})
    assert len(config.enabled_sources) >= 5
    assert config.topic is not None


def test_good_config_parses_durations(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD), env={})
    assert config.settings.per_host_delay == 2.0
    assert config.sources[0].interval == 1800.0
    assert config.sources[0].host == "www.federalregister.gov"


@pytest.mark.parametrize(("text", "seconds"), [("30m", 1800), ("1h30m", 5400), ("500ms", 0.5), ("2d", 172800),
                                               ("1.5s", 1.5), (45, 45)])
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_sizes() -> None:
    assert parse_size("10MB") == 10_000_000
    assert parse_size("1MiB") == 1024 * 1024
    with pytest.raises(ValueError):
        parse_size("lots")


def test_bad_duration_names_file_source_and_field(tmp_path: Path) -> None:
    msg = error_of(tmp_path, GOOD.replace('"30m"', '"soon"'))
    assert msg == 'sources.toml: source "fr-bis": interval: expected a duration like "30m", got "soon"'


def test_toml_syntax_error_has_line_number(tmp_path: Path) -> None:
    msg = error_of(tmp_path, "[settings]\ntimezone = \n")
    assert msg.startswith("sources.toml:2: TOML syntax error")


def test_unknown_key_is_reported(tmp_path: Path) -> None:
    msg = error_of(tmp_path, GOOD.replace('interval = "30m"', 'intervall = "30m"'))
    assert 'source "fr-bis": intervall: unknown key' in msg


def test_unknown_setting_is_reported(tmp_path: Path) -> None:
    msg = error_of(tmp_path, GOOD.replace('per_host_delay = "2s"', "per_host_dealy = 1"))
    assert "sources.toml: settings: per_host_dealy: unknown key" in msg


def test_duplicate_keys(tmp_path: Path) -> None:
    msg = error_of(tmp_path, GOOD + GOOD.split("[settings]\nper_host_delay = \"2s\"")[1])
    assert msg == 'sources.toml: source "fr-bis": key: duplicate source key (keys must be unique)'


def test_bad_url(tmp_path: Path) -> None:
    msg = error_of(tmp_path, GOOD.replace("https://www.federalregister.gov/x.rss", "ftp://example.com/feed"))
    assert 'source "fr-bis": url: expected an absolute http or https URL' in msg


def test_bad_kind(tmp_path: Path) -> None:
    assert 'kind: expected one of feed, sitemap, html, got "rss"' in error_of(tmp_path, GOOD.replace(
        'kind = "feed"', 'kind = "rss"'))


def test_missing_required_field(tmp_path: Path) -> None:
    msg = error_of(tmp_path, GOOD.replace('url = "https://www.federalregister.gov/x.rss"\n', ""))
    assert msg == 'sources.toml: source "fr-bis": url: missing (required)'


def test_html_source_needs_link_selector(tmp_path: Path) -> None:
    msg = error_of(tmp_path, GOOD.replace('kind = "feed"', 'kind = "html"'))
    assert "link_selector" in msg


def test_bad_timezone(tmp_path: Path) -> None:
    msg = error_of(tmp_path, GOOD.replace('per_host_delay = "2s"', 'timezone = "Mars/Olympus"'))
    assert "settings: timezone: unknown time zone" in msg


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.toml", env={})
    assert "nope.toml: config file not found" in str(info.value)


def test_environment_overrides_settings(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD), env={"BANWATCH_HEALTH_PORT": "9999",
                                                      "BANWATCH_ALLOW_PRIVATE_NETWORKS": "true"})
    assert config.settings.health_port == 9999
    assert config.settings.allow_private_networks is True


def test_bad_environment_override(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, GOOD), env={"BANWATCH_PER_HOST_DELAY": "never"})
    assert "BANWATCH_PER_HOST_DELAY" in str(info.value)


def test_database_url_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(write(tmp_path, GOOD.replace('per_host_delay = "2s"',
                                                      'database_url = "sqlite:///from-config.db"')), env={})
    monkeypatch.delenv("BANWATCH_DB", raising=False)
    assert config.database_url() == "sqlite:///from-config.db"
    monkeypatch.setenv("BANWATCH_DB", "sqlite:///from-env.db")
    assert config.database_url() == "sqlite:///from-env.db"
    assert config.database_url("sqlite:///from-flag.db") == "sqlite:///from-flag.db"
