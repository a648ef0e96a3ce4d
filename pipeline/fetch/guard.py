"""SSRF guard: resolve a host once, refuse addresses that are not on the public internet.

The resolved, checked addresses are cached briefly and are the ones the connection pool
connects to (see :mod:`pipeline.fetch.transport`), so a DNS answer cannot change between
the check and the connect (DNS rebinding).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Awaitable, Callable, Iterable

from pipeline.fetch.errors import ConnectionFailed, Refused, Timeout

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host, port) -> addresses as strings; a hook for tests and for operators with their own DNS.
Resolver = Callable[[str, int], Awaitable[list[str]]]

METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack, ...
        ipaddress.ip_address("169.254.170.2"),  # AWS ECS task metadata
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
        ipaddress.ip_address("fd00:ec2::254"),  # AWS IPv6
    }
)


def refusal_reason(ip: IPAddress) -> str | None:
    """Why an address must not be fetched, or None if it is an ordinary public address."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return refusal_reason(ip.ipv4_mapped)
    if ip in METADATA_ADDRESSES:
        return "cloud metadata"
    for attr, label in (
        ("is_unspecified", "unspecified"),
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local"),
        ("is_multicast", "multicast"),
        ("is_private", "private"),
        ("is_reserved", "reserved"),
    ):
        if getattr(ip, attr):
            return label
    if not ip.is_global:
        return "non-global"
    return None


DNS_CACHE_MAX = 5000  # host answers kept (each for the TTL); see resolve
# getaddrinfo's "the name does not exist" answers, as opposed to EAI_AGAIN (try again later).
_NO_SUCH_HOST = {getattr(socket, n) for n in ("EAI_NONAME", "EAI_NODATA") if hasattr(socket, n)}


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for *_, sockaddr in infos:
        addr = str(sockaddr[0]).split("%", 1)[0]  # drop an IPv6 scope id
        if addr not in seen:
            seen.append(addr)
    return seen


class AddressGuard:
    """Resolves hosts and applies the address policy; one per Fetcher."""

    def __init__(
        self,
        *,
        allow_private: bool,
        resolver: Resolver | None = None,
        allow_networks: Iterable[str] = (),
        timeout: float = 10.0,
        ttl: float = 60.0,
    ) -> None:
        self.allow_private = allow_private
        self._resolver = resolver or system_resolver
        self._allow = tuple(ipaddress.ip_network(n, strict=False) for n in allow_networks)
        self._timeout = timeout
        self._ttl = ttl
        self._cache: dict[tuple[str, int], tuple[float, list[str]]] = {}

    def check_ip(self, ip: IPAddress, host: str) -> None:
        if self.allow_private or any(ip in net for net in self._allow):
            return
        reason = refusal_reason(ip)
        if reason:
            shown = host if host == str(ip) else f"{host} ({ip})"
            raise Refused(f"refused {reason} address {shown} (allow_private_networks is off)")

    async def resolve(self, host: str, port: int) -> list[str]:
        """Checked addresses of ``host``; raises Refused if any address is refused."""
        host = host.strip("[]").lower()
        key = (host, port)
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit and hit[0] > now:
            return hit[1]
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            addrs = [str(literal)]
        else:
            try:
                async with asyncio.timeout(self._timeout):
                    addrs = await self._resolver(host, port)
            except TimeoutError:
                raise Timeout(f"DNS lookup of {host} timed out after {self._timeout:g}s") from None
            except OSError as exc:
                err = ConnectionFailed(f"DNS lookup of {host} failed: {exc}")
                if isinstance(exc, socket.gaierror) and exc.errno in _NO_SUCH_HOST:
                    err = ConnectionFailed(f"DNS lookup of {host} failed: no such host ({exc})")
                    err.retryable = False  # the name does not exist (a lapsed domain?): seconds will not help
                raise err from None
            if not addrs:
                raise ConnectionFailed(f"DNS lookup of {host} returned no address")
        # Refuse the host if *any* address is refused: a mixed answer is a classic rebinding trick.
        for addr in addrs:
            self.check_ip(ipaddress.ip_address(addr), host)
        if len(self._cache) >= DNS_CACHE_MAX:
            # expired answers go; if a minute's worth of new hosts still fills it, the newest half
            # stays (insertion order is age), so the rebuild is not paid again on every new host
            live = [(k, v) for k, v in self._cache.items() if v[0] > now]
            self._cache = dict(live[len(live) - DNS_CACHE_MAX // 2:] if len(live) >= DNS_CACHE_MAX else live)
        self._cache.pop(key, None)
        self._cache[key] = (now + self._ttl, addrs)
        return addrs
