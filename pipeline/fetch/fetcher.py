"""The Fetcher: polite, bounded, SSRF-guarded HTTP for sources and article pages.

One Fetcher is shared by every source of a cycle (or by the daemon), so robots.txt is
fetched once per origin and the per-host concurrency and spacing hold across sources.
It never touches the database: ``fetch_source`` returns a :class:`SourceResult` and the
cycle does the bookkeeping.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import hashlib
import heapq
import html
import itertools
import logging
import random
import re
import ssl
import time
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from types import TracebackType
from urllib.parse import urljoin, urlsplit

import httpx

from pipeline.config import Settings, Source
from pipeline.fetch.decompress import GZIP_MAGIC, BoundedDecoder, accept_encoding, gunzip_bounded
from pipeline.fetch.errors import (
    BadContentType,
    ConnectionFailed,
    FetchError,
    HTTPStatusError,
    ParseError,
    RedirectLoop,
    Refused,
    RobotsDisallowed,
    Timeout,
    TooLarge,
    TooManyRedirects,
)
from pipeline.fetch.feeds import parse_feed
from pipeline.fetch.guard import AddressGuard, Resolver
from pipeline.fetch.listing import discover_feeds, parse_listing
from pipeline.fetch.politeness import MAX_CRAWL_DELAY, HostGate, RobotsCache, robots_token
from pipeline.fetch.results import (
    ERROR,
    NOT_MODIFIED,
    OK,
    UNCHANGED,
    Candidate,
    Page,
    SourceResult,
    SourceState,
)
from pipeline.fetch.sitemaps import Sitemap, parse_sitemap
from pipeline.fetch.transport import GuardedTransport

log = logging.getLogger(__name__)

ACCEPT = {
    "html": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5",
    "feed": (
        "application/rss+xml,application/atom+xml,application/feed+json,application/rdf+xml,"
        "application/xml;q=0.9,text/xml;q=0.9,application/json;q=0.8,*/*;q=0.5"
    ),
    "sitemap": "application/xml,text/xml;q=0.9,application/gzip;q=0.8,*/*;q=0.5",
    "robots": "text/plain,*/*;q=0.5",
}
REDIRECT_CODES = (301, 302, 303, 307, 308)
_BINARY_PREFIXES = ("image/", "audio/", "video/", "font/", "model/")
_BINARY_TYPES = {
    "application/pdf",
    "application/zip",
    "application/x-zip-compressed",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/x-shockwave-flash",
    "application/x-msdownload",
    "application/x-rar-compressed",
    "application/x-7z-compressed",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/wasm",
}
_MAGIC = (
    (b"%PDF-", "PDF"),
    (b"\x89PNG\r\n", "PNG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"PK\x03\x04", "ZIP archive"),
    (b"\x00\x00\x01\x00", "icon"),
    (b"OggS", "Ogg media"),
    (b"ID3", "MP3 audio"),
    (b"\x1a\x45\xdf\xa3", "Matroska/WebM video"),
)
ROBOTS_MAX_BYTES = 512 * 1024  # Google reads the first 500 KiB of a robots.txt
MAX_RETRY_AFTER = 120.0
MAX_CHILD_SITEMAPS = 5  # child sitemaps (nested indexes included) fetched per index source and fetch
MAX_SITEMAP_DEPTH = 3  # levels of sitemap indexes followed, the source's own index being level 1
INDEX_MARK = "index:"  # prefix of SourceResult.body_hash for a sitemap index
MAX_IDLE_HOSTS = 5000  # per-host state kept before idle hosts are forgotten


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _sniff(body: bytes) -> str | None:
    head = body[:16]
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    if head[:4] == b"RIFF" and body[8:12] in (b"WEBP", b"AVI ", b"WAVE"):
        return "RIFF media"
    return None


def _validator(value: str | None, limit: int) -> str | None:
    """An ETag/Last-Modified worth storing and sending back: short and printable, else None."""
    if not value or len(value) > limit or not value.isprintable():
        return None
    return value


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _certificate_error(exc: BaseException) -> bool:
    """Whether a connection failed on TLS certificate verification (anywhere in the cause chain)."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


_HTML_START = re.compile(
    rb"\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>])", re.I | re.S
)
_DIGITS = re.compile(r"\d{1,18}")  # bounded: int() refuses numbers of more than 4300 digits
_TITLE = re.compile(r"<title[^>]*>(.*?)</title", re.I | re.S)


def _html_page_title(page: Page) -> str | None:
    """The title ("" if none) when a body is an HTML page rather than XML or JSON, else None."""
    if not _HTML_START.match(page.body[:4096].lstrip(b"\xef\xbb\xbf")):
        return None
    found = _TITLE.search(page.text[:20000])
    return " ".join(html.unescape(found.group(1)).split())[:100] if found else ""


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class Fetcher:
    """Async context manager; see the module docstring.

    ``transport`` replaces the network (tests, benchmarks); with it the SSRF guard still checks
    each hop before the request but cannot pin the connection. ``resolver`` replaces DNS
    (``(host, port) -> [address, ...]``); ``allow_networks`` exempts CIDR blocks from the guard
    (e.g. one intranet server) without opening all private networks. ``ssl_context`` replaces the
    default certificate verification (certifi's CA bundle), e.g. to trust a private CA.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        resolver: Resolver | None = None,
        allow_networks: Iterable[str] = (),
        retry_base: float = 1.0,
        max_retry_after: float = MAX_RETRY_AFTER,
        max_child_sitemaps: int = MAX_CHILD_SITEMAPS,
        max_sitemap_depth: int = MAX_SITEMAP_DEPTH,
        rng: random.Random | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.settings = settings
        self.guard = AddressGuard(
            allow_private=settings.allow_private_networks,
            resolver=resolver,
            allow_networks=allow_networks,
            timeout=settings.connect_timeout,
        )
        self.retry_base = retry_base
        self.max_retry_after = max_retry_after
        self.max_child_sitemaps = max_child_sitemaps
        self.max_sitemap_depth = max_sitemap_depth
        self._rng = rng or random.Random()
        self._agent_token = robots_token(settings.user_agent)
        self._gates: dict[str, HostGate] = {}
        self._robots = RobotsCache(self._load_robots)
        limits = httpx.Limits(
            max_connections=None,
            keepalive_expiry=30.0,  # per origin
            max_keepalive_connections=max(2, settings.per_host_concurrency),
        )
        # Requests go to the transport itself, not through an httpx.AsyncClient: the fetcher follows
        # redirects itself (each hop checked), wants no cookie jar (one shared by every site, growing
        # for as long as the daemon runs, and sending sites' cookies back), and the client's layer
        # (header merging, auth and redirect flows, cookie extraction) cost a tenth of a page fetch.
        self._transport = transport or GuardedTransport(self.guard, limits=limits, ssl_context=ssl_context)
        self._timeouts = httpx.Timeout(
            connect=settings.connect_timeout, read=settings.read_timeout, write=settings.read_timeout, pool=None
        ).as_dict()
        self._headers = {"User-Agent": settings.user_agent, "Accept-Encoding": accept_encoding(),
                         "Connection": "keep-alive"}

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._transport.aclose()

    # ------------------------------------------------------------------ politeness

    def gate(self, host: str) -> HostGate:
        host = host.lower()
        gate = self._gates.get(host)
        if gate is None:
            if len(self._gates) >= MAX_IDLE_HOSTS:  # a long-running daemon meets many article hosts
                self._gates = {h: g for h, g in self._gates.items() if g.busy()}
            gate = self._gates[host] = HostGate(
                self.settings.per_host_concurrency, self.settings.per_host_delay
            )
        return gate

    async def _load_robots(self, url: str) -> tuple[int, str]:
        try:
            page = await self._request(
                url,
                accept="robots",
                limit=ROBOTS_MAX_BYTES,
                check_robots=False,
                headers=None,
                too_large_ok=True,
            )
        except HTTPStatusError as exc:
            if exc.http_status is not None and 400 <= exc.http_status < 500 and exc.http_status != 429:
                return exc.http_status, ""
            raise
        return page.http_status, page.text

    async def _check_robots(self, url: str, host: str) -> None:
        rules = await self._robots.rules(url)
        if rules.failure is not None:
            failure = rules.failure
            err = type(failure)(
                f"robots.txt of {host} unreachable: {failure}",
                url=url,
                http_status=failure.http_status,
                retry_after=failure.retry_after,
            )
            err.retryable = False  # already retried when robots.txt was fetched; cached for a minute
            raise err
        delay = rules.crawl_delay(self._agent_token)
        if delay:
            gate = self.gate(host)
            wanted = max(self.settings.per_host_delay, min(delay, MAX_CRAWL_DELAY))
            if gate.delay != wanted:
                log.info("crawl-delay host=%s crawl_delay=%s applied=%s", host, delay, wanted)
                gate.delay = wanted
        if not rules.can_fetch(url, self._agent_token):
            why = (
                f"disallowed by robots.txt for user agent {self._agent_token!r}"
                if rules.parser is not None
                else rules.note
            )
            raise RobotsDisallowed(f"{why}: {url}", url=url)

    # ------------------------------------------------------------------ HTTP

    async def fetch_page(
        self, url: str, *, accept: str = "html", headers: dict[str, str] | None = None
    ) -> Page:
        """GET a page with every limit and politeness rule; raises a FetchError subclass on failure."""
        return await self._request(url, accept=accept, headers=headers, limit=self.settings.max_body_size)

    async def _request(
        self,
        url: str,
        *,
        accept: str,
        headers: dict[str, str] | None,
        limit: int,
        check_robots: bool = True,
        too_large_ok: bool = False,
    ) -> Page:
        attempt = 0
        while True:
            try:
                return await self._follow(
                    url,
                    accept=accept,
                    headers=headers,
                    limit=limit,
                    check_robots=check_robots,
                    too_large_ok=too_large_ok,
                )
            except FetchError as exc:
                if not exc.retryable or attempt >= self.settings.max_retries:
                    raise
                if exc.retry_after is not None and exc.retry_after > self.max_retry_after:
                    raise HTTPStatusError(
                        f"{exc} (Retry-After {exc.retry_after:g}s is longer than the "
                        f"{self.max_retry_after:g}s we wait)",
                        url=exc.url,
                        http_status=exc.http_status,
                        retry_after=exc.retry_after,
                    ) from None
                if exc.retry_after is not None:
                    wait = exc.retry_after
                    self.gate(urlsplit(exc.url or url).hostname or "").defer(wait)
                else:
                    wait = min(30.0, self.retry_base * 2**attempt) * self._rng.uniform(0.5, 1.5)
                attempt += 1
                log.info("fetch retry url=%s attempt=%d wait=%.2f error=%r", url, attempt, wait, str(exc))
                await asyncio.sleep(wait)

    async def _follow(
        self,
        url: str,
        *,
        accept: str,
        headers: dict[str, str] | None,
        limit: int,
        check_robots: bool,
        too_large_ok: bool,
    ) -> Page:
        """One attempt: the redirect chain, each hop checked by the guard (and robots.txt)."""
        visited: list[str] = []
        statuses: list[int] = []
        current = url
        wire = 0
        while True:
            parts = urlsplit(current)
            if parts.scheme not in ("http", "https"):
                raise Refused(f"refused URL scheme {parts.scheme!r}: {current}", url=current)
            host = parts.hostname
            if not host:
                raise FetchError(f"URL has no host: {current}", url=current)
            try:
                port = parts.port or (443 if parts.scheme == "https" else 80)
            except ValueError:
                raise FetchError(f"invalid port in URL: {current}", url=current) from None
            await self.guard.resolve(host, port)  # raises Refused before any connection is made
            if check_robots and self.settings.respect_robots:
                await self._check_robots(current, host)
            visited.append(current)
            async with self.gate(host).slot():
                page, location = await self._hop(
                    current, accept=accept, headers=headers, limit=limit, too_large_ok=too_large_ok
                )
            wire += page.wire_bytes
            if location is None:
                page.url, page.wire_bytes = url, wire
                page.moved_permanently = bool(statuses) and all(s in (301, 308) for s in statuses)
                return page
            statuses.append(page.http_status)
            nxt = urljoin(current, location.strip())
            if nxt in visited:
                raise RedirectLoop(f"redirect loop: {' -> '.join([*visited, nxt])}", url=url)
            if len(visited) > self.settings.max_redirects:
                raise TooManyRedirects(
                    f"more than {self.settings.max_redirects} redirects starting at {url}", url=url
                )
            log.debug("redirect from=%s to=%s status=%d", current, nxt, page.http_status)
            current = nxt

    async def _hop(
        self, url: str, *, accept: str, headers: dict[str, str] | None, limit: int, too_large_ok: bool
    ) -> tuple[Page, str | None]:
        hdrs = {"Accept": ACCEPT.get(accept, ACCEPT["html"])}
        hdrs.update(headers or {})
        total = self.settings.total_timeout
        try:
            async with asyncio.timeout(total):
                request = httpx.Request("GET", url, headers={**self._headers, **hdrs},
                                        extensions={"timeout": self._timeouts})
                if request.url.userinfo:  # credentials in the URL (a subscriber feed): basic auth, as browsers do
                    token = f"{request.url.username}:{request.url.password}".encode()
                    request.headers["Authorization"] = "Basic " + base64.b64encode(token).decode("ascii")
                response = await self._transport.handle_async_request(request)
                response.request = request
                try:
                    return await self._read(
                        url, response, accept=accept, limit=limit, too_large_ok=too_large_ok
                    )
                finally:
                    await response.aclose()
        except TimeoutError:
            raise Timeout(f"total timeout of {total:g}s exceeded for {url}", url=url) from None
        except httpx.TimeoutException as exc:
            kind = {
                httpx.ConnectTimeout: "connect",
                httpx.ReadTimeout: "read",
                httpx.WriteTimeout: "write",
                httpx.PoolTimeout: "pool",
            }.get(type(exc), "")
            seconds = self.settings.connect_timeout if kind == "connect" else self.settings.read_timeout
            raise Timeout(f"{kind} timeout of {seconds:g}s for {url}".strip(), url=url) from None
        except httpx.TransportError as exc:
            detail = str(exc) or type(exc).__name__
            if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
                raise FetchError(f"invalid URL {url}: {detail}", url=url) from None
            if _certificate_error(exc):  # an expired or wrong certificate does not heal in seconds
                err = ConnectionFailed(f"TLS certificate rejected for {url}: {detail}", url=url)
                err.retryable = False
                raise err from None
            raise ConnectionFailed(f"connection failed for {url}: {detail}", url=url) from None
        except httpx.InvalidURL as exc:
            raise FetchError(f"invalid URL {url}: {exc}", url=url) from None
        except FetchError as exc:
            exc.url = exc.url or url
            raise

    async def _read(
        self, url: str, response: httpx.Response, *, accept: str, limit: int, too_large_ok: bool
    ) -> tuple[Page, str | None]:
        status = response.status_code
        headers = {k.lower(): v for k, v in response.headers.items()}
        ctype = headers.get("content-type")

        def page(body: bytes = b"", wire: int = 0, *, binary: bool = False) -> Page:
            return Page(
                url=url,
                final_url=str(response.url),
                http_status=status,
                content_type=ctype,
                body=body,
                headers=headers,
                wire_bytes=wire,
                binary=binary,
            )

        if status in REDIRECT_CODES and headers.get("location"):
            return page(), headers["location"]
        if status == 304:
            return page(), None
        if status >= 300 and headers.get("cf-mitigated", "").strip().lower() == "challenge":
            err = HTTPStatusError(
                f"HTTP {status} bot challenge for {url} (cf-mitigated: challenge): the site's CDN "
                "asks for a browser; ask the site to allow the crawler or drop the source",
                url=url,
                http_status=status,
            )
            err.retryable = False  # a challenge page answers every automated retry the same way
            raise err
        if status >= 300:
            reason = response.reason_phrase or ""
            retry_after = parse_retry_after(headers.get("retry-after")) if status in (429, 503) else None
            raise HTTPStatusError(
                f"HTTP {status} {reason} for {url}".replace("  ", " "),
                url=url,
                http_status=status,
                retry_after=retry_after,
            )
        media = _media_type(ctype)
        if accept != "robots" and (media.startswith(_BINARY_PREFIXES) or media in _BINARY_TYPES):
            raise BadContentType(
                f"unexpected content type {media!r} for a {accept} at {url}", url=url, http_status=status
            )
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit and not too_large_ok:
            raise TooLarge(
                f"Content-Length {declared} exceeds max_body_size of {limit} bytes",
                url=url,
                http_status=status,
            )
        # A response that httpx already read (a MockTransport built from bytes) holds decoded content.
        preread = response.is_stream_consumed
        decoder = BoundedDecoder(None if preread else headers.get("content-encoding"), limit)
        chunks: list[bytes] = []
        wire = 0
        try:
            async for chunk in _once(response.content) if preread else response.aiter_raw():
                wire += len(chunk)
                if wire > limit:
                    raise TooLarge(f"body exceeds max_body_size of {limit} bytes while streaming", url=url)
                chunks.append(decoder.feed(chunk))
            rest = decoder.flush()
            if rest:  # a body read in one chunk is then joined without a copy
                chunks.append(rest)
        except TooLarge:
            if not too_large_ok:
                raise
        body = b"".join(chunks)
        what = _sniff(body)
        if what and accept != "robots":
            raise BadContentType(
                f"got a {what} (content type {media or 'none'!r}) where a {accept} was expected at {url}",
                url=url,
                http_status=status,
            )
        if body.startswith(GZIP_MAGIC):  # a .gz file itself, not a Content-Encoding
            if accept in ("sitemap", "feed"):
                return page(body, wire, binary=True), None
            raise BadContentType(
                f"got a gzip file (content type {media or 'none'!r}) where a {accept} was expected at {url}",
                url=url,
                http_status=status,
            )
        return page(body, wire), None

    # ------------------------------------------------------------------ sources

    async def fetch_source(self, source: Source, state: SourceState | None = None) -> SourceResult:
        """Fetch and parse one source; never raises (failures come back as status and error)."""
        state = state or SourceState()
        t0 = time.monotonic()
        try:
            result = await self._fetch_source(source, state)
        except asyncio.CancelledError:
            raise
        except FetchError as exc:
            result = SourceResult(
                status=exc.status,
                http_status=exc.http_status,
                etag=state.etag,
                last_modified=state.last_modified,
                body_hash=state.body_hash,
                error=str(exc),
                retry_after=exc.retry_after,
            )
        except Exception as exc:  # noqa: BLE001 - a bug or a surprise must not stop the cycle
            log.exception("fetch_source crashed source=%s", source.key)
            result = SourceResult(
                status=ERROR,
                etag=state.etag,
                last_modified=state.last_modified,
                body_hash=state.body_hash,
                error=f"internal error: {type(exc).__name__}: {exc}",
            )
        result.elapsed = time.monotonic() - t0
        log.info(
            "fetched source=%s status=%s http=%s items=%d candidates=%d bytes=%d secs=%.2f%s",
            source.key,
            result.status,
            result.http_status,
            result.items_seen,
            len(result.candidates),
            result.bytes,
            result.elapsed,
            f" error={result.error!r}" if result.error else "",
        )
        return result

    async def _fetch_source(self, source: Source, state: SourceState) -> SourceResult:
        # A sitemap index rarely changes while its child sitemaps do: an index (marked in the stored
        # hash) is always fetched and parsed, and its newest children are read again.
        was_index = source.kind == "sitemap" and (state.body_hash or "").startswith(INDEX_MARK)
        if was_index:
            state = SourceState()
        conditional: dict[str, str] = {}
        if state.etag:
            conditional["If-None-Match"] = state.etag
        if state.last_modified:
            conditional["If-Modified-Since"] = state.last_modified
        accept = source.kind if source.kind in ACCEPT else "html"
        try:
            page = await self.fetch_page(source.url, accept=accept, headers=conditional)
        except HTTPStatusError as exc:
            if exc.http_status != 410:
                raise
            raise HTTPStatusError(
                f"{exc} (the server says it is gone for good: update or disable the source)",
                url=exc.url,
                http_status=410,
            ) from None
        moved = (
            f"moved permanently to {page.final_url}: update the source URL"
            if page.moved_permanently
            else None
        )
        etag = _validator(page.headers.get("etag"), 1024)
        last_modified = _validator(page.headers.get("last-modified"), 100)
        if page.http_status == 304:
            return SourceResult(
                status=NOT_MODIFIED,
                http_status=304,
                etag=etag or state.etag,
                last_modified=last_modified or state.last_modified,
                body_hash=state.body_hash,
                bytes=page.wire_bytes,
                final_url=page.final_url,
                error=moved,
            )
        body_hash = hashlib.sha256(page.body).hexdigest()
        if body_hash == state.body_hash:
            return SourceResult(
                status=UNCHANGED,
                http_status=page.http_status,
                etag=etag,
                last_modified=last_modified,
                body_hash=body_hash,
                bytes=page.wire_bytes,
                final_url=page.final_url,
                error=moved,
            )
        wire = page.wire_bytes
        note = None
        try:
            if not page.body.strip():
                raise ParseError(f"empty response body (HTTP {page.http_status})", url=page.final_url)
            if source.kind == "feed":
                body = self._gunzip(page)
                found = await asyncio.to_thread(parse_feed, body, page.final_url, page.content_type)
            elif source.kind == "sitemap":
                found, wire_more, note, is_index = await self._sitemap(page)
                wire += wire_more
                if is_index:  # still 64 characters, the width of sources.body_hash
                    body_hash, etag, last_modified = (INDEX_MARK + body_hash)[:64], None, None
            else:
                if not source.link_selector:
                    raise ParseError("html source without a link_selector", url=source.url)
                found = await asyncio.to_thread(
                    parse_listing, page.text, page.final_url, source.link_selector
                )
                if not found:  # a redesign usually looks like this: say so instead of a silent zero
                    note = f"link_selector {source.link_selector!r} matched no article links"
        except FetchError as exc:  # unparsable: store no validators, so the next fetch parses again
            error = str(exc)
            html_title = _html_page_title(page) if source.kind in ("feed", "sitemap") else None
            if html_title is not None:  # a soft 404, a login or consent wall, a parked domain
                shown = f" titled {html_title!r}" if html_title else ""
                error = f"got an HTML page{shown} where a {source.kind} was expected at {page.final_url}"
            if moved:
                error += f"; {moved}"
            if source.kind == "feed" and page.text:
                feeds = discover_feeds(page.text, page.final_url)
                if feeds:  # the feed URL now serves a web page: point the operator at its feeds
                    error += f" (the page links to feeds: {', '.join(feeds[:5])})"
            return SourceResult(
                status=exc.status,
                http_status=page.http_status,
                error=error,
                bytes=wire,
                final_url=page.final_url,
                retry_after=exc.retry_after,
            )
        cap = source.max_articles or self.settings.max_articles_per_source
        return SourceResult(
            status=OK,
            http_status=page.http_status,
            candidates=select(found, cap),
            etag=etag,
            last_modified=last_modified,
            body_hash=body_hash,
            bytes=wire,
            error="; ".join(n for n in (note, moved) if n) or None,
            final_url=page.final_url,
            items_seen=len(found),
        )

    def _gunzip(self, page: Page) -> bytes:
        if page.body.startswith(GZIP_MAGIC):
            return gunzip_bounded(page.body, self.settings.max_body_size)
        return page.body

    async def _sitemap(self, page: Page) -> tuple[list[Candidate], int, str | None, bool]:
        """Candidates of a sitemap; for an index, those of its newest child sitemaps."""
        doc = await asyncio.to_thread(parse_sitemap, self._gunzip(page), page.final_url)
        if doc.kind == "urlset":
            return doc.candidates, 0, None, False
        found, wire, note = await self._sitemap_tree(page, doc)
        return found, wire, note, True

    async def _sitemap_tree(self, page: Page, root: Sitemap) -> tuple[list[Candidate], int, str | None]:
        """Follow an index's children, nested indexes included, newest first, within a budget.

        Best-first over every index read so far: the next child fetched is the newest one known by
        lastmod (an undated child counts as its index's date; deeper children win ties), so the
        budget of ``max_child_sitemaps`` fetches -- nested indexes count -- goes down the newest
        branch instead of being spent on the first level of a per-month index of indexes.
        Indexes deeper than ``max_sitemap_depth`` (the top one is depth 1) and loops are noted,
        never followed; a URL listed twice is fetched once.
        """
        floor = datetime.min.replace(tzinfo=UTC)
        heap: list[tuple[float, int, int, str, int, tuple[str, ...], datetime]] = []
        order = itertools.count()
        seen = {page.url, page.final_url}
        skipped: list[str] = []
        failures: list[str] = []
        found: dict[int, list[Candidate]] = {}
        wire = fetched = 0

        def push(index: Sitemap, depth: int, chain: tuple[str, ...], date: datetime) -> None:
            """Queue an index's children; ``depth`` is the index's level, ``chain`` its ancestors' URLs."""
            for url, lastmod in numbered_newest_first(index.children):
                if url in chain:
                    skipped.append(f"sitemap index loop not followed: {' -> '.join([*chain, url])}")
                elif url not in seen:
                    seen.add(url)
                    key = lastmod or date
                    heapq.heappush(heap, (-key.timestamp(), -depth, next(order), url, depth, chain, key))

        async def one(n: int, url: str, depth: int, chain: tuple[str, ...], key: datetime) -> None:
            nonlocal wire
            try:
                sub = await self.fetch_page(url, accept="sitemap")
                wire += sub.wire_bytes
                if sub.final_url != url and sub.final_url in seen:
                    skipped.append(f"child sitemap {url} redirects to {sub.final_url}, already read")
                    return
                seen.add(sub.final_url)
                parsed = await asyncio.to_thread(parse_sitemap, self._gunzip(sub), sub.final_url)
            except FetchError as exc:
                failures.append(str(exc))
                return
            if parsed.kind == "urlset":
                found[n] = parsed.candidates
            elif depth + 1 > self.max_sitemap_depth:
                skipped.append(f"sitemap index nested deeper than {self.max_sitemap_depth} levels: {url}")
            else:
                push(parsed, depth + 1, (*chain, *dict.fromkeys((url, sub.final_url))), key)

        push(root, 1, tuple(dict.fromkeys((page.url, page.final_url))), floor)
        width = max(1, self.settings.per_host_concurrency)
        running: set[asyncio.Task[None]] = set()
        try:
            while True:
                while heap and len(running) < width and fetched < self.max_child_sitemaps:
                    *_, url, depth, chain, key = heapq.heappop(heap)
                    running.add(asyncio.create_task(one(fetched, url, depth, chain, key)))
                    fetched += 1
                if not running:
                    break
                done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()  # a bug surfaces instead of vanishing with the task
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
        if failures and not found:
            first = failures[0]
            if len(failures) == fetched:
                raise ParseError(f"all {fetched} child sitemaps failed; first: {first}", url=page.url)
            raise ParseError(
                f"no child sitemap could be read: {len(failures)} of {fetched} failed; first: {first}",
                url=page.url,
            )
        notes = []
        if failures:
            notes.append(f"{len(failures)} of {fetched} child sitemaps failed; first: {failures[0]}")
        if skipped:
            more = f" (and {len(skipped) - 1} more)" if len(skipped) > 1 else ""
            notes.append(skipped[0] + more)
        return [c for n in sorted(found) for c in found[n]], wire, "; ".join(notes) or None


def numbered_newest_first(children: list[tuple[str, datetime | None]]) -> list[tuple[str, datetime | None]]:
    """Index entries with each numbered series (``posts-1.xml`` ... ``posts-9.xml``) highest number first.

    Only the order among entries that tie on lastmod depends on this, in practice undated ones:
    WordPress's own sitemaps list ``wp-sitemap-posts-post-1.xml``, ``-2.xml``, ... without lastmod,
    oldest posts first, so document order would keep reading the oldest pages once a site has more
    pages than the child budget. Yoast's unnumbered ``post-sitemap.xml`` is page 1, so it goes last
    in its series. A series keeps the position of its first entry.
    """
    first: dict[str, int] = {}
    ranked = []
    for pos, (url, lastmod) in enumerate(children):
        parts = urlsplit(url)
        tail = f"{parts.path}?{parts.query}"
        series = parts.netloc + _DIGITS.sub("", tail)  # post-sitemap.xml and post-sitemap2.xml: one series
        numbers = tuple(-int(d) for d in _DIGITS.findall(tail)[:4])
        ranked.append((first.setdefault(series, pos), not numbers, numbers, pos, url, lastmod))
    return [(url, lastmod) for *_, url, lastmod in sorted(ranked)]


def select(candidates: list[Candidate], cap: int) -> list[Candidate]:
    """Deduplicate by URL and keep ``cap``: newest first when dates exist, else document order."""
    unique: dict[str, Candidate] = {}
    for c in candidates:
        unique.setdefault(c.url, c)
    ordered = list(unique.values())
    if any(c.published_at or c.updated_at for c in ordered):
        floor = datetime.min.replace(tzinfo=UTC)
        ordered.sort(key=lambda c: c.published_at or c.updated_at or floor, reverse=True)
    return ordered[:cap]
