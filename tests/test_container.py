"""The daemon image, built and run for real (podman or docker) against the local test web and PostgreSQL.

Runs only when BANWATCH_CONTAINER_TESTS=1 (then podman or docker must be installed: `.ci/run`
prepares podman with ../shared/tools/container-env.sh). The container shares the host network, so it
reaches the test web on 127.0.0.1 and the test run's PostgreSQL database.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pipeline.store import make_engine, session_factory
from pipeline.store.models import ArticleRow, DigestRow, FetchRow
from tests.conftest import REPO, _truncate_all
from tests.daemon_proc import wait_for
from tests.daemon_site import NewsWeb
from tests.testweb import testweb_fixture  # noqa: F401

ENGINE = shutil.which("podman") or shutil.which("docker")
pytestmark = [
    pytest.mark.container,
    pytest.mark.skipif(os.environ.get("BANWATCH_CONTAINER_TESTS") != "1",
                       reason="container tests run with BANWATCH_CONTAINER_TESTS=1"),
]
IMAGE = "localhost/banwatch:test"


def _engine(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    assert ENGINE is not None
    return subprocess.run([ENGINE, *args], capture_output=True, text=True, timeout=timeout, check=check)


@pytest.fixture(scope="module")
def image() -> str:
    if ENGINE is None:  # asked for explicitly, so a missing engine is a failure, not a skip
        pytest.fail("BANWATCH_CONTAINER_TESTS=1 but neither podman nor docker is installed "
                    "(run ../shared/tools/container-env.sh)")
    fmt = ["--format", "docker"] if ENGINE and ENGINE.endswith("podman") else []  # keep the HEALTHCHECK
    proc = subprocess.run([ENGINE, "build", *fmt, "-t", IMAGE, str(REPO)], capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return IMAGE


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _health(port: int) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")
    except OSError:
        return 0, {}


def test_image_metadata(image: str):
    info = json.loads(_engine("image", "inspect", image).stdout)[0]
    config = info.get("Config") or {}
    assert config.get("User") == "banwatch:banwatch"
    assert config.get("Entrypoint") == ["banwatch"] and config.get("Cmd") == ["daemon"]
    health = config.get("Healthcheck") or info.get("Healthcheck") or info.get("HealthCheck") or {}
    assert "/healthz" in " ".join(health.get("Test", [])), info
    assert {"/data", "/digests"} <= set(config.get("Volumes") or {})
    uid = _engine("run", "--rm", "--entrypoint", "id", image, "-u").stdout.strip()
    assert uid == "10001"


def test_daemon_in_container(image: str, testweb, tmp_path: Path, pg_migrated: str):
    _truncate_all(pg_migrated)
    site = NewsWeb(testweb, 2, initial=3)
    cfg = site.write_config(tmp_path / "sources.toml", output_dir="/digests")
    digests = tmp_path / "digests"
    digests.mkdir()
    digests.chmod(0o777)  # the container's user (uid 10001) writes here
    port = _free_port()
    name = f"banwatch-test-{uuid.uuid4().hex[:8]}"
    engine = make_engine(pg_migrated)
    sessions = session_factory(engine)
    _engine("run", "-d", "--name", name, "--network", "host",
            "-e", f"BANWATCH_DB={pg_migrated}", "-e", f"BANWATCH_HEALTH_PORT={port}",
            "-e", "BANWATCH_LEASE_SECONDS=20",
            "-v", f"{cfg}:/config/sources.toml:ro", "-v", f"{digests}:/digests", image)
    try:
        wait_for(lambda: _health(port)[0] == 200, 90, "the container's /healthz")
        with sessions() as s:
            wait_for(lambda: s.scalar(select(func.count()).select_from(ArticleRow)) >= 6, 60, "stored articles")
        status, health = _health(port)
        assert status == 200 and health["database"]["reachable"] and health["scheduler"]["running"]
        wait_for(lambda: any(digests.glob("digest-*.md")), 60, "a digest file")
        with sessions() as s:
            assert s.scalar(select(func.count()).select_from(DigestRow)) == 1
            assert s.scalar(select(func.count()).select_from(FetchRow).where(FetchRow.status == "ok")) >= 2
        hc = _engine("healthcheck", "run", name, check=False) if ENGINE.endswith("podman") else None
        assert hc is None or hc.returncode == 0, (hc.stdout, hc.stderr)
        _engine("stop", "-t", "30", name, timeout=60)  # SIGTERM, then SIGKILL after 30 s
        state = json.loads(_engine("inspect", name).stdout)[0]["State"]
        logs = _engine("logs", name).stdout + _engine("logs", name).stderr
        assert state["ExitCode"] == 0, logs[-3000:]
        assert 'msg="daemon stopped"' in logs and "Traceback" not in logs
    finally:
        _engine("rm", "-f", name, check=False)
        engine.dispose()
