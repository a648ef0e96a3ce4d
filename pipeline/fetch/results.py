"""The dataclasses the fetcher hands to the cycle; plain data (a page decodes its text on demand)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from pipeline.fetch.charset import decode_body

# Values of SourceResult.status (and of fetches.status).
OK = "ok"
NOT_MODIFIED = "not_modified"
UNCHANGED = "unchanged"
ERROR = "error"
BLOCKED_BY_ROBOTS = "blocked_by_robots"
REFUSED = "refused"


@dataclass(frozen=True)
class SourceState:
    """The validators stored on the ``sources`` row from the previous fetch."""

    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None


@dataclass
class Candidate:
    """One article found in a feed, sitemap or listing page; its page is fetched later."""

    url: str
    guid: str | None = None
    title: str | None = None
    summary: str | None = None
    published_at: datetime | None = None  # timezone-aware
    updated_at: datetime | None = None  # timezone-aware
    authors: list[str] = field(default_factory=list)


@dataclass
class Page:
    """A fetched document: raw bytes and, for text, the decoded text.

    The text is decoded on first use: article pages go to the extractor as bytes (it decodes them
    itself, straight into the parser), and decoding a 300 kB page that nobody reads cost a tenth of
    a millisecond or more per article.
    """

    url: str
    final_url: str
    http_status: int
    content_type: str | None
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    wire_bytes: int = 0  # bytes received before decompression (sum over redirects)
    moved_permanently: bool = False  # reached through redirects that were all 301/308
    binary: bool = False  # a .gz file itself (a compressed sitemap or feed): no text

    @cached_property
    def _decoded(self) -> tuple[str, str]:
        if self.binary:
            return "", "binary"
        if not self.body:
            return "", ""
        return decode_body(self.body, self.content_type)

    @property
    def text(self) -> str:
        return self._decoded[0]

    @property
    def encoding(self) -> str:
        """The codec the text was decoded with ("binary" for a compressed file)."""
        return self._decoded[1]


@dataclass
class SourceResult:
    """What one fetch of a source found, and the validators to store for the next one.

    ``etag``/``last_modified``/``body_hash`` are the values to *store*: on network failures they
    are the previous ones (unchanged), after a parse failure they are None so that the next fetch
    downloads and parses again.
    """

    status: str
    http_status: int | None = None
    candidates: list[Candidate] = field(default_factory=list)
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    bytes: int = 0
    error: str | None = None
    final_url: str | None = None
    items_seen: int = 0  # entries found before the cap
    retry_after: float | None = None  # seconds the server asked us to wait (429/503), if any
    elapsed: float = 0.0  # seconds, including politeness waits
