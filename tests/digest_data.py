"""A small, hand-built database state for digest tests (written through the models, no pipeline stages).

Day under test: 2026-11-20 in Europe/Berlin, i.e. 2026-11-19T23:00Z to 2026-11-20T23:00Z.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from pipeline.store.models import (
    ArticleDateRow,
    ArticleEntityRow,
    ArticleRow,
    EntityRow,
    EventRow,
    FetchRow,
    SourceRow,
    StoryRow,
)

DAY = date(2026, 11, 20)
TZ = "Europe/Berlin"
WINDOW_START = datetime(2026, 11, 19, 23, 0, tzinfo=UTC)
WINDOW_END = datetime(2026, 11, 20, 23, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    """A moment relative to the window start (hours may be negative)."""
    return WINDOW_START + timedelta(hours=hours)


@dataclass
class Ids:
    sources: dict[str, int] = field(default_factory=dict)
    articles: dict[str, int] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)
    stories: dict[str, int] = field(default_factory=dict)


class Builder:
    def __init__(self, s: Session) -> None:
        self.s = s
        self.ids = Ids()
        self._n = 0

    def source(self, key: str, name: str) -> int:
        row = SourceRow(key=key, name=name, kind="feed", url=f"https://{key}.example/feed", enabled=True,
                        consecutive_failures=0, created_at=at(-24 * 30))
        self.s.add(row)
        self.s.flush()
        self.ids.sources[key] = row.id
        return row.id

    def fetch(self, source: str, when: datetime, status: str, error: str | None = None) -> None:
        self.s.add(FetchRow(source_id=self.ids.sources[source], target="source", started_at=when,
                            finished_at=when + timedelta(seconds=2), status=status, error=error))

    def story(self, name: str, title: str, first_seen: datetime, status: str = "developing") -> int:
        row = StoryRow(title=title, status=status, first_seen_at=first_seen, last_updated_at=first_seen)
        self.s.add(row)
        self.s.flush()
        self.ids.stories[name] = row.id
        return row.id

    def event(self, name: str, story: str | None, title: str, first_seen: datetime,
              occurred_on: date | None = None) -> int:
        row = EventRow(story_id=self.ids.stories[story] if story else None, title=title, occurred_on=occurred_on,
                       first_seen_at=first_seen, last_updated_at=first_seen)
        self.s.add(row)
        self.s.flush()
        self.ids.events[name] = row.id
        return row.id

    def article(self, name: str, *, url: str, title: str, first_seen: datetime, source: str | None = None,
                event: str | None = None, duplicate_of: str | None = None, relevant: bool = True,
                relevance: float = 0.9, site_name: str | None = None) -> int:
        self._n += 1
        row = ArticleRow(url=url, canonical_url=f"{url}#{self._n}", title=title, text=f"text of {title}",
                         source_id=self.ids.sources.get(source) if source else None, site_name=site_name,
                         published_at=first_seen - timedelta(minutes=30), first_seen_at=first_seen,
                         is_relevant=relevant, relevance=relevance,
                         event_id=self.ids.events[event] if event else None,
                         duplicate_of=self.ids.articles[duplicate_of] if duplicate_of else None)
        self.s.add(row)
        self.s.flush()
        self.ids.articles[name] = row.id
        return row.id

    def entity(self, key: str, name: str, type_: str, *articles: str) -> None:
        row = EntityRow(key=key, name=name, type=type_, origin="gazetteer")
        self.s.add(row)
        self.s.flush()
        for a in articles:
            self.s.add(ArticleEntityRow(article_id=self.ids.articles[a], entity_id=row.id, mentions=2))

    def date(self, article: str, d: date, role: str, precision: str = "day", snippet: str | None = None) -> None:
        self.s.add(ArticleDateRow(article_id=self.ids.articles[article], date=d, role=role, precision=precision,
                                  snippet=snippet))


def populate(s: Session) -> Ids:
    b = Builder(s)
    b.source("wire", "Wire Service")
    b.source("broken", "Broken Feed")
    b.source("flaky", "Flaky Feed")
    b.fetch("wire", at(2), "ok")
    b.fetch("broken", at(-60), "ok")
    b.fetch("broken", at(-40), "error", "HTTP 500")
    b.fetch("broken", at(10), "error", "HTTP 500")
    b.fetch("flaky", at(-30), "ok")
    b.fetch("flaky", at(20), "error", "timeout")

    # a developing story: one old event, one new in the window
    b.story("huawei", "FCC moves against Huawei equipment", at(-24 * 5))
    b.event("old", "huawei", "FCC proposes rip-and-replace rules", at(-24 * 5), date(2026, 11, 15))
    b.article("old1", url="https://wire.example/a/1", title="FCC proposes rip-and-replace rules",
              first_seen=at(-24 * 5), source="wire", event="old", site_name="Wire Service")
    b.event("new", "huawei", "FCC sets deadline for Huawei removal", at(10), date(2026, 11, 20))
    b.article("orig", url="https://wire.example/a/2", title="FCC sets deadline for Huawei removal",
              first_seen=at(10), source="wire", event="new", site_name="Wire Service")
    b.article("copy", url="https://paper.example/huawei-deadline", title="FCC sets Huawei deadline (copy)",
              first_seen=at(12), event="new", duplicate_of="orig", site_name="Daily Paper")
    b.article("same_outlet", url="https://wire.example/a/3", title="FCC deadline: update",
              first_seen=at(13), source="wire", event="new", site_name="Wire Service")
    b.date("orig", date(2027, 1, 1), "effective_date", snippet="takes effect on January 1, 2027")
    b.date("orig", date(2027, 3, 1), "compliance_deadline", precision="month")
    b.date("orig", date(2026, 11, 20), "other")
    b.entity("huawei", "Huawei", "company", "orig", "old1", "copy")
    b.entity("fcc", "Federal Communications Commission", "government_body", "orig")

    # a story that started today (00:30 Berlin = 23:30 UTC the day before: inside the window)
    b.story("dji", "Commerce adds DJI to the Entity List", at(0.5))
    b.event("dji1", "dji", "Commerce adds DJI to the Entity List", at(0.5))
    b.article("dji_a", url="https://gov.example/dji", title="Commerce adds DJI to the Entity List",
              first_seen=at(0.5), event="dji1")

    # an old story nothing happened to today
    b.story("quiet", "A quiet story", at(-24 * 40), status="dormant")
    b.event("quiet1", "quiet", "Old news", at(-24 * 40))
    b.article("quiet_a", url="https://wire.example/old", title="Old news", first_seen=at(-24 * 40),
              event="quiet1")

    # single articles: one relevant, one not; one just after the window
    b.article("single", url="https://blog.example/tiktok", title="TikTok divestiture talk continues",
              first_seen=at(15), relevance=0.7)
    b.article("irrelevant", url="https://blog.example/phones", title="New phone reviewed", first_seen=at(16),
              relevant=False, relevance=0.1)
    b.article("tomorrow", url="https://wire.example/tomorrow", title="Tomorrow's news", first_seen=at(24.5),
              event="new")
    s.flush()
    return b.ids


HOSTILE_TITLE = '<script>document.title="PWNED"</script><img src=x onerror=alert(1)>"quoted" & more'
RTL_TITLE = "هواوي: قرار جديد من لجنة الاتصالات الفيدرالية بشأن المعدات"


def populate_hostile(s: Session, beacon: str = "http://127.0.0.1:9/pwned") -> Ids:
    """Headlines and links an attacker controls: scripts, javascript: URLs, huge and right-to-left text."""
    b = Builder(s)
    b.source("evil", f'Evil <script>fetch("{beacon}")</script> Feed')
    b.fetch("evil", at(-48), "error", f'<img src="{beacon}?err">')
    b.story("evil", HOSTILE_TITLE.replace("PWNED", "PWNED-story"), at(1))
    b.event("e1", "evil", f'<svg onload="fetch(\'{beacon}\')">x</svg>', at(1))
    b.article("a1", url="javascript:fetch('" + beacon + "')", title=HOSTILE_TITLE, first_seen=at(1),
              event="e1", site_name='"><script>document.title="PWNED-site"</script>')
    b.article("a2", url='https://ok.example/x"><script>document.title="PWNED-attr"</script>',
              title="A" * 20000, first_seen=at(2), event="e1", site_name="Huge Outlet " + "W" * 280)
    b.article("a3", url="data:text/html,<script>alert(1)</script>", title=RTL_TITLE, first_seen=at(3),
              event="e1", site_name="قناة")
    b.article("s1", url=f"{beacon}?img", title=f"<iframe src='{beacon}'></iframe>" + RTL_TITLE,
              first_seen=at(4), relevance=0.99)
    b.article("rtl", url="https://arabic.example/news/1", title=RTL_TITLE, first_seen=at(4.5), site_name="قناة")
    b.article("s2", url="  JaVaScRiPt:alert(1)", title="Sneaky\x01control\x07chars", first_seen=at(5))
    b.entity("evil-ent", '<b onmouseover="alert(1)">Evil Corp</b>', "company", "a1")
    b.date("a1", date(2027, 1, 1), "effective_date", snippet="<script>alert('snippet')</script>")
    s.flush()
    return b.ids
