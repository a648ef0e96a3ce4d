"""Why a fetch failed, as exceptions a caller can sort by ``.status``.

``status`` is what ends up in ``fetches.status``; ``retryable`` tells the client whether
another attempt could succeed (timeouts, resets, 5xx, 429) or would only repeat the failure.
"""

from __future__ import annotations

from pipeline.errors import BanwatchError


class FetchError(BanwatchError):
    """Base of every fetch failure; the message is meant for an operator's eyes."""

    status = "error"
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        http_status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.url = url
        self.http_status = http_status
        self.retry_after = retry_after


class Refused(FetchError):
    """The SSRF guard refused an address (private, loopback, metadata, ...) or a URL scheme."""

    status = "refused"


class RobotsDisallowed(FetchError):
    """robots.txt does not allow us to fetch the URL."""

    status = "blocked_by_robots"


class Timeout(FetchError):
    """Connect, read or total timeout."""

    retryable = True


class ConnectionFailed(FetchError):
    """DNS failure, refused or reset connection, broken HTTP framing."""

    retryable = True


class HTTPStatusError(FetchError):
    """A 4xx/5xx answer; 5xx and 429 are worth retrying."""

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        http_status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, url=url, http_status=http_status, retry_after=retry_after)
        self.retryable = http_status is not None and (http_status >= 500 or http_status in (408, 429))


class TooLarge(FetchError):
    """The body (on the wire or after decompression) passed ``max_body_size``."""


class TooManyRedirects(FetchError):
    """More redirects than ``max_redirects``."""


class RedirectLoop(FetchError):
    """A redirect led back to a URL already visited in the same chain."""


class BadContentType(FetchError):
    """A PDF, an image or other non-text where a page, feed or sitemap was expected."""


class BadContentEncoding(FetchError):
    """A Content-Encoding we cannot decode, or corrupt compressed data."""


class ParseError(FetchError):
    """The feed, sitemap or listing could not be read at all."""
