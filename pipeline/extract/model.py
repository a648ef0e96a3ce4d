"""The output of the extraction stage."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class ExtractedArticle:
    """One page's article: metadata, main text and publication date (with the method that found it).

    ``is_article`` is False for an explicit "no article" answer (index page, empty or unreadable page).
    Datetimes are timezone-aware and keep the offset the page states; the store converts to UTC.
    """

    url: str
    title: str | None = None
    text: str = ""
    published_at: datetime | None = None
    published_at_method: str | None = None
    modified_at: datetime | None = None
    language: str | None = None
    authors: list[str] = field(default_factory=list)
    canonical_url: str | None = None
    site_name: str | None = None
    description: str | None = None
    is_article: bool = False

    @property
    def paragraphs(self) -> list[str]:
        return [p for p in self.text.split("\n\n") if p]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (datetimes as ISO 8601 strings)."""
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, datetime):
                out[key] = value.isoformat()
        return out
