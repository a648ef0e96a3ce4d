"""Per-host politeness: a concurrency cap, spacing between request starts, robots.txt.

Both live in the Fetcher (no module state), which is shared by every source of a cycle so
that the limits hold per host across sources.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from protego import Protego

from pipeline.fetch.errors import FetchError

log = logging.getLogger(__name__)

MAX_CRAWL_DELAY = 60.0  # a robots.txt Crawl-delay above this is clamped (and logged)
ROBOTS_TTL = 24 * 3600.0  # RFC 9309: do not use a cached robots.txt for more than 24 hours
ROBOTS_ERROR_TTL = 600.0  # re-ask a robots.txt that answered 5xx after ten minutes
ROBOTS_NETWORK_ERROR_TTL = 60.0  # a host that could not be reached: other sources on it fail fast
MAX_ORIGINS = 5000  # cached robots.txt files before expired ones are dropped


class HostGate:
    """At most ``concurrency`` requests in flight to a host, starts at least ``delay`` apart."""

    def __init__(self, concurrency: int, delay: float) -> None:
        self._sem = asyncio.Semaphore(concurrency)
        self.delay = delay
        self._next_start = 0.0
        self._slot = _Slot(self)

    def slot(self) -> _Slot:
        """``async with gate.slot():`` holds one of the host's slots, entered no sooner than the spacing allows."""
        return self._slot

    def busy(self) -> bool:
        """Requests in flight or waiting, or a start reserved in the future: not safe to forget."""
        return self._sem.locked() or self._next_start > asyncio.get_running_loop().time()

    def defer(self, seconds: float) -> None:
        """No request to this host starts before ``seconds`` from now (Retry-After)."""
        self._next_start = max(self._next_start, asyncio.get_running_loop().time() + seconds)


class _Slot:
    """HostGate.slot's context manager: a class rather than an @asynccontextmanager generator, whose
    machinery cost more than the gate itself on every request. It holds no state of one use, so one
    instance serves every request to the host."""

    __slots__ = ("_gate",)

    def __init__(self, gate: HostGate) -> None:
        self._gate = gate

    async def __aenter__(self) -> None:
        gate = self._gate
        await gate._sem.acquire()
        try:
            now = asyncio.get_running_loop().time()
            start = max(now, gate._next_start)
            gate._next_start = start + gate.delay  # reserve our start before sleeping
            if start > now:
                await asyncio.sleep(start - now)
        except BaseException:
            gate._sem.release()
            raise

    async def __aexit__(self, *exc_info: object) -> None:
        self._gate._sem.release()


@dataclass
class RobotsRules:
    """robots.txt of one origin: parsed rules, or a blanket allow/deny with the reason."""

    parser: Protego | None
    allow_all: bool
    note: str
    expires: float
    failure: FetchError | None = None  # the host could not be reached at all

    def can_fetch(self, url: str, agent: str) -> bool:
        if self.parser is None:
            return self.allow_all
        return self.parser.can_fetch(url, agent)

    def crawl_delay(self, agent: str) -> float | None:
        if self.parser is None:
            return None
        delay = self.parser.crawl_delay(agent)
        rate = self.parser.request_rate(agent)
        if rate is not None and rate.requests:
            rate_delay = rate.seconds / rate.requests
            delay = max(delay or 0.0, rate_delay)
        return delay


# Fetch robots.txt for an origin: (status, text) or an exception for network failure.
RobotsLoader = Callable[[str], Awaitable[tuple[int, str]]]


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def robots_token(user_agent: str) -> str:
    """The product token robots.txt groups are matched against ("banwatch" in "banwatch/0.1 (...)")."""
    return user_agent.split("/", 1)[0].split()[0] if user_agent.strip() else "*"


class _LoaderGone(Exception):
    pass


def _newest_unexpired(rules: dict[str, RobotsRules], keep: int) -> dict[str, RobotsRules]:
    """The unexpired entries, the ``keep`` newest at most.

    Expiry alone is no bound: a robots.txt is kept 24 hours, and a daemon following aggregator feeds
    meets more article hosts a day than MAX_ORIGINS. Keeping half leaves room, so the rebuild is paid
    once per MAX_ORIGINS / 2 new origins instead of on every one."""
    now = time.monotonic()
    live = [(o, r) for o, r in rules.items() if r.expires > now]
    return dict(live[len(live) - keep:]) if len(live) > keep else dict(live)


class RobotsCache:
    """One robots.txt fetch per origin (single-flight), cached with RFC 9309's semantics."""

    def __init__(self, loader: RobotsLoader) -> None:
        self._loader = loader
        self._rules: dict[str, RobotsRules] = {}
        self._pending: dict[str, asyncio.Future[RobotsRules]] = {}

    async def rules(self, url: str) -> RobotsRules:
        origin = origin_of(url)
        while True:
            cached = self._rules.get(origin)
            if cached and cached.expires > time.monotonic():
                return cached
            pending = self._pending.get(origin)
            if pending is None:
                break
            try:
                return await asyncio.shield(pending)
            except _LoaderGone:
                continue  # the task loading it was cancelled; one of the waiters takes over
        fut: asyncio.Future[RobotsRules] = asyncio.get_running_loop().create_future()
        self._pending[origin] = fut
        try:
            rules = await self._load(origin)  # only raises on cancellation
        except BaseException:
            fut.set_exception(_LoaderGone())
            fut.exception()  # mark retrieved when nobody waits
            raise
        finally:
            del self._pending[origin]
        if len(self._rules) >= MAX_ORIGINS:
            self._rules = _newest_unexpired(self._rules, MAX_ORIGINS // 2)
        self._rules.pop(origin, None)  # re-added at the end: the order is the age
        self._rules[origin] = rules
        fut.set_result(rules)
        return rules

    async def _load(self, origin: str) -> RobotsRules:
        now = time.monotonic()
        try:
            status, text = await self._loader(origin + "/robots.txt")
        except asyncio.CancelledError:
            raise
        except FetchError as exc:
            log.info("robots unreachable origin=%s error=%r", origin, str(exc))
            if exc.http_status is not None:  # 5xx or 429 after retries: the server says "not now"
                return RobotsRules(
                    None,
                    False,
                    f"robots.txt unreachable ({exc}); assuming disallow (RFC 9309)",
                    now + ROBOTS_ERROR_TTL,
                )
            # Network failure or refusal: the host itself is the problem; report that, briefly cached.
            return RobotsRules(None, False, f"robots.txt: {exc}", now + ROBOTS_NETWORK_ERROR_TTL, failure=exc)
        except Exception as exc:  # noqa: BLE001 - never let robots.txt crash a fetch
            log.warning("robots failed origin=%s error=%r", origin, repr(exc))
            return RobotsRules(
                None,
                False,
                f"robots.txt unreadable ({type(exc).__name__}); assuming disallow",
                now + ROBOTS_ERROR_TTL,
            )
        if 200 <= status < 300:
            return RobotsRules(Protego.parse(text), True, "robots.txt", now + ROBOTS_TTL)
        if 400 <= status < 500:  # 401/403/404...: RFC 9309 says no restrictions
            return RobotsRules(None, True, f"robots.txt HTTP {status}: no restrictions", now + ROBOTS_TTL)
        return RobotsRules(
            None, False, f"robots.txt HTTP {status}: assuming disallow (RFC 9309)", now + ROBOTS_ERROR_TTL
        )
