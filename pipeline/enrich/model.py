"""Typed results of the enrichment stage (what the store writes to entities/article_dates/articles)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

ENTITY_TYPES = ("company", "government_body", "person", "country", "law_or_rule", "product", "organization")
DATE_ROLES = (
    "effective_date",
    "compliance_deadline",
    "announcement",
    "court_ruling",
    "filing",
    "extension",
    "other",
)
PRECISIONS = ("day", "month", "year")


@dataclass
class EntityHit:
    """One entity named in an article, with how often it was named."""

    key: str  # gazetteer key, or "discovered:<slug>" for entities found in the text
    name: str  # canonical name
    type: str  # one of ENTITY_TYPES
    country: str | None
    origin: str  # "gazetteer" | "discovered"
    mentions: int
    parent_key: str | None = None


@dataclass
class TypedDate:
    """A date the text states, normalised; ``date`` is the first day of the month/year when less precise."""

    date: dt.date
    precision: str  # day | month | year
    role: str  # one of DATE_ROLES
    snippet: str

    def iso(self) -> str:
        """The date at its precision: 2024-07-20, 2024-07 or 2024."""
        if self.precision == "year":
            return f"{self.date.year:04d}"
        if self.precision == "month":
            return f"{self.date.year:04d}-{self.date.month:02d}"
        return self.date.isoformat()


@dataclass
class Enrichment:
    entities: list[EntityHit] = field(default_factory=list)
    dates: list[TypedDate] = field(default_factory=list)
    relevance: float = 1.0
    is_relevant: bool = True
