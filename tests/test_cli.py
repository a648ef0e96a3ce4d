"""The `banwatch` console script as a user runs it: help, exit codes, messages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BANWATCH = str(Path(sys.executable).parent / "banwatch")
COMMANDS = [["db", "upgrade"], ["run"], ["daemon"], ["digest"], ["extract"], ["sources", "check"],
            ["sources", "status"], ["stories"], ["story"], ["export"], ["search"], ["demo"]]


def banwatch(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None
             ) -> subprocess.CompletedProcess[str]:
    import os

    full_env = {k: v for k, v in os.environ.items() if not k.startswith("BANWATCH_")}
    full_env.update(env or {})
    return subprocess.run([BANWATCH, *args], capture_output=True, text=True, cwd=cwd, env=full_env, timeout=120)


def test_top_level_help_lists_every_command() -> None:
    res = banwatch("--help")
    assert res.returncode == 0
    for cmd in ("db", "run", "daemon", "digest", "extract", "sources", "stories", "story", "export", "search",
                "demo"):
        assert cmd in res.stdout


@pytest.mark.parametrize("cmd", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_each_command_has_help(cmd: list[str]) -> None:
    res = banwatch(*cmd, "--help")
    assert res.returncode == 0, res.stderr
    assert "Usage:" in res.stdout


def test_invalid_config_exits_2_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "sources.toml").write_text(
        '[[source]]\nkey = "fr-bis"\nkind = "feed"\nurl = "https://example.com/f"\ninterval = "soon"\n')
    res = banwatch("sources", "check", cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.strip() == ('banwatch: sources.toml: source "fr-bis": interval: expected a duration '
                                  'like "30m", got "soon"')
    assert "Traceback" not in res.stderr


def test_missing_config_exits_2(tmp_path: Path) -> None:
    res = banwatch("--config", "absent.toml", "run", "--once", cwd=tmp_path)
    assert res.returncode == 2
    assert "absent.toml: config file not found" in res.stderr


def test_config_from_environment(tmp_path: Path) -> None:
    res = banwatch("sources", "check", cwd=tmp_path, env={"BANWATCH_CONFIG": "elsewhere.toml"})
    assert res.returncode == 2
    assert "elsewhere.toml" in res.stderr


def test_run_without_once_is_a_usage_error(tmp_path: Path) -> None:
    res = banwatch("--config", str(Path(__file__).parent.parent / "sources.toml"), "run", cwd=tmp_path)
    assert res.returncode == 2
    assert "--once" in res.stderr


def test_unreachable_database_names_host_not_password(tmp_path: Path) -> None:
    res = banwatch("--db", "postgresql://bob:s3cret-pw@127.0.0.1:1/banwatch", "db", "upgrade", cwd=tmp_path)
    assert res.returncode == 1
    assert "127.0.0.1:1" in res.stderr
    assert "s3cret-pw" not in res.stderr + res.stdout
    assert "Traceback" not in res.stderr


def test_db_upgrade_on_both_backends(empty_db_url: str, tmp_path: Path) -> None:
    res = banwatch("--db", empty_db_url, "db", "upgrade", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "-> 0" in res.stdout
    again = banwatch("--db", empty_db_url, "db", "current", cwd=tmp_path)
    assert again.returncode == 0
    current, head = again.stdout.split("current:")[1].split("head:")
    assert current.strip() == head.strip()


def test_sources_check_on_shipped_profile() -> None:
    res = banwatch("sources", "check", cwd=Path(__file__).parent.parent)
    assert res.returncode == 0, res.stderr
    assert "enabled" in res.stdout
