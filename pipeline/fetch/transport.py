"""An httpx transport whose connections go only to addresses the SSRF guard checked.

httpx resolves and connects by itself; we swap in an httpcore pool whose network backend
asks :class:`~pipeline.fetch.guard.AddressGuard` for the host's checked addresses and
connects to one of those (TLS still verifies the host name, which httpcore passes as SNI).

The sockets are asyncio streams, not httpcore's anyio ones: the fetcher runs on asyncio only, and
anyio's stream layer (its attribute lookups on every keep-alive check, its task-group bookkeeping
on every read) cost about a fifth of the CPU of an article fetch.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import typing

import httpcore
import httpx

from pipeline.fetch.errors import ConnectionFailed
from pipeline.fetch.guard import AddressGuard

MAX_ORIGINS = 512  # origin pools held before those without a live connection are closed and forgotten


READ_BUFFER_LIMIT = 64 * 1024  # asyncio pauses reading a socket once twice this much is buffered unread


class AsyncioStream(httpcore.AsyncNetworkStream):
    """httpcore's network stream on an asyncio StreamReader/StreamWriter pair.

    Errors map to httpcore's exceptions as its own backends do (httpx turns them into its
    ReadTimeout, ReadError…); ``timeout=None`` waits forever, as httpcore expects."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError:
            raise httpcore.ReadTimeout(f"no data for {timeout:g}s") from None
        except (OSError, RuntimeError) as exc:  # RuntimeError: read after the transport closed
            raise httpcore.ReadError(str(exc) or type(exc).__name__) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            async with asyncio.timeout(timeout):
                self._writer.write(buffer)
                await self._writer.drain()
        except TimeoutError:
            raise httpcore.WriteTimeout(f"could not send for {timeout:g}s") from None
        except (OSError, RuntimeError) as exc:
            raise httpcore.WriteError(str(exc) or type(exc).__name__) from exc

    async def aclose(self) -> None:
        # no wait_closed(): a peer that never acknowledges the close must not hold the fetcher up
        self._writer.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError:
            self._writer.close()
            raise httpcore.ConnectTimeout(f"TLS handshake took more than {timeout:g}s") from None
        except (OSError, ssl.SSLError, ConnectionError) as exc:
            self._writer.close()
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        return self

    def get_extra_info(self, info: str) -> typing.Any:
        if info == "ssl_object":
            return self._writer.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        if info == "socket":
            return self._writer.get_extra_info("socket")
        if info == "is_readable":  # httpcore's test of an idle keep-alive connection: closed or unasked-for data
            return self._readable()
        return None

    def _readable(self) -> bool:
        """Whether the peer closed or spoke. asyncio reads a socket as soon as it is readable (the loop
        polls it between callbacks), so what arrived is already in the reader: no poll of our own,
        which was a system call per connection per pool scan (httpcore asks on every request)."""
        reader = self._reader
        return (reader.at_eof() or bool(getattr(reader, "_buffer", None)) or reader.exception() is not None
                or self._writer.is_closing())


async def open_asyncio_stream(
    host: str,
    port: int,
    timeout: float | None,
    local_address: str | None,
    socket_options: typing.Iterable[typing.Any] | None,
) -> AsyncioStream:
    """A TCP connection as an httpcore stream; a timeout or refusal maps to httpcore's connect errors."""
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(
                host, port, limit=READ_BUFFER_LIMIT,
                local_addr=(local_address, 0) if local_address else None,
            )
    except TimeoutError:
        raise httpcore.ConnectTimeout(f"connect to {host}:{port} took more than {timeout:g}s") from None
    except OSError as exc:
        raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
    sock = writer.get_extra_info("socket")
    if sock is not None:
        for option in socket_options or ():
            sock.setsockopt(*option)
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return AsyncioStream(reader, writer)


class GuardedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, guard: AddressGuard) -> None:
        self._guard = guard

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addrs = await self._guard.resolve(host, port)
        last: Exception | None = None
        for addr in addrs:
            try:
                return await open_asyncio_stream(addr, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, OSError) as exc:
                last = exc
            # httpcore.ConnectTimeout propagates: the timeout covers the whole connect.
        raise ConnectionFailed(f"cannot connect to {host}:{port}: {last}")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise ConnectionFailed("unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class _OriginTransport(httpx.AsyncHTTPTransport):
    """httpx's transport for one origin, with the guarded network backend."""

    def __init__(self, backend: GuardedBackend, ssl_context: ssl.SSLContext, limits: httpx.Limits) -> None:
        # Not calling super().__init__: it would build (and load CA certificates for) a pool we replace.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )

    def in_use(self) -> bool:
        """Whether a connection is live: connecting, busy, or idle within its keep-alive expiry.

        A pool sweeps its expired connections only when its origin is asked again; an article host
        met once is never asked again, so its idle socket (often half-closed by the server) stays."""
        return any(not c.is_closed() and not (c.is_idle() and c.has_expired()) for c in self._pool.connections)


class GuardedTransport(httpx.AsyncBaseTransport):
    """Connections only to guard-checked addresses; no proxies from the environment.

    One small connection pool per origin: httpcore scans every connection of a pool on each
    request, which costs more than the parsing once a cycle talks to many hosts at once.
    """

    def __init__(
        self, guard: AddressGuard, *, limits: httpx.Limits, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self._backend = GuardedBackend(guard)
        self._ssl = ssl_context or httpx.create_ssl_context(trust_env=False)
        self._limits = limits
        self._origins: dict[tuple[str, str, int | None], _OriginTransport] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = (request.url.scheme, request.url.host, request.url.port)
        transport = self._origins.get(key)
        if transport is None:
            if len(self._origins) >= MAX_ORIGINS:
                await self._drop_stale_origins()
            # setdefault: another request may have opened this origin while stale ones were closing
            transport = self._origins.setdefault(key, _OriginTransport(self._backend, self._ssl, self._limits))
        return await transport.handle_async_request(request)

    async def _drop_stale_origins(self) -> None:
        """Close and forget the origins without a live connection, so sockets do not pile up.

        All are taken out before the first await: a request arriving meanwhile gets a fresh pool."""
        stale = [self._origins.pop(k) for k in [k for k, t in self._origins.items() if not t.in_use()]]
        for transport in stale:
            await transport.aclose()

    async def aclose(self) -> None:
        origins, self._origins = list(self._origins.values()), {}
        for transport in origins:
            await transport.aclose()
