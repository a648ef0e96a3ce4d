"""The daily digest, built from a hand-made database state on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from sqlalchemy import func, select

from pipeline.config import Config, Settings
from pipeline.digest import (
    build_digest,
    day_window,
    generate_digest,
    render_atom,
    render_digest_command,
    render_html,
    render_json,
    render_markdown,
)
from pipeline.digest.service import feed_entries
from pipeline.runtime import Runtime
from pipeline.store import make_engine, session_factory
from pipeline.store.models import DigestRow
from tests.digest_data import DAY, TZ, WINDOW_END, WINDOW_START, populate, populate_hostile

NOW = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def sessions(db_url: str):
    engine = make_engine(db_url)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def ids(sessions):
    with sessions() as s, s.begin():
        return populate(s)


def _config(tmp_path: Path) -> Config:
    settings = Settings(timezone=TZ, output_dir=str(tmp_path / "out"))
    return Config(path=tmp_path / "sources.toml", settings=settings)


def test_day_window_follows_the_time_zone():
    from zoneinfo import ZoneInfo

    assert day_window(DAY, ZoneInfo(TZ)) == (WINDOW_START, WINDOW_END)
    start, end = day_window(date(2026, 3, 29), ZoneInfo(TZ))  # DST starts: a 23-hour day
    assert (end - start).total_seconds() == 23 * 3600


def test_build_orders_developing_then_new_then_single(sessions, ids):
    with sessions() as s:
        d = build_digest(s, DAY, TZ, now=NOW)
    c = d.counts
    # in the window: orig, copy, same_outlet, dji_a (00:30 local), single, irrelevant; not "tomorrow"
    assert (c.articles, c.relevant, c.duplicates) == (6, 5, 1)
    assert c.events == 2 and c.stories_updated == 1 and c.stories_new == 1
    assert [s.story_id for s in d.developing] == [ids.stories["huawei"]]
    assert [s.story_id for s in d.new_stories] == [ids.stories["dji"]]
    story = d.developing[0]
    assert story.what_is_new == ["FCC sets deadline for Huawei removal"]
    assert [e.event_id for e in story.timeline] == [ids.events["old"], ids.events["new"]]
    old, new = story.timeline
    assert not old.is_new and new.is_new
    assert new.link is not None and new.link.url == "https://wire.example/a/2"
    assert [lk.outlet for lk in new.also_reported_by] == ["Daily Paper"]  # one link per outlet, not the first's
    assert [(x.role, x.date, x.precision) for x in new.dates] == [
        ("effective_date", date(2027, 1, 1), "day"), ("compliance_deadline", date(2027, 3, 1), "month")]
    assert [e.name for e in story.entities] == ["Huawei", "Federal Communications Commission"]
    assert story.outlets == ["Daily Paper", "Wire Service"]
    assert all(a.link.title != "Tomorrow's news" for a in d.articles)
    assert [a.article_id for a in d.articles] == [ids.articles["single"]]
    assert [p.key for p in d.source_problems] == ["broken"]  # flaky fails for hours only
    assert d.source_problems[0].consecutive_failures == 2 and c.failing_sources == 1


def test_a_day_without_news(sessions, ids):
    with sessions() as s:
        d = build_digest(s, date(2026, 10, 1), TZ, now=NOW)
    assert d.is_empty and d.counts.articles == 0
    assert "Nothing new" in render_markdown(d) and "Nothing new" in render_html(d)


def test_renderings_carry_the_content(sessions, ids):
    with sessions() as s:
        d = build_digest(s, DAY, TZ, now=NOW)
    md, page, doc = render_markdown(d), render_html(d), json.loads(render_json(d))
    for text in (md, page):
        assert text.index("Developing stories") < text.index("New stories") < text.index("Other relevant")
        assert "FCC sets deadline for Huawei removal" in text and "Broken Feed" in text
        assert "2027-03" in text and "2027-01-01" in text
    assert "[Daily Paper](<https://paper.example/huawei-deadline>)" in md
    assert 'href="https://paper.example/huawei-deadline"' in page
    assert doc["format"] == "banwatch-digest" and doc["day"] == "2026-11-20"
    assert doc["developing"][0]["timeline"][1]["also_reported_by"][0]["outlet"] == "Daily Paper"
    assert doc["counts"]["articles"] == 6


def test_hostile_text_is_escaped(sessions):
    with sessions() as s, s.begin():
        populate_hostile(s)
    with sessions() as s:
        d = build_digest(s, DAY, TZ, now=NOW)
    page, md = render_html(d), render_markdown(d)
    lowered = page.lower()
    assert "<script" not in lowered and "<iframe" not in lowered and "<svg" not in lowered
    assert "<img" not in lowered and "<b onmouseover" not in lowered
    assert "javascript:" not in lowered.replace("javascript:fetch", "")  # only as escaped text, never a link
    assert 'href="javascript' not in lowered and 'href="data:' not in lowered
    assert "&lt;script&gt;" in page
    assert "\x01" not in page and "\x07" not in page
    assert max(len(line) for line in page.splitlines()) < 5000  # the 20 kB title is clipped
    assert "](<javascript" not in md.lower() and "](<data:" not in md.lower()
    assert "\\<script\\>" in md
    ET.fromstring(render_atom([*_entries(d)]).encode())  # still well-formed XML


def _entries(d):
    from pipeline.digest.formats import FeedEntry

    yield FeedEntry(d.day, d.generated_at, d.title, "summary", render_html(d))


def test_stored_once_across_concurrent_nodes(sessions, ids, tmp_path):
    config = _config(tmp_path)
    results = []
    barrier = threading.Barrier(4)

    def node(i: int) -> None:
        barrier.wait()
        results.append(generate_digest(config, sessions, DAY, node=f"node{i}", env={}, now=NOW))

    threads = [threading.Thread(target=node, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.created for r in results) == [False, False, False, True], [(r.created, r.files) for r in results]
    with sessions() as s:
        rows = list(s.scalars(select(DigestRow)))
    assert len(rows) == 1 and rows[0].day == DAY and rows[0].article_count == 6
    assert rows[0].node == next(f"node{i}" for i, r in enumerate(results) if r.created) or rows[0].node
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        "atom.xml", "digest-2026-11-20.html", "digest-2026-11-20.json", "digest-2026-11-20.md"]
    assert "Huawei" in (out / "digest-2026-11-20.md").read_text()


def test_atom_feed_lists_stored_digests(sessions, ids, tmp_path):
    config = _config(tmp_path)
    for day in (date(2026, 11, 19), DAY):
        generate_digest(config, sessions, day, env={}, now=NOW)
    with sessions() as s:
        feed = render_atom(feed_entries(s))
    root = ET.fromstring(feed.encode())
    entries = root.findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}id").text for e in entries] == [
        "urn:banwatch:digests:2026-11-20", "urn:banwatch:digests:2026-11-19"]
    content = entries[0].find(f"{ATOM}content")
    assert content.get("type") == "html" and "FCC sets deadline" in content.text
    assert "<html" not in content.text  # the body fragment, not a whole page
    assert entries[0].find(f"{ATOM}link").get("href") == "digest-2026-11-20.html"


def test_render_command_renders_a_past_day_again(db_url, ids, tmp_path):
    rt = Runtime(config=_config(tmp_path), db_url=db_url)
    try:
        first = render_digest_command(rt, DAY, "md")
        again = render_digest_command(rt, DAY, "md")
        assert "FCC sets deadline" in first
        assert first.split("_Generated")[0] == again.split("_Generated")[0]
        html = render_digest_command(rt, DAY, "html")
        assert html.startswith("<!doctype html>")
        assert json.loads(render_digest_command(rt, DAY, "json"))["day"] == "2026-11-20"
        atom = ET.fromstring(render_digest_command(rt, DAY, "atom").encode())
        assert len(atom.findall(f"{ATOM}entry")) == 1
        with rt.sessions() as s:
            assert s.scalar(select(func.count()).select_from(DigestRow)) == 1
    finally:
        rt.close()


def test_cli_digest_command(db_url, ids, tmp_path, capsys):
    from pipeline.cli import main

    cfg = tmp_path / "sources.toml"
    cfg.write_text(f'[settings]\ntimezone = "{TZ}"\noutput_dir = "{tmp_path / "out"}"\n')
    out = tmp_path / "d.html"
    try:
        main(["--config", str(cfg), "--db", db_url, "digest", "--date", "2026-11-20", "--format", "html",
              "--out", str(out)])
    except SystemExit as exc:
        assert exc.code in (0, None)
    assert "FCC sets deadline for Huawei removal" in out.read_text()
    assert (tmp_path / "out" / "digest-2026-11-20.md").exists()
