"""A local "news web" for tests: a threaded HTTP server on 127.0.0.1 with misbehaviour on demand.

Use the ``testweb`` fixture (``from tests.testweb import testweb_fixture  # noqa: F401`` in a test
module, or ``pytest_plugins = ["tests.testweb"]`` in the top-level conftest.py)::

    def test_feed(testweb):
        testweb.add("/feed.xml", RSS, content_type="application/rss+xml")
        url = testweb.url("/feed.xml")                  # http://127.0.0.1:PORT/feed.xml
        url = testweb.url("/feed.xml", host="a.test")   # same server, Host "a.test"; resolve with
                                                        # Fetcher(..., resolver=testweb.resolve)
        testweb.requests("/feed.xml")[0].headers["user-agent"]

Routes are exact paths (the query string may be part of the path), optionally per host.
Unknown paths answer 404 (or ``set_default(handler)``). Every request is logged before it is
answered (``answered_at`` is set once the answer is written). ``LocalWeb(tls=ssl_context)`` serves
HTTPS. Ready-made misbehaviour: ``add_slow``, ``add_endless``, ``add_trickle``, ``add_reset``,
``add_close_early``, ``add_redirect``/``add_redirect_loop``, ``add_retry_after`` (429/503),
``add_flaky`` (500 then 200), ``add_gzip_bomb``, ``add_sequence`` for anything else; wrong
content types and charsets are plain ``add(..., content_type=...)`` calls.
"""

from __future__ import annotations

import gzip
import itertools
import socket
import ssl
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

HTML = "text/html; charset=utf-8"

# The profile head of tests that run the pipeline against the local web: private addresses
# allowed (it is 127.0.0.1), no politeness delay, no retries, and the shipped topic.
LOCAL_PROFILE = """
[settings]
allow_private_networks = true
per_host_delay = "0s"
per_host_concurrency = 4
max_retries = 0
respect_robots = false

[topic]
name = "Foreign-adversary technology bans"
vocabulary = "foreign-adversary-tech-bans"
threshold = 0.5
"""


@dataclass
class Response:
    """What to answer; ``behaviour`` selects a misbehaviour instead of a normal answer."""

    body: bytes | str = b""
    status: int = 200
    content_type: str | None = HTML
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the status line (a slow server)
    behaviour: str | None = None  # None | "endless" | "reset" | "trickle" | "close_early"
    chunk_interval: float = 0.01  # for "endless"/"trickle": pause between chunks

    def payload(self) -> bytes:
        return self.body.encode("utf-8") if isinstance(self.body, str) else self.body


@dataclass
class LoggedRequest:
    method: str
    path: str
    host: str  # Host header without the port
    headers: dict[str, str]  # lower-case names
    at: float  # time.monotonic() when the request arrived
    answered_at: float | None = None  # time.monotonic() when the answer was written (None: no answer)


Handler = Callable[[LoggedRequest], Response]


@lru_cache(maxsize=4)
def gzip_bomb(size: int) -> bytes:
    """A gzip stream of ``size`` zero bytes (about 1000:1)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1 << 20)
    parts = [comp.compress(block) for _ in range(size // len(block))]
    parts.append(comp.compress(b"\0" * (size % len(block))))
    parts.append(comp.flush())
    return b"".join(parts)


class LocalWeb:
    """The server; see the module docstring. Thread-safe; one per test."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        """``tls``: a server-side SSL context to serve HTTPS instead of HTTP."""
        self._routes: dict[tuple[str | None, str], Handler] = {}
        self._default: Handler | None = None
        self._log: list[LoggedRequest] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        web = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are separate writes: avoid 40 ms ACK stalls

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
                pass

            def do_GET(self) -> None:  # noqa: N802 - stdlib name
                web._serve(self)

            do_HEAD = do_GET

        class _Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 1024
            block_on_close = False

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # resets and clients that hang up are expected here

        self._server = _Server(("127.0.0.1", 0), _Handler)
        self.scheme = "http"
        if tls is not None:  # the handshake happens on the handler's first read, in its own thread
            self._server.socket = tls.wrap_socket(
                self._server.socket, server_side=True, do_handshake_on_connect=False
            )
            self.scheme = "https"
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name=f"testweb:{self.port}",
        )
        self._thread.start()

    # ---------------------------------------------------------------- registering

    def url(self, path: str = "/", host: str | None = None) -> str:
        return f"{self.scheme}://{host or '127.0.0.1'}:{self.port}{path}"

    def route(self, path: str, handler: Handler, host: str | None = None) -> None:
        with self._lock:
            self._routes[(host, path)] = handler

    def set_default(self, handler: Handler | None) -> None:
        """Answer every unregistered path with ``handler`` (instead of 404)."""
        self._default = handler

    def add(
        self,
        path: str,
        body: bytes | str = b"",
        status: int = 200,
        *,
        content_type: str | None = HTML,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        host: str | None = None,
    ) -> None:
        response = Response(body, status, content_type, dict(headers or {}), delay)
        self.route(path, lambda _req: response, host)

    def add_sequence(self, path: str, responses: list[Response], host: str | None = None) -> None:
        """Answer with each response in turn, then keep repeating the last one."""
        counter = itertools.count()
        self.route(path, lambda _req: responses[min(next(counter), len(responses) - 1)], host)

    def add_redirect(self, path: str, location: str, status: int = 302, host: str | None = None) -> None:
        self.add(path, b"", status, content_type=None, headers={"Location": location}, host=host)

    def add_redirect_loop(self, path_a: str, path_b: str) -> None:
        self.add_redirect(path_a, path_b)
        self.add_redirect(path_b, path_a)

    def add_slow(self, path: str, delay: float, body: bytes | str = b"<p>slow</p>", **kw: object) -> None:
        self.add(path, body, delay=delay, **kw)  # type: ignore[arg-type]

    def add_endless(self, path: str, content_type: str = HTML, chunk_interval: float = 0.005) -> None:
        """Headers, then a chunked body that never ends (until the client goes away)."""
        self.route(
            path,
            lambda _r: Response(
                b"<p>" + b"x" * 1024,
                content_type=content_type,
                behaviour="endless",
                chunk_interval=chunk_interval,
            ),
        )

    def add_trickle(self, path: str, body: bytes | str, chunk_interval: float) -> None:
        """A finite body sent one byte per ``chunk_interval`` (each read is quick, the whole is slow)."""
        self.route(path, lambda _r: Response(body, behaviour="trickle", chunk_interval=chunk_interval))

    def add_reset(self, path: str) -> None:
        """Read the request, then reset the connection (TCP RST) without answering."""
        self.route(path, lambda _r: Response(behaviour="reset"))

    def add_close_early(self, path: str, body: bytes | str = b"<p>partial", claimed: int = 100_000) -> None:
        """Promise ``claimed`` bytes in Content-Length, send fewer, close."""
        self.route(
            path, lambda _r: Response(body, headers={"Content-Length": str(claimed)}, behaviour="close_early")
        )

    def add_retry_after(
        self, path: str, retry_after: str, then: Response, status: int = 429, times: int = 1
    ) -> None:
        """``times`` answers of ``status`` with Retry-After, then ``then``."""
        busy = Response(b"busy", status, "text/plain", {"Retry-After": retry_after})
        self.add_sequence(path, [busy] * times + [then])

    def add_flaky(self, path: str, then: Response, failures: int = 1, status: int = 500) -> None:
        """``failures`` server errors, then ``then`` (500 then 200)."""
        self.add_sequence(path, [Response(b"oops", status, "text/plain")] * failures + [then])

    def add_gzip_bomb(
        self, path: str, size: int = 20 * 1024**2, content_type: str = HTML, encoding: bool = True
    ) -> None:
        """``size`` zeros gzip-compressed; as Content-Encoding (default) or as a .gz file."""
        headers = {"Content-Encoding": "gzip"} if encoding else {}
        self.add(path, gzip_bomb(size), content_type=content_type, headers=headers)

    def add_gzipped(self, path: str, body: bytes | str, content_type: str = HTML) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.add(path, gzip.compress(data), content_type=content_type, headers={"Content-Encoding": "gzip"})

    def add_robots(self, text: str, host: str | None = None) -> None:
        self.add("/robots.txt", text, content_type="text/plain", host=host)

    # ---------------------------------------------------------------- inspecting

    def requests(self, path: str | None = None, host: str | None = None) -> list[LoggedRequest]:
        with self._lock:
            return [
                r for r in self._log if (path is None or r.path == path) and (host is None or r.host == host)
            ]

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()

    async def resolve(self, host: str, port: int) -> list[str]:
        """A resolver hook for the Fetcher: every name (e.g. "a.test") is this server's 127.0.0.1."""
        return ["127.0.0.1"]

    def close(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()

    # ---------------------------------------------------------------- serving

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        host = (h.headers.get("Host") or "").rsplit(":", 1)[0].lower()
        req = LoggedRequest(
            h.command, h.path, host, {k.lower(): v for k, v in h.headers.items()}, time.monotonic()
        )
        with self._lock:
            self._log.append(req)
            handler = (
                self._routes.get((host, h.path))
                or self._routes.get((None, h.path))
                or self._routes.get((host, urlsplit(h.path).path))
                or self._routes.get((None, urlsplit(h.path).path))
                or self._default
            )
        resp = handler(req) if handler else Response(b"not found", 404, "text/plain")
        if resp.delay and self._closing.wait(resp.delay):
            return
        try:
            self._write(h, resp)
            req.answered_at = time.monotonic()
        except (BrokenPipeError, ConnectionResetError, OSError):
            h.close_connection = True

    def _write(self, h: BaseHTTPRequestHandler, resp: Response) -> None:
        if resp.behaviour == "reset":
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            h.close_connection = True
            h.connection.close()
            return
        body = resp.payload()
        h.send_response(resp.status)
        if resp.content_type:
            h.send_header("Content-Type", resp.content_type)
        for k, v in resp.headers.items():
            h.send_header(k, v)
        if resp.behaviour == "endless":
            h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
            while not self._closing.is_set():
                h.wfile.write(b"%x\r\n%s\r\n" % (len(body), body))
                h.wfile.flush()
                time.sleep(resp.chunk_interval)
            h.close_connection = True
            return
        if "Content-Length" not in resp.headers:
            h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if h.command == "HEAD":
            return
        if resp.behaviour == "trickle":
            for i in range(len(body)):
                if self._closing.is_set():
                    break
                h.wfile.write(body[i : i + 1])
                h.wfile.flush()
                time.sleep(resp.chunk_interval)
            return
        h.wfile.write(body)
        if resp.behaviour == "close_early":
            h.wfile.flush()
            h.close_connection = True
            h.connection.shutdown(socket.SHUT_RDWR)


@pytest.fixture(name="testweb")
def testweb_fixture() -> Iterator[LocalWeb]:
    """The ``testweb`` fixture; ``from tests.testweb import testweb_fixture`` makes it available."""
    web = LocalWeb()
    try:
        yield web
    finally:
        web.close()
