"""Fetching: the only part of banwatch that talks to the network.

``Fetcher.fetch_source`` turns a configured source (feed, sitemap, listing page) into
candidate articles with the validators to store; ``Fetcher.fetch_page`` fetches one page.
Both apply timeouts, size limits, redirect and content-type checks, robots.txt, per-host
politeness, retries and the SSRF guard. Nothing here touches the database.
"""

from pipeline.fetch.backoff import backoff_delay
from pipeline.fetch.errors import (
    BadContentEncoding,
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
from pipeline.fetch.fetcher import Fetcher, parse_retry_after
from pipeline.fetch.results import (
    BLOCKED_BY_ROBOTS,
    ERROR,
    NOT_MODIFIED,
    OK,
    REFUSED,
    UNCHANGED,
    Candidate,
    Page,
    SourceResult,
    SourceState,
)

__all__ = [
    "BLOCKED_BY_ROBOTS",
    "ERROR",
    "NOT_MODIFIED",
    "OK",
    "REFUSED",
    "UNCHANGED",
    "BadContentEncoding",
    "BadContentType",
    "Candidate",
    "ConnectionFailed",
    "FetchError",
    "Fetcher",
    "HTTPStatusError",
    "Page",
    "ParseError",
    "RedirectLoop",
    "Refused",
    "RobotsDisallowed",
    "SourceResult",
    "SourceState",
    "Timeout",
    "TooLarge",
    "TooManyRedirects",
    "backoff_delay",
    "parse_retry_after",
]
