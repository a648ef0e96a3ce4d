"""The researcher views of revision 0002, on SQLite and PostgreSQL, over a small known database.

``populate`` (also used by the search, export and documented-query tests) writes the rows through
the models, so the views are checked against data whose answers are known by construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from rich.console import Console
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from pipeline.config import Config
from pipeline.errors import UsageError
from pipeline.runtime import Runtime
from pipeline.store import session_factory
from pipeline.store.models import (
    ArticleDateRow,
    ArticleEntityRow,
    ArticleRow,
    EntityRow,
    EventRow,
    SourceRow,
    StoryRow,
)
from pipeline.views import print_stories, print_story

VIEW_COLUMNS = {
    "v_unique_articles": ["article_id", "title", "url", "canonical_url", "outlet", "source_key", "published_at",
                          "first_seen_at", "day", "language", "relevance", "is_relevant", "event_id", "story_id",
                          "copies", "outlets"],
    "v_article_entities": ["article_id", "title", "outlet", "day", "is_relevant", "duplicate_of", "event_id",
                           "entity_id", "entity_key", "entity", "type", "country", "origin", "mentions"],
    "v_story_timeline": ["story_id", "story_title", "story_status", "event_id", "event_title", "event_date",
                         "date", "precision", "role", "snippet", "article_id", "article_title", "article_url",
                         "outlet", "published_at"],
    "v_entity_activity": ["entity_id", "entity_key", "entity", "type", "country", "day", "articles",
                          "relevant_articles", "events", "mentions"],
}


def at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


@dataclass
class Sample:
    """Ids of the rows ``populate`` wrote."""

    ids: dict[str, int]


HUAWEI_TEXT = ("The Federal Communications Commission voted to ban new Huawei routers and network gear. "
               "The prohibition takes effect on 1 June 2024, regulators said, citing national security.")
RULING_TEXT = ("A federal appeals court upheld the Huawei equipment ban on Wednesday, rejecting the company's "
               "petition. Judges said the agency acted within its authority.")
PHONE_TEXT = "Huawei launched a foldable smartphone with a brighter display and a bigger battery."
KASPERSKY_TEXT = ("Commerce barred sales of Kaspersky antivirus software; updates end on 29 September 2024 "
                  "under the final determination.")


def populate(engine: Engine, *, now: datetime | None = None) -> Sample:
    """Two outlets and a wire, two live stories (one merged away), a syndicated copy, an off-topic item."""
    now = now or at("2024-07-01")
    ids: dict[str, int] = {}
    with Session(engine) as s, s.begin():
        harbour = SourceRow(key="harbour", name="Harbour Times", kind="feed", url="https://harbour.test/rss")
        ledger = SourceRow(key="ledger", name="Daily Ledger", kind="feed", url="https://ledger.test/atom")
        s.add_all([harbour, ledger])
        s.flush()
        huawei = EntityRow(key="huawei", name="Huawei Technologies Co., Ltd.", type="company", country="CN",
                           origin="gazetteer", first_seen_at=at("2024-03-01"))
        fcc = EntityRow(key="fcc", name="Federal Communications Commission", type="government_body",
                        country="US", origin="gazetteer", first_seen_at=at("2024-03-01"))
        kasp = EntityRow(key="kaspersky", name="Kaspersky Lab", type="company", country="RU",
                         origin="gazetteer", first_seen_at=now - timedelta(days=2))
        s.add_all([huawei, fcc, kasp])
        s.flush()
        s1 = StoryRow(title="US bans Huawei network equipment", status="developing", first_seen_at=at("2024-03-01"),
                      last_updated_at=at("2024-04-10"), event_count=2)
        s2 = StoryRow(title="Kaspersky software barred", status="developing", first_seen_at=now - timedelta(days=2),
                      last_updated_at=now - timedelta(days=2), event_count=1)
        s3 = StoryRow(title="merged-away story", status="developing", first_seen_at=at("2024-03-02"),
                      last_updated_at=at("2024-03-02"), event_count=0)
        s.add_all([s1, s2, s3])
        s.flush()
        s3.merged_into = s1.id
        e1 = EventRow(story_id=s1.id, title="FCC votes to ban Huawei routers", occurred_on=date(2024, 3, 1),
                      first_seen_at=at("2024-03-01"), last_updated_at=at("2024-03-02"), article_count=2,
                      outlet_count=2)
        e2 = EventRow(story_id=s1.id, title="Court upholds Huawei ban", occurred_on=date(2024, 4, 10),
                      first_seen_at=at("2024-04-10"), last_updated_at=at("2024-04-10"), article_count=1,
                      outlet_count=1)
        e3 = EventRow(story_id=s2.id, title="Commerce bars Kaspersky", occurred_on=(now - timedelta(days=2)).date(),
                      first_seen_at=now - timedelta(days=2), last_updated_at=now - timedelta(days=2),
                      article_count=1, outlet_count=1)
        e_old = EventRow(story_id=s3.id, title="merged-away event", occurred_on=date(2024, 3, 2),
                         first_seen_at=at("2024-03-02"), last_updated_at=at("2024-03-02"))
        s.add_all([e1, e2, e3, e_old])
        s.flush()
        a1 = ArticleRow(url="https://harbour.test/2024/03/01/fcc-huawei", canonical_url="https://harbour.test/fcc-huawei",
                        source_id=harbour.id, title="FCC moves to ban Huawei routers", text=HUAWEI_TEXT,
                        site_name="Harbour Times", published_at=at("2024-03-01", 8), first_seen_at=at("2024-03-01", 10),
                        language="en", relevance=0.97, is_relevant=True, event_id=e1.id, duplicate_count=1)
        a2 = ArticleRow(url="https://ledger.test/wire/fcc-huawei", canonical_url="https://ledger.test/wire/fcc-huawei",
                        source_id=ledger.id, title="FCC moves to ban Huawei routers (wire)", text=HUAWEI_TEXT,
                        site_name=None, published_at=at("2024-03-01", 11), first_seen_at=at("2024-03-01", 12),
                        language="en", relevance=0.97, is_relevant=True)
        a3 = ArticleRow(url="https://ledger.test/court-upholds", canonical_url="https://ledger.test/court-upholds",
                        source_id=ledger.id, title="Appeals court upholds Huawei ban", text=RULING_TEXT,
                        site_name="Daily Ledger", published_at=at("2024-04-10"), first_seen_at=at("2024-04-10", 10),
                        language="en", relevance=0.91, is_relevant=True, event_id=e2.id)
        a4 = ArticleRow(url="https://harbour.test/huawei-phone", canonical_url="https://harbour.test/huawei-phone",
                        source_id=harbour.id, title="Huawei unveils a new foldable phone", text=PHONE_TEXT,
                        site_name="Harbour Times", published_at=at("2024-03-01", 15), first_seen_at=at("2024-03-01", 16),
                        language="en", relevance=0.05, is_relevant=False)
        a5 = ArticleRow(url="https://harbour.test/kaspersky", canonical_url="https://harbour.test/kaspersky",
                        source_id=harbour.id, title="Commerce bars Kaspersky antivirus sales", text=KASPERSKY_TEXT,
                        site_name="Harbour Times", published_at=None, first_seen_at=now - timedelta(days=2),
                        language="en", relevance=0.95, is_relevant=True, event_id=e3.id)
        s.add_all([a1, a2, a3, a4, a5])
        s.flush()
        a2.duplicate_of = a1.id
        s.add_all([
            ArticleEntityRow(article_id=a1.id, entity_id=huawei.id, mentions=3),
            ArticleEntityRow(article_id=a1.id, entity_id=fcc.id, mentions=1),
            ArticleEntityRow(article_id=a2.id, entity_id=huawei.id, mentions=3),
            ArticleEntityRow(article_id=a3.id, entity_id=huawei.id, mentions=2),
            ArticleEntityRow(article_id=a4.id, entity_id=huawei.id, mentions=1),
            ArticleEntityRow(article_id=a5.id, entity_id=kasp.id, mentions=2),
            ArticleDateRow(article_id=a1.id, date=date(2024, 6, 1), precision="day", role="effective_date",
                           snippet="The prohibition takes effect on 1 June 2024"),
            ArticleDateRow(article_id=a1.id, date=date(2024, 3, 1), precision="day", role="announcement",
                           snippet="voted on Friday"),
            ArticleDateRow(article_id=a2.id, date=date(2024, 6, 1), precision="day", role="effective_date",
                           snippet="The prohibition takes effect on 1 June 2024"),
            ArticleDateRow(article_id=a3.id, date=date(2024, 4, 10), precision="day", role="court_ruling",
                           snippet="upheld the ban on Wednesday"),
            ArticleDateRow(article_id=a5.id, date=date(2024, 9, 29), precision="day", role="compliance_deadline",
                           snippet="updates end on 29 September 2024"),
        ])
        ids.update(harbour=harbour.id, ledger=ledger.id, huawei=huawei.id, fcc=fcc.id, kaspersky=kasp.id,
                   s1=s1.id, s2=s2.id, s3=s3.id, e1=e1.id, e2=e2.id, e3=e3.id, a1=a1.id, a2=a2.id, a3=a3.id,
                   a4=a4.id, a5=a5.id)
    return Sample(ids)


def rows(engine: Engine, sql: str, **params: object) -> list[dict[str, object]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text(sql), params)]


def iso(value: object) -> str:
    """Days come back as date on PostgreSQL and ISO text on SQLite: compare them as text."""
    return value.isoformat() if isinstance(value, date) else str(value)


@pytest.mark.parametrize("view", sorted(VIEW_COLUMNS))
def test_views_have_the_documented_columns(db_engine: Engine, view: str) -> None:
    with db_engine.connect() as conn:
        cols = list(conn.execute(text(f"SELECT * FROM {view} LIMIT 0")).keys())
    assert cols == VIEW_COLUMNS[view]


def test_unique_articles_fold_copies(db_engine: Engine) -> None:
    ids = populate(db_engine).ids
    got = {r["article_id"]: r for r in rows(db_engine, "SELECT * FROM v_unique_articles")}
    assert ids["a2"] not in got  # the wire copy is folded into the first copy
    first = got[ids["a1"]]
    assert first["copies"] == 2
    assert first["outlets"] == "Daily Ledger, Harbour Times"
    assert iso(first["day"]) == "2024-03-01"
    assert first["story_id"] == ids["s1"]
    assert got[ids["a3"]]["copies"] == 1 and got[ids["a3"]]["outlets"] == "Daily Ledger"
    # no publication date: the day falls back to when banwatch first saw it
    assert iso(got[ids["a5"]]["day"]) == "2024-06-29"
    assert got[ids["a4"]]["story_id"] is None and not got[ids["a4"]]["is_relevant"]


def test_article_entities(db_engine: Engine) -> None:
    ids = populate(db_engine).ids
    got = rows(db_engine, "SELECT article_id, entity, type, country, mentions, outlet FROM v_article_entities "
                          "WHERE entity_key = 'huawei' ORDER BY article_id")
    assert [(r["article_id"], r["mentions"]) for r in got] == [(ids["a1"], 3), (ids["a2"], 3), (ids["a3"], 2),
                                                                 (ids["a4"], 1)]
    assert {(r["entity"], r["type"], r["country"]) for r in got} == {("Huawei Technologies Co., Ltd.", "company",
                                                                      "CN")}
    assert got[1]["outlet"] == "Daily Ledger"  # no site name on the copy: the source's name


def test_story_timeline(db_engine: Engine) -> None:
    ids = populate(db_engine).ids
    got = rows(db_engine, "SELECT story_id, event_id, date, role, snippet, article_id, outlet FROM v_story_timeline "
                          "ORDER BY story_id, date, role")
    s1 = [(iso(r["date"]), r["role"], r["article_id"]) for r in got if r["story_id"] == ids["s1"]]
    assert s1 == [
        ("2024-03-01", "announcement", ids["a1"]),
        ("2024-03-01", "event", ids["a1"]),  # the first outlet that reported the event
        ("2024-04-10", "court_ruling", ids["a3"]),
        ("2024-04-10", "event", ids["a3"]),
        ("2024-06-01", "effective_date", ids["a1"]),
    ]
    assert ids["s3"] not in {r["story_id"] for r in got}  # merged stories are left out
    s2 = [r for r in got if r["story_id"] == ids["s2"]]
    assert {r["role"] for r in s2} == {"event", "compliance_deadline"}
    eff = next(r for r in got if r["role"] == "effective_date")
    assert eff["snippet"].startswith("The prohibition takes effect") and eff["outlet"] == "Harbour Times"


def test_entity_activity(db_engine: Engine) -> None:
    ids = populate(db_engine).ids
    got = {(r["entity_key"], iso(r["day"])): r for r in rows(db_engine, "SELECT * FROM v_entity_activity")}
    day1 = got[("huawei", "2024-03-01")]
    # a1 and the off-topic a4; the copy a2 is folded; only a1 belongs to an event
    assert (day1["articles"], day1["relevant_articles"], day1["events"], day1["mentions"]) == (2, 1, 1, 4)
    assert got[("huawei", "2024-04-10")]["events"] == 1
    assert got[("kaspersky", "2024-06-29")]["entity_id"] == ids["kaspersky"]


def test_day_filters_work_with_iso_literals(db_engine: Engine) -> None:
    populate(db_engine)
    got = rows(db_engine, "SELECT COUNT(*) AS n FROM v_unique_articles WHERE day >= '2024-04-01'")
    assert got[0]["n"] == 2


# ---------------------------------------------------------------- banwatch stories / story


def _rt(db_url: str) -> Runtime:
    return Runtime(Config(path=None), db_url)


def _console() -> Console:
    return Console(record=True, width=160, color_system=None)


def test_print_stories_lists_developing_stories(db_url: str) -> None:
    engine_rt = _rt(db_url)
    ids = populate(engine_rt.engine).ids
    with session_factory(engine_rt.engine)() as s, s.begin():
        s.get(StoryRow, ids["s2"]).status = "dormant"
    console = _console()
    assert print_stories(engine_rt, console) == 1
    out = console.export_text()
    assert "US bans Huawei network equipment" in out and "Kaspersky" not in out
    assert "merged-away" not in out
    console = _console()
    assert print_stories(engine_rt, console, include_dormant=True) == 2
    assert "dormant" in console.export_text()
    console = _console()
    assert print_stories(engine_rt, console, since=date(2030, 1, 1)) == 0
    assert "no developing stories updated since 2030-01-01" in console.export_text()
    engine_rt.close()


def test_print_story_shows_the_timeline(db_url: str) -> None:
    rt = _rt(db_url)
    ids = populate(rt.engine).ids
    console = _console()
    print_story(rt, console, ids["s1"])
    out = console.export_text()
    assert "Story" in out and "US bans Huawei network equipment" in out
    assert out.index("FCC votes to ban Huawei routers") < out.index("Court upholds Huawei ban")
    assert "effective" in out and "2024-06-01" in out and "The prohibition takes effect" in out
    assert "Harbour Times" in out
    console = _console()
    print_story(rt, console, ids["s3"])  # a merged story shows the story it went into
    assert "merged into story" in console.export_text()
    with pytest.raises(UsageError, match="no story with id 999"):
        print_story(rt, _console(), 999)
    rt.close()
