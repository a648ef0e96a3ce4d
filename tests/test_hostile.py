"""Hostile content end to end: local web -> run_cycle -> database -> digest (md, html, json, atom).

Titles and bodies carrying HTML and script, SQL-looking text, NUL bytes, 10 MB of text, 100,000
links, mixed scripts and right-to-left marks. They must be stored faithfully and rendered safely.

Decisions tested here:
* NUL characters are removed (not replaced) from every stored text field, on both backends:
  PostgreSQL text cannot hold them, and the two backends must store the same thing.
* Article text is stored up to pipeline.process.MAX_STORED_TEXT characters (2,000,000); a longer
  article is stored cut at that length.
* What came from the web is escaped in the HTML digest: no tag of its own survives.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html import escape
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from pipeline.config import load_config
from pipeline.cycle import run_cycle
from pipeline.digest import build_digest, feed_entries, render_atom, render_html, render_json, render_markdown
from pipeline.process import MAX_STORED_TEXT
from pipeline.runtime import Runtime
from pipeline.store.base import utcnow
from pipeline.store.models import ArticleRow
from tests.testweb import testweb_fixture  # noqa: F401

BASE = ("The Commerce Department banned sales of {who} software in the United States on Thursday, citing "
        "national security risks posed by the Russian government. The final determination takes effect on "
        "July 20, 2024, and {who} must stop providing updates to US customers by September 29, 2024. Commerce "
        "Secretary Gina Raimondo said Russia has shown it has the intent to exploit Russian companies. "
        "Customers who keep using the software will not face penalties, but officials urged them to switch "
        "before the deadline. The rule uses authority created by an executive order on supply chains. {tail}")

SCRIPT_TITLE = "<script>alert('title')</script> Kaspersky ban <img src=x onerror=alert(1)>"
SQL_TITLE = "Robert'); DROP TABLE articles;-- Kaspersky ban"
RTL_TITLE = "Huawei \u202bهواوي\u202c 华为 Хуавей \u200fban\u200e — ZTE"


def page(title: str, paras: list[str], *, raw_body: str = "", extra_head: str = "") -> str:
    body = "".join(f"<p>{escape(p)}</p>" for p in paras)
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)}</title>"
            f'<meta property="article:published_time" content="2024-06-20T15:00:00+00:00">{extra_head}</head>'
            f"<body><nav><a href='/'>Home</a></nav><article><h1>{escape(title)}</h1>{body}{raw_body}</article>"
            "<footer>Test News</footer></body></html>")


def paras(who: str, tail: str) -> list[str]:
    return [s.strip() + "." for s in BASE.format(who=who, tail=tail).split(". ") if s.strip()]


@pytest.fixture
def hostile_site(testweb, tmp_path: Path):
    base = testweb.url("").rstrip("/")
    pages: dict[str, dict] = {}

    def add(path: str, html: str | bytes, **expect) -> None:
        testweb.add(path, html)
        pages[path] = expect

    add("/script", page(SCRIPT_TITLE, paras("Kaspersky", "<script>alert('body')</script> and "
                                            "<iframe src=javascript:alert(2)></iframe> as text.")),
        title=SCRIPT_TITLE)
    add("/sql", page(SQL_TITLE, paras("Kaspersky Lab", "'; DELETE FROM sources WHERE '1'='1 -- and "
                                      "UNION SELECT password FROM users; as text.")), title=SQL_TITLE)
    nul_html = page("Kaspersky NUL ban", paras("Kaspersky\x00 Lab", "The agency said that Nul\x00bytes\x00 "
                                                "everywhere in this page are not content but noise."))
    add("/nul", nul_html.encode("utf-8"), title="Kaspersky NUL ban")
    add("/rtl", page(RTL_TITLE, paras("Huawei \u202bهواوي\u202c 华为", "Смешанные письмена \u200f and "
                                      "\u202eright-to-left override\u202c text.")), title=RTL_TITLE)
    # ~10 MB of text in 400 long paragraphs (11,000 short ones take extract_article minutes: see
    # test_many_paragraphs_page_is_bounded)
    filler = "Kaspersky equipment was banned from federal networks under the rule. " * 330
    huge = paras("Kaspersky", "") + [f"Paragraph {i}: {filler}" for i in range(400)]
    add("/huge", page("Kaspersky ban, the long version", huge), title="Kaspersky ban, the long version",
        first=huge[0])
    links = "".join(f"<a href='/l{i}'>link {i}</a> " for i in range(100_000))
    add("/links", page("Kaspersky ban with links", paras("Kaspersky AO", "Links follow."),
                       raw_body=f"<div class=related>{links}</div>"), title="Kaspersky ban with links")
    items = [{"id": f"{base}{p}\u0000", "url": f"{base}{p}", "title": f"feed title{chr(0)} {p}"} for p in pages]
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "Hostile\u0000 News", "items": items}
    testweb.add("/feed.json", json.dumps(feed), content_type="application/feed+json")
    cfg = tmp_path / "sources.toml"
    cfg.write_text(f"""
[settings]
allow_private_networks = true
per_host_delay = "0s"
per_host_concurrency = 4
max_retries = 0
respect_robots = false
max_body_size = "12MiB"
total_timeout = "120s"
output_dir = "{tmp_path / 'digests'}"

[topic]
name = "Foreign-adversary technology bans"
vocabulary = "foreign-adversary-tech-bans"
threshold = 0.5

[[source]]
key = "hostile"
kind = "feed"
url = "{base}/feed.json"
""")
    return cfg, base, pages


@pytest.mark.timeout(300)
def test_hostile_content_end_to_end(hostile_site, db_url: str) -> None:
    cfg, base, pages = hostile_site
    rt = Runtime(load_config(cfg, env={}), db_url)
    rt.open_db(auto_upgrade=True)
    summary = run_cycle(rt)
    assert summary.outcomes[0].status == "ok", summary.render()
    with rt.sessions() as s:
        rows = {r.url.removeprefix(base): r for r in s.scalars(select(ArticleRow))}
        assert set(rows) == set(pages), summary.render()
        # stored faithfully
        for path, expect in pages.items():
            r = rows[path]
            assert r.title == expect["title"], (path, r.title)
            for value in (r.title, r.text, r.guid, r.url, r.description, r.site_name):
                assert value is None or "\x00" not in value
        assert "<script>alert('body')</script>" in rows["/script"].text
        assert "'; DELETE FROM sources WHERE '1'='1 --" in rows["/sql"].text
        assert "Kaspersky Lab" in rows["/nul"].text and "Nulbytes everywhere" in rows["/nul"].text
        assert rows["/nul"].guid == f"{base}/nul"  # the NUL of the feed's id is removed too
        assert "\u202eright-to-left override\u202c" in rows["/rtl"].text and "Смешанные" in rows["/rtl"].text
        huge = rows["/huge"]
        assert len(huge.text) == MAX_STORED_TEXT and huge.text.startswith(pages["/huge"]["first"])
        links = rows["/links"]
        assert "executive order on supply chains" in links.text and "link 99999" not in links.text
        # the SQL-looking text did nothing to the database
        assert s.scalar(text("SELECT count(*) FROM sources")) == 1
        assert s.scalar(select(func.count()).select_from(ArticleRow)) == len(pages)
        # rendered safely, in every format
        day = utcnow().date()
        digest = build_digest(s, day, "UTC")
        html_out, md_out, json_out = render_html(digest), render_markdown(digest), render_json(digest)
        atom_out = render_atom(feed_entries(s, upto=day))
    assert "<script" not in html_out.lower() and "<iframe" not in html_out.lower()
    assert not re.search(r"<[^>]*\sonerror\s*=", html_out, re.I)
    assert "&lt;script&gt;" in html_out  # shown as text, not dropped
    assert "\x00" not in html_out + md_out + json_out + atom_out
    # raw HTML in Markdown runs when the Markdown is rendered: every "<" from the web must be escaped
    assert not re.search(r"(?<!\\)<\s*/?\s*(script|img|iframe)", md_out, re.I), md_out
    data = json.loads(json_out)
    assert SCRIPT_TITLE in json.dumps(data, ensure_ascii=False)
    root = ET.fromstring(atom_out.encode("utf-8"))  # well-formed XML whatever the titles hold
    assert root.tag == "{http://www.w3.org/2005/Atom}feed"
    assert "<script" not in "".join(e.text or "" for e in root.iter() if e.get("type") == "xhtml").lower()
    rt.close()


@pytest.mark.timeout(60)
def test_many_paragraphs_page_is_bounded() -> None:
    """A 9 MB page of 11,000 ordinary paragraphs (within max_body_size) must extract in reasonable time,
    keeping every paragraph of the part that is parsed (the first MAX_CHARS characters).

    The check for repeated copies of the article compared every long block with every block taken before
    it (~37 s of CPU for this page, in the event loop); it now looks blocks up by key.
    """
    from pipeline.extract import extract_article
    from pipeline.extract.core import MAX_CHARS

    filler = "Kaspersky equipment was banned from federal networks under the rule. " * 12
    html = page("Kaspersky ban", [f"Paragraph {i}: {filler}" for i in range(11_000)])
    whole = html[:MAX_CHARS].count("</p>")  # and the paragraph cut at MAX_CHARS
    assert extract_article(html, "http://example.com/a").text.count("Paragraph ") == whole + 1
