"""An httpx transport whose connections go only to addresses the SSRF guard checked.

httpx resolves and connects by itself; we swap in an httpcore pool whose network backend
asks :class:`~pipeline.fetch.guard.AddressGuard` for the host's checked addresses and
connects to one of those (TLS still verifies the host name, which httpcore passes as SNI).
"""

from __future__ import annotations

import ssl
import typing

import httpcore
import httpx

from pipeline.fetch.errors import ConnectionFailed
from pipeline.fetch.guard import AddressGuard

MAX_ORIGINS = 512  # origin pools held before those without a live connection are closed and forgotten


class GuardedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, guard: AddressGuard) -> None:
        self._guard = guard
        self._inner = httpcore.AnyIOBackend()

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
                return await self._inner.connect_tcp(
                    addr, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
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
        await self._inner.sleep(seconds)


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
