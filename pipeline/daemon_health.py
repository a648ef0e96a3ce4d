"""The daemon's HTTP side door: /healthz (JSON, 503 when unhealthy) and /metrics (Prometheus text).

It runs in its own thread so it answers even while the event loop is busy or the database hangs.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from sqlalchemy.engine import Engine

from pipeline.store.base import utcnow

log = logging.getLogger(__name__)


@dataclass
class HealthState:
    """What the scheduler tells the health endpoint; written by the loop, read by the HTTP thread."""

    node: str
    started_at: datetime = field(default_factory=utcnow)
    scheduler_running: bool = False
    stopping: bool = False
    jobs: int = 0
    in_flight: int = 0
    last_tick_at: datetime | None = None  # any source job turn that reached the database (run or skip)
    last_cycle_at: datetime | None = None  # any source run that completed
    last_successful_cycle_at: datetime | None = None  # a source run that fetched successfully
    last_db_error: str | None = None
    last_db_error_at: datetime | None = None
    last_digest_day: str | None = None
    stall_after: float = 3600.0  # seconds without any source job turn before "stalled"


class DatabaseProbe:
    """SELECT 1 with a short timeout, cached for a moment so a scraping storm does not hammer the DB."""

    def __init__(self, engine: Engine, cache_seconds: float = 2.0) -> None:
        self.engine = engine
        self.cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._last: tuple[float, bool, str | None] | None = None

    def check(self) -> tuple[bool, str | None]:
        with self._lock:
            if self._last and time.monotonic() - self._last[0] < self.cache_seconds:
                return self._last[1], self._last[2]
            try:
                with self.engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
                ok, err = True, None
            except Exception as exc:
                ok, err = False, f"{type(exc).__name__}: {str(getattr(exc, 'orig', exc)).strip()[:300]}"
            self._last = (time.monotonic(), ok, err)
            return ok, err


def health_report(state: HealthState, probe: DatabaseProbe) -> tuple[bool, dict[str, Any]]:
    db_ok, db_err = probe.check()
    now = utcnow()
    uptime = (now - state.started_at).total_seconds()
    # a turn that found its source leased by another node counts: with more nodes than work, a
    # healthy node may rarely fetch, but its scheduler still turns
    last = state.last_tick_at or state.started_at
    stalled = (now - last).total_seconds() > state.stall_after
    problems = []
    if not state.scheduler_running:
        problems.append("scheduler not running")
    if not db_ok:
        problems.append("database unreachable")
    if stalled:
        problems.append(f"scheduler stalled: no source job turn for {int((now - last).total_seconds())}s")
    healthy = not problems
    body = {
        "status": "ok" if healthy else "unhealthy",
        "problems": problems,
        "node": state.node,
        "uptime_seconds": round(uptime, 1),
        "scheduler": {"running": state.scheduler_running, "stopping": state.stopping, "jobs": state.jobs,
                      "in_flight": state.in_flight},
        "database": {"reachable": db_ok, "error": db_err,
                     "last_error": state.last_db_error,
                     "last_error_at": _iso(state.last_db_error_at)},
        "last_tick_at": _iso(state.last_tick_at),
        "last_cycle_at": _iso(state.last_cycle_at),
        "last_successful_cycle_at": _iso(state.last_successful_cycle_at),
        "last_digest_day": state.last_digest_day,
    }
    return healthy, body


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when else None


class HealthServer:
    """A small threaded HTTP server; port 0 picks a free port (see ``.port``)."""

    def __init__(self, host: str, port: int, report: Callable[[], tuple[bool, dict[str, Any]]],
                 metrics: Callable[[], bytes]) -> None:
        class Handler(BaseHTTPRequestHandler):
            server_version = "banwatch"
            sys_version = ""

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
                pass

            def do_GET(self) -> None:  # noqa: N802 - stdlib name
                path = self.path.split("?", 1)[0]
                try:
                    if path == "/healthz":
                        healthy, body = report()
                        self._send(200 if healthy else 503, "application/json",
                                   json.dumps(body, indent=1).encode() + b"\n")
                    elif path == "/metrics":
                        self._send(200, CONTENT_TYPE_LATEST, metrics())
                    elif path == "/":
                        self._send(200, "text/plain; charset=utf-8", b"banwatch daemon: /healthz /metrics\n")
                    else:
                        self._send(404, "text/plain; charset=utf-8", b"not found\n")
                except Exception:
                    log.exception("health endpoint failed", extra={"path": path})
                    self._send(500, "text/plain; charset=utf-8", b"internal error\n")

            def _send(self, status: int, ctype: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server((host, port), Handler)
        self.host = host
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="health", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
