"""An httpx transport whose connections go only to addresses the SSRF guard checked.

httpx would resolve and connect by itself; this transport asks
:class:`~pipeline.fetch.guard.AddressGuard` for the host's checked addresses and connects to one of
those (TLS still verifies the host name, which is sent as SNI).

It speaks HTTP/1.1 with h11 (the parser httpcore uses) over asyncio protocols, with one small pool
of keep-alive connections per origin. It replaced httpx's transport on an httpcore connection pool:
that stack cost about half of the CPU of an article fetch around the parsing itself (the pool scans
every connection on each request and again when a response closes, takes anyio locks and cancel
scopes twice per request, wraps each body chunk in three async generators, and reads 64 KiB at a
time from a stream buffer that copies and pauses the socket for every large response).

What a connection guarantees is unchanged: HTTP/1.1 only, no proxies from the environment, a read
timeout on every wait for data, a connect timeout covering TCP and TLS, keep-alive reuse only for a
connection that is idle, within its expiry, and has neither been closed by the server nor received
bytes nobody asked for.
"""

from __future__ import annotations

import asyncio
import collections
import socket
import ssl
import time
import typing

import h11
import httpx

from pipeline.fetch.errors import ConnectionFailed
from pipeline.fetch.guard import AddressGuard

MAX_ORIGINS = 512  # origin pools held before those without a live connection are closed and forgotten
READ_BUFFER_LIMIT = 256 * 1024  # unread bytes buffered per connection before the socket is paused
MAX_INCOMPLETE_EVENT_SIZE = 100 * 1024  # response head (status line and headers) at most, as httpcore
_H11_DONE = h11.DONE


class _Stream(asyncio.Protocol):
    """A connection's bytes as asyncio delivers them: received chunks are kept as they are (no copy)
    until the HTTP parser takes them; reading pauses once ``READ_BUFFER_LIMIT`` bytes wait unread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.transport: asyncio.Transport | None = None
        self._chunks: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._eof = False
        self._error: BaseException | None = None
        self._lost = False
        self._paused = False
        self._waiter: asyncio.Future[None] | None = None
        self._write_paused = False
        self._drain_waiter: asyncio.Future[None] | None = None

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = typing.cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._chunks.append(data)
        self._buffered += len(data)
        if self._buffered > READ_BUFFER_LIMIT and not self._paused and self.transport is not None:
            try:
                self.transport.pause_reading()
                self._paused = True
            except (AttributeError, NotImplementedError, RuntimeError):
                pass
        self._wake()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake()
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        self._eof = True
        if exc is not None:
            self._error = exc
        self._wake()
        waiter, self._drain_waiter = self._drain_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        waiter, self._drain_waiter = self._drain_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # for the connection
    def spoiled(self) -> bool:
        """Whether the peer closed or spoke. asyncio reads a socket as soon as it is readable (the loop
        polls it between callbacks), so what arrived is already here: no poll of our own."""
        return bool(self._chunks) or self._eof or self._lost or self.transport is None or self.transport.is_closing()

    async def feed(self, parser: h11.Connection, timeout: float | None) -> None:
        """Hand the parser every buffered chunk, waiting up to ``timeout`` seconds for one if none is;
        at the end of the stream the parser is told so (``b""``)."""
        if not self._chunks:
            while not (self._chunks or self._eof or self._error is not None):
                await self._wait(timeout)
            if not self._chunks:
                if self._error is not None:
                    raise httpx.ReadError(str(self._error) or type(self._error).__name__)
                if parser.their_state is h11.SEND_RESPONSE:  # h11's own words for it are less clear
                    raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
                parser.receive_data(b"")
                return
        chunks = self._chunks
        while chunks:
            parser.receive_data(chunks.popleft())
        self._buffered = 0
        if self._paused:
            self._paused = False
            if self.transport is not None and not self.transport.is_closing():
                self.transport.resume_reading()

    async def _wait(self, timeout: float | None) -> None:
        waiter = self._waiter = self._loop.create_future()
        try:
            await _within(self._loop, waiter, timeout, httpx.ReadTimeout, "no data for {:g}s")
        finally:
            self._waiter = None

    async def write(self, data: bytes, timeout: float | None) -> None:
        transport = self.transport
        if transport is None or transport.is_closing() or self._lost:
            raise httpx.WriteError("connection closed")
        transport.write(data)
        if not self._write_paused:
            return
        waiter = self._drain_waiter = self._loop.create_future()
        try:
            await _within(self._loop, waiter, timeout, httpx.WriteTimeout, "could not send for {:g}s")
        finally:
            self._drain_waiter = None
        if self._lost:
            raise httpx.WriteError(str(self._error or "connection closed"))

    def close(self) -> None:
        # no waiting for the close: a peer that never acknowledges it must not hold the fetcher up
        if self.transport is not None:
            self.transport.close()


class _Expired(Exception):
    pass


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(_Expired())


async def _within(loop: asyncio.AbstractEventLoop, waiter: asyncio.Future[None], timeout: float | None,
                  error: type[httpx.TimeoutException], message: str) -> None:
    """Await ``waiter`` for at most ``timeout`` seconds, then raise ``error`` (``message`` formatted with
    the timeout). A timer callback rather than asyncio.timeout: no task cancellation on each wait."""
    timer = None if timeout is None else loop.call_later(timeout, _expire, waiter)
    try:
        await waiter
    except _Expired:
        raise error(message.format(timeout)) from None
    finally:
        if timer is not None:
            timer.cancel()


async def open_stream(addr: str, port: int, timeout: float | None) -> _Stream:
    """A TCP connection; raises httpx.ConnectError for a refusal, httpx.ConnectTimeout for a timeout."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout):
            transport, stream = await loop.create_connection(lambda: _Stream(loop), addr, port)
    except TimeoutError:
        raise httpx.ConnectTimeout(f"connect to {addr}:{port} took more than {timeout:g}s") from None
    except OSError as exc:
        raise httpx.ConnectError(str(exc) or type(exc).__name__) from exc
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return stream


async def start_tls(stream: _Stream, ssl_context: ssl.SSLContext, server_hostname: str, timeout: float | None) -> None:
    """TLS on a connected stream, verifying ``server_hostname`` (also sent as SNI). Any failure closes the
    connection and raises httpx.ConnectError, the ssl error as its cause (a certificate rejection is
    told apart by it), or httpx.ConnectTimeout."""
    transport = stream.transport
    assert transport is not None
    try:
        async with asyncio.timeout(timeout):
            tls = await asyncio.get_running_loop().start_tls(
                transport, stream, ssl_context, server_hostname=server_hostname
            )
    except TimeoutError:
        transport.close()
        raise httpx.ConnectTimeout(f"TLS handshake took more than {timeout:g}s") from None
    except (OSError, ssl.SSLError, ConnectionError) as exc:
        transport.close()
        raise httpx.ConnectError(str(exc) or type(exc).__name__) from exc
    except BaseException:
        transport.close()
        raise
    if tls is None:  # closed during the handshake
        transport.close()
        raise httpx.ConnectError("connection closed during the TLS handshake")
    stream.transport = typing.cast(asyncio.Transport, tls)


class _Connection:
    """One HTTP/1.1 connection: the h11 state machine on a stream."""

    __slots__ = ("stream", "parser", "expire_at")

    def __init__(self, stream: _Stream) -> None:
        self.stream = stream
        self.parser = h11.Connection(our_role=h11.CLIENT, max_incomplete_event_size=MAX_INCOMPLETE_EVENT_SIZE)
        self.expire_at = 0.0

    def close(self) -> None:
        self.stream.close()

    def reusable(self) -> bool:
        """After a response: both sides done, nothing left over (bytes past the response would be
        taken as the next response), the peer has not closed."""
        parser = self.parser
        if parser.our_state is not _H11_DONE or parser.their_state is not _H11_DONE:
            return False
        if parser.trailing_data[0] or self.stream.spoiled():
            return False
        parser.start_next_cycle()
        return True

    async def receive(self, timeout: float | None) -> h11.Event | type[h11.PAUSED]:
        """The next event from the peer, reading as needed."""
        parser = self.parser
        while True:
            try:
                event = parser.next_event()
            except h11.RemoteProtocolError as exc:
                raise httpx.RemoteProtocolError(str(exc)) from exc
            if event is not h11.NEED_DATA:
                return event
            await self.stream.feed(parser, timeout)


class _Origin:
    """The keep-alive connections of one origin (scheme, host, port)."""

    def __init__(self, transport: GuardedTransport, scheme: str, host: str, port: int) -> None:
        self._owner = transport
        self.scheme, self.host, self.port = scheme, host, port
        self.idle: list[_Connection] = []  # most recently used last
        self.busy: set[_Connection] = set()

    def take(self) -> _Connection | None:
        """The most recently used idle connection that is still good; spoiled or expired ones are closed."""
        idle = self.idle
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if conn.expire_at >= now and not conn.stream.spoiled():
                return conn
            conn.close()
        return None

    def give_back(self, conn: _Connection) -> None:
        self.busy.discard(conn)
        limits = self._owner._limits
        keep = limits.max_keepalive_connections
        if conn.reusable() and (keep is None or len(self.idle) < keep):
            expiry = limits.keepalive_expiry
            conn.expire_at = time.monotonic() + (expiry if expiry is not None else float("inf"))
            self.idle.append(conn)
        else:
            conn.close()

    def discard(self, conn: _Connection) -> None:
        self.busy.discard(conn)
        conn.close()

    async def connect(self, timeout: float | None) -> _Connection:
        """A new connection to the first of the guard-checked addresses that accepts one."""
        addrs = await self._owner._guard.resolve(self.host, self.port)
        last: Exception | None = None
        for addr in addrs:
            try:
                stream = await open_stream(addr, self.port, timeout)
            except httpx.ConnectError as exc:
                last = exc
                continue
            # httpx.ConnectTimeout propagates: the timeout covers the whole connect.
            if self.scheme == "https":  # a TLS failure is the host's answer: no other address is tried
                await start_tls(stream, self._owner._ssl, self.host, timeout)
            return _Connection(stream)
        raise ConnectionFailed(f"cannot connect to {self.host}:{self.port}: {last}")

    def in_use(self) -> bool:
        """Whether a connection is live: busy, or idle within its keep-alive expiry.

        An origin's expired connections are closed only when it is asked again; an article host met
        once is never asked again, so its idle socket (often half-closed by the server) stays."""
        now = time.monotonic()
        return bool(self.busy) or any(c.expire_at >= now and not c.stream.spoiled() for c in self.idle)

    def aclose(self) -> None:
        conns, self.idle, self.busy = [*self.idle, *self.busy], [], set()
        for conn in conns:
            conn.close()


class _Body(httpx.AsyncByteStream):
    """A response body read from its connection; closing it hands the connection back (or closes it)."""

    def __init__(self, origin: _Origin, conn: _Connection, timeout: float | None) -> None:
        self._origin = origin
        self._conn: _Connection | None = conn
        self._timeout = timeout

    async def __aiter__(self) -> typing.AsyncIterator[bytes]:
        conn = self._conn
        if conn is None:
            raise httpx.StreamClosed()
        try:
            while True:
                event = await conn.receive(self._timeout)
                if type(event) is not h11.Data:  # EndOfMessage (h11 gives nothing else in a body)
                    return
                yield bytes(event.data)
        except BaseException:
            self._release(broken=True)
            raise

    def _release(self, broken: bool = False) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if broken:
            self._origin.discard(conn)
        else:
            self._origin.give_back(conn)

    async def aclose(self) -> None:
        self._release()


class GuardedTransport(httpx.AsyncBaseTransport):
    """Connections only to guard-checked addresses; no proxies from the environment.

    One small connection pool per origin. ``limits.max_connections`` is not enforced (the fetcher's
    per-host gates bound the connections to a host); ``max_keepalive_connections`` and
    ``keepalive_expiry`` apply per origin.
    """

    def __init__(
        self, guard: AddressGuard, *, limits: httpx.Limits, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self._guard = guard
        self._ssl = ssl_context or httpx.create_ssl_context(trust_env=False)
        self._limits = limits
        self._origins: dict[tuple[str, str, int | None], _Origin] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        if scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {scheme!r}", request=request)
        key = (scheme, url.host, url.port)
        origin = self._origins.get(key)
        if origin is None:
            if len(self._origins) >= MAX_ORIGINS:
                self._drop_stale_origins()
            origin = self._origins[key] = _Origin(self, scheme, url.host, url.port or (443 if scheme == "https"
                                                                                        else 80))
        timeouts = request.extensions.get("timeout") or {}
        conn = origin.take()
        if conn is None:
            conn = await origin.connect(timeouts.get("connect"))
        origin.busy.add(conn)
        try:
            event = await self._exchange(conn, request, timeouts)
        except BaseException as exc:
            origin.discard(conn)
            if isinstance(exc, httpx.RequestError):
                exc.request = request
            raise
        return httpx.Response(
            event.status_code,
            headers=event.headers.raw_items(),
            stream=_Body(origin, conn, timeouts.get("read")),
            extensions={"http_version": b"HTTP/" + event.http_version, "reason_phrase": event.reason},
            request=request,
        )

    @staticmethod
    async def _exchange(conn: _Connection, request: httpx.Request, timeouts: dict[str, float | None]) -> h11.Response:
        parser = conn.parser
        try:
            head = parser.send(h11.Request(method=request.method, target=request.url.raw_path,
                                           headers=request.headers.raw))
            body = request.stream
            chunks = [head]
            if isinstance(body, httpx.ByteStream):  # in memory (empty for a GET)
                for part in body:
                    chunks.append(parser.send(h11.Data(data=part)) if part else b"")
            else:
                async for part in typing.cast(typing.AsyncIterable[bytes], body):
                    chunks.append(parser.send(h11.Data(data=part)) if part else b"")
            chunks.append(parser.send(h11.EndOfMessage()))
        except h11.LocalProtocolError as exc:
            raise httpx.LocalProtocolError(str(exc)) from exc
        try:
            await conn.stream.write(b"".join(c for c in chunks if c), timeouts.get("write"))
        except httpx.WriteError:
            pass  # a server may answer (an error) and close before reading the request: read that answer
        read_timeout = timeouts.get("read")
        while True:
            event = await conn.receive(read_timeout)
            if type(event) is h11.Response:
                return typing.cast(h11.Response, event)
            if type(event) is not h11.InformationalResponse:  # (h11 allows nothing else here)
                raise httpx.RemoteProtocolError(f"unexpected {type(event).__name__} before the response")
            # 100 Continue, 103 Early Hints: the final answer follows

    def _drop_stale_origins(self) -> None:
        """Close and forget the origins without a live connection, so sockets do not pile up."""
        for key in [k for k, o in self._origins.items() if not o.in_use()]:
            self._origins.pop(key).aclose()

    async def aclose(self) -> None:
        origins, self._origins = list(self._origins.values()), {}
        for origin in origins:
            origin.aclose()
