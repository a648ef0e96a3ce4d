"""``banwatch demo``: the sample news web, and the whole pipeline run against it offline."""

from __future__ import annotations

import contextlib
import io
import socket
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import feedparser
import httpx
import pytest
from rich.console import Console
from sqlalchemy import text

from pipeline.demo import OUTLETS, SampleWeb, load_pages, run_demo
from pipeline.store import make_engine

TODAY = date(2026, 3, 10)


def test_pages_have_relative_dates_and_copies() -> None:
    pages = load_pages(TODAY)
    assert len({p.path for p in pages if p.outlet == "harbour"}) == len([p for p in pages if p.outlet == "harbour"])
    first = next(p for p in pages if p.path.endswith("norvania-moves-to-ban-kestrel-routers.html"))
    assert first.published == datetime(2026, 1, 19, 8, tzinfo=UTC)  # 50 days before
    assert "on 19 January 2026 proposed a ban" in first.paragraphs[0]
    assert not any("{date:" in para for p in pages for para in p.paragraphs)
    copies = [p for p in pages if p.copy_of]
    assert len(copies) == 3 and all(c.outlet != "metro" for c in copies)
    for c in copies:  # a syndicated copy carries the original's text under another outlet and URL
        original = next(p for p in pages if p.path == c.copy_of)
        assert c.paragraphs == original.paragraphs and c.outlet != original.outlet


def test_sample_web_serves_feeds_sitemap_pages_and_a_broken_feed() -> None:
    with SampleWeb(TODAY) as web, httpx.Client(timeout=5) as client:
        rss = client.get(web.source_url("harbour"))
        assert rss.status_code == 200 and rss.headers["content-type"].startswith("application/rss+xml")
        feed = feedparser.parse(rss.content)
        assert not feed.bozo and len(feed.entries) == 6
        atom = feedparser.parse(client.get(web.source_url("ledger")).content)
        assert not atom.bozo and atom.version.startswith("atom") and len(atom.entries) == 5
        sitemap = client.get(web.source_url("techwire")).text
        assert sitemap.count("<loc>") == 5 and "news:publication_date" in sitemap
        assert client.get(web.source_url("metro")).status_code == 500
        page = client.get(feed.entries[0].link)
        assert page.status_code == 200
        assert '<meta property="og:site_name" content="The Harbour Times">' in page.text
        assert '"@type": "NewsArticle"' in page.text
        assert client.get(web.sites["harbour"].base + "/nope").status_code == 404
        assert "Disallow" in client.get(web.sites["harbour"].base + "/robots.txt").text
    assert {o.key for o in OUTLETS} == {"harbour", "ledger", "techwire", "metro"}


def _demo_results(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    with engine.connect() as conn:
        q = lambda sql: conn.execute(text(sql)).all()  # noqa: E731
        out = {
            "articles": q("SELECT COUNT(*) FROM articles")[0][0],
            "copies": q("SELECT COUNT(*) FROM articles WHERE duplicate_of IS NOT NULL")[0][0],
            "folded": q("SELECT copies, outlets FROM v_unique_articles WHERE copies > 1"),
            "irrelevant": {r[0] for r in q("SELECT url FROM articles WHERE NOT is_relevant")},
            "relevant_without_event": q("SELECT COUNT(*) FROM articles WHERE is_relevant AND duplicate_of IS NULL "
                                        "AND event_id IS NULL")[0][0],
            "stories": q("SELECT story_id, COUNT(DISTINCT event_id) FROM v_story_timeline GROUP BY story_id"),
            "dated_roles": {r[0] for r in q("SELECT DISTINCT role FROM v_story_timeline")},
            "metro": q("SELECT s.last_status, s.consecutive_failures, f.http_status FROM sources s "
                       "JOIN fetches f ON f.source_id = s.id WHERE s.key = 'metro'"),
            "search": q("SELECT COUNT(*) FROM articles")[0][0],
        }
    engine.dispose()
    return out


def _check_demo(results: dict[str, Any], work: Path, output: str) -> None:
    assert results["articles"] == 16  # 13 articles + 3 syndicated copies from the three working outlets
    assert results["copies"] == 3
    assert sorted(results["folded"]) == sorted(results["folded"]) and len(results["folded"]) == 3
    assert all(copies == 2 and ", " in outlets for copies, outlets in results["folded"])
    # the same companies in unrelated news (a product launch, earnings, security research) and local news
    assert {u.rsplit("/", 1)[-1] for u in results["irrelevant"]} == {
        "kestrel-launches-wifi-7-mesh-router.html", "kestrel-networks-reports-higher-quarterly-revenue.html",
        "harbour-ferry-adds-winter-sailings.html", "volkhov-researchers-uncover-pharmacy-ransomware-campaign.html"}
    assert results["relevant_without_event"] == 0
    # a developing story with a timeline of several events (the router ban, its rule, the court case, ...)
    assert len(results["stories"]) >= 2 and max(n for _, n in results["stories"]) >= 2
    assert {"effective_date", "compliance_deadline"} <= results["dated_roles"]
    rounds = len(SampleWeb(TODAY).publication_times())  # one cycle per publication, each a 500
    assert results["metro"] == [("error", rounds, 500)] * rounds
    digests = sorted((work / "digests").glob("digest-*.md"))
    assert len(digests) == 1
    md = digests[0].read_text(encoding="utf-8")
    assert "Kestrel" in md and "Timeline" in md and "3 copies" in md
    for needle in ("Replaying the news", "failed: metro", "HTTP 500", "Developing stories", "v_story_timeline",
                   "v_unique_articles", "Where everything is", str(digests[0])):
        assert needle in output, needle


@dataclass
class DemoRun:
    work: Path
    code: int | None
    output: str
    connected: list[Any]


@pytest.fixture(scope="module")
def cli_demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """`banwatch demo --dir WORK` once, recording every address the process connects to."""
    from pipeline.cli import main

    work = tmp_path_factory.mktemp("demo")
    connected: list[Any] = []
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        connected.append(address)
        return real_connect(self, address)

    buf = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(buf):
        mp.setattr(socket.socket, "connect", guarded)
        try:
            code = main(["demo", "--dir", str(work)])
        except SystemExit as exc:
            code = exc.code  # type: ignore[assignment]
    return DemoRun(work, code, buf.getvalue(), connected)


def test_demo_runs_offline_on_a_temporary_sqlite_database(cli_demo: DemoRun) -> None:
    assert cli_demo.code in (0, None)
    _check_demo(_demo_results(f"sqlite:///{cli_demo.work / 'demo.db'}"), cli_demo.work, cli_demo.output)
    # nothing left the machine: every connection went to the sample web on 127.0.0.1
    assert cli_demo.connected and all(addr[0] == "127.0.0.1" for addr in cli_demo.connected)
    assert (cli_demo.work / "sources.toml").is_file()


def test_demo_on_a_given_database(db_url: str, tmp_path: Path) -> None:
    console = Console(record=True, width=200, color_system=None)
    assert run_demo(console, db_url=db_url, workdir=tmp_path) == 0
    _check_demo(_demo_results(db_url), tmp_path, console.export_text())


def test_demo_digest_reports_the_broken_feed(cli_demo: DemoRun) -> None:
    md = next((cli_demo.work / "digests").glob("digest-*.md")).read_text(encoding="utf-8")
    assert "Metro Bulletin" in md
