"""End to end: `run --once` against the local test web stores real articles, once."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from email.utils import format_datetime
from html import escape
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pipeline.config import load_config
from pipeline.cycle import run_cycle
from pipeline.runtime import Runtime
from pipeline.store.models import ArticleDateRow, ArticleEntityRow, ArticleRow, EventRow, FetchRow, SourceRow
from tests.testweb import LOCAL_PROFILE, testweb_fixture  # noqa: F401

BAN = ("The Commerce Department on Thursday banned sales of Kaspersky Lab antivirus software in the United "
       "States, citing national security risks posed by the Russian government's influence over the company. "
       "The final determination by the Bureau of Industry and Security takes effect on July 20, 2024, and "
       "Kaspersky must stop providing software updates to US customers by September 29, 2024. Commerce Secretary "
       "Gina Raimondo said Russia has shown it has the capacity and the intent to exploit Russian companies to "
       "collect and weaponize the personal information of Americans. Customers who keep using the software will "
       "not face penalties, but officials urged them to switch to another vendor before the deadline. The rule "
       "uses authority created by an executive order on information and communications technology supply chains. "
       "Kaspersky said it would pursue all legally available options to preserve its operations and relationships.")
PHONE = ("Huawei unveiled its newest folding phone at a launch event in Shenzhen on Tuesday, with a brighter screen, "
         "a lighter hinge and a camera system that the company says rivals the best on the market. The device goes "
         "on sale in China next month at a price of about 13,000 yuan. Analysts said strong demand for the phone "
         "would help Huawei extend its lead in the domestic premium segment, where shipments rose sharply last "
         "quarter. The company also showed new smartwatches and a tablet with a keyboard cover.")


def page(title: str, body: str, published: str, boiler: str = "") -> str:
    paras = "".join(f"<p>{escape(s.strip())}.</p>" for s in body.split(". ") if s.strip())
    return (f"<!doctype html><html lang=en><head><title>{escape(title)}</title>"
            f'<meta property="article:published_time" content="{published}"></head><body>'
            f"<nav><a href='/'>Home</a> <a href='/world'>World</a></nav><article><h1>{escape(title)}</h1>"
            f"{paras}</article><aside>{escape(boiler)}</aside><footer>© Test News</footer></body></html>")


def rss(base: str, items: list[tuple[str, str]]) -> str:
    when = format_datetime(datetime(2024, 6, 20, 15, tzinfo=UTC))
    body = "".join(f"<item><title>{escape(t)}</title><link>{base}{p}</link><guid>{base}{p}</guid>"
                   f"<pubDate>{when}</pubDate></item>" for p, t in items)
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Test News</title><link>{base}/</link>'
            f"<description>t</description>{body}</channel></rss>")


@pytest.fixture
def news_site(testweb, tmp_path: Path):
    base = testweb.url("").rstrip("/")
    testweb.add("/a/kaspersky-ban", page("US bans Kaspersky software", BAN, "2024-06-20T15:00:00+00:00"))
    testweb.add("/b/kaspersky-copy", page("Kaspersky banned in the US over security fears", BAN,
                                          "2024-06-20T16:00:00+00:00", "Subscribe to our newsletter today"))
    testweb.add("/a/huawei-phone", page("Huawei shows off a new folding phone", PHONE, "2024-06-18T09:00:00+08:00"))
    testweb.add("/feed.xml", rss(base, [("/a/kaspersky-ban", "US bans Kaspersky software"),
                                        ("/b/kaspersky-copy", "Kaspersky banned"),
                                        ("/a/huawei-phone", "Huawei phone")]),
                content_type="application/rss+xml")
    testweb.add("/broken.xml", "<rss><channel><item><title>oops", content_type="application/rss+xml", status=500)
    cfg = tmp_path / "sources.toml"
    cfg.write_text(LOCAL_PROFILE + f"""
[[source]]
key = "test-news"
kind = "feed"
url = "{base}/feed.xml"

[[source]]
key = "broken"
kind = "feed"
url = "{base}/broken.xml"
""")
    return cfg


def test_run_once_stores_articles_once(news_site: Path, db_url: str) -> None:
    config = load_config(news_site, env={})
    rt = Runtime(config, db_url)
    rt.open_db(auto_upgrade=True)
    summary = run_cycle(rt)
    by_key = {o.key: o for o in summary.outcomes}
    assert by_key["test-news"].status == "ok"
    assert by_key["test-news"].new_articles == 3
    assert by_key["broken"].status == "error"
    with rt.sessions() as s:
        arts = {a.url.rsplit("/", 1)[1]: a for a in s.scalars(select(ArticleRow))}
        assert set(arts) == {"kaspersky-ban", "kaspersky-copy", "huawei-phone"}
        first, copy = sorted([arts["kaspersky-ban"], arts["kaspersky-copy"]], key=lambda a: a.id)
        phone = arts["huawei-phone"]
        assert first.is_relevant and not phone.is_relevant
        assert copy.duplicate_of == first.id and first.duplicate_count == 1
        assert first.event_id is not None and copy.event_id == first.event_id and phone.event_id is None
        assert arts["kaspersky-ban"].published_at == datetime(2024, 6, 20, 15, tzinfo=UTC)
        ban = arts["kaspersky-ban"]
        assert s.scalar(select(func.count()).select_from(ArticleEntityRow)
                        .where(ArticleEntityRow.article_id == ban.id)) >= 2
        dates = {(d.date.isoformat(), d.role) for d in s.scalars(select(ArticleDateRow)
                                                                   .where(ArticleDateRow.article_id == ban.id))}
        assert ("2024-09-29", "compliance_deadline") in dates
        assert s.scalar(select(func.count()).select_from(EventRow)) == 1
        broken = s.scalar(select(SourceRow).where(SourceRow.key == "broken"))
        assert broken.consecutive_failures == 1 and broken.last_error
        statuses = sorted(s.scalars(select(FetchRow.status).where(FetchRow.target == "source")))
        assert statuses == ["error", "ok"]
    # a second cycle stores nothing new and fetches no article page again
    again = run_cycle(rt)
    assert {o.key: o.new_articles for o in again.outcomes}["test-news"] == 0
    with rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(ArticleRow)) == 3
        assert s.scalar(select(SourceRow.consecutive_failures).where(SourceRow.key == "broken")) == 2
    rt.close()


def test_banwatch_run_once_command(news_site: Path, tmp_path: Path, testweb) -> None:
    db = tmp_path / "cli.db"
    res = subprocess.run([str(Path(sys.executable).parent / "banwatch"), "--config", str(news_site), "--db",
                          f"sqlite:///{db}", "run", "--once"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "3 new articles" in res.stdout
    assert "broken" in res.stdout and "error" in res.stdout
    assert len(testweb.requests("/a/kaspersky-ban")) == 1


def test_pages_without_article_are_not_fetched_every_cycle(testweb, tmp_path: Path, db_url: str) -> None:
    base = testweb.url("").rstrip("/")
    links = "".join(f"<li><a href='/s/{i}'>Section {i}</a></li>" for i in range(40))
    testweb.add("/index", f"<html><body><ul>{links}</ul></body></html>")
    testweb.add("/gone", "", status=404)
    testweb.add("/feed.xml", rss(base, [("/index", "Index"), ("/gone", "Gone")]), content_type="application/rss+xml")
    cfg = tmp_path / "sources.toml"
    cfg.write_text(f'[settings]\nallow_private_networks = true\nper_host_delay = "0s"\nmax_retries = 0\n'
                   f'respect_robots = false\n[[source]]\nkey = "t"\nkind = "feed"\nurl = "{base}/feed.xml"\n')
    rt = Runtime(load_config(cfg, env={}), db_url)
    rt.open_db(auto_upgrade=True)
    for _ in range(4):
        testweb.add("/feed.xml", rss(base, [("/index", "Index"), ("/gone", "Gone")]) + " " * _,
                    content_type="application/rss+xml")  # a changed body, so the feed is parsed again
        run_cycle(rt)
    assert len(testweb.requests("/index")) == 1  # no article there: remembered
    assert len(testweb.requests("/gone")) == 3  # failures are retried a bounded number of times
    with rt.sessions() as s:
        statuses = sorted(s.scalars(select(FetchRow.status).where(FetchRow.target == "article")))
    assert statuses == ["error", "error", "error", "no_article"]
    rt.close()
