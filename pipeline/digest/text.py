"""Small helpers shared by the renderers: labels, dates, safe URLs."""

from __future__ import annotations

import re
from datetime import date, datetime
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from pipeline.digest.model import DigestCounts, DigestDate

ROLE_LABELS = {
    "effective_date": "effective",
    "compliance_deadline": "deadline",
    "court_ruling": "ruling",
    "extension": "extended to",
    "filing": "filing",
    "announcement": "announced",
}
MAX_TITLE = 300
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def plural(n: int, word: str, words: str | None = None) -> str:
    return f"{n} {word if n == 1 else (words or word + 's')}"


def summary_counts(c: DigestCounts) -> str:
    """The header line: "12 articles (9 relevant, 2 copies) · 3 new events · …"."""
    return (f"{plural(c.articles, 'article')} ({c.relevant} relevant, {plural(c.duplicates, 'copy', 'copies')}) · "
            f"{plural(c.events, 'new event')} · {plural(c.stories_updated, 'developing story', 'developing stories')}"
            f" · {plural(c.stories_new, 'new story', 'new stories')}")


def role_label(role: str) -> str:
    return ROLE_LABELS.get(role, role.replace("_", " "))


def show_date(d: DigestDate | date, precision: str = "day") -> str:
    if isinstance(d, DigestDate):
        d, precision = d.date, d.precision
    if precision == "year":
        return f"{d.year:04d}"
    if precision == "month":
        return f"{d.year:04d}-{d.month:02d}"
    return d.isoformat()


def local_time(when: datetime | None, tz: str) -> str:
    return when.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M") if when else ""


def clip(text: str | None, limit: int = MAX_TITLE) -> str:
    """One line, at most ``limit`` characters: a 10 kB "title" must not swallow the page."""
    one = " ".join(_CONTROL.sub("", text or "").split())
    return one if len(one) <= limit else one[: limit - 1].rstrip() + "…"


def strip_control(text: str) -> str:
    """Remove characters XML 1.0 forbids (web text sometimes carries them)."""
    return _CONTROL.sub("", text)


def safe_url(url: str | None) -> str | None:
    """The URL if it is an absolute http(s) URL, made safe to embed; else None (no javascript:, data:, …)."""
    if not url:
        return None
    url = url.strip()
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    # percent-encode what would break out of Markdown link syntax or HTML attributes
    return quote(url, safe="/:?#[]@!$&'*+,;=%-._~")
