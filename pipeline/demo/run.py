"""``banwatch demo``: the whole pipeline, offline, against the sample news web, in well under a minute.

It writes a real profile (sources.toml) pointing at the local outlets, runs one cycle through
:func:`pipeline.cycle.run_cycle` (fetch, extract, enrich, dedup, stories, store), writes the day's
digest with :mod:`pipeline.digest`, and leaves everything in a work folder for the user to explore.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from pipeline.demo.site import SampleWeb

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExampleQuery:
    question: str
    sql: str


EXAMPLE_QUERIES = (
    ExampleQuery("Each story's timeline: events and the dates they announced",
                 "SELECT story_id, date, role, outlet, COALESCE(snippet, event_title) AS what\n"
                 "FROM v_story_timeline ORDER BY story_id, date, role"),
    ExampleQuery("Articles with their syndicated copies folded, and who carried them",
                 "SELECT day, copies, outlets, title FROM v_unique_articles\n"
                 "WHERE is_relevant ORDER BY day, article_id"),
    ExampleQuery("Every effective date or deadline announced for Kestrel Networks",
                 "SELECT DISTINCT d.date, d.role, a.title\n"
                 "FROM article_dates d\n"
                 "JOIN article_entities ae ON ae.article_id = d.article_id\n"
                 "JOIN entities e ON e.id = ae.entity_id\n"
                 "JOIN articles a ON a.id = d.article_id\n"
                 "WHERE e.key = 'demo_kestrel_networks'\n"
                 "  AND d.role IN ('effective_date', 'compliance_deadline', 'extension')\n"
                 "  AND a.duplicate_of IS NULL\n"
                 "ORDER BY d.date"),
)


def write_profile(workdir: Path, web: SampleWeb, db_url: str) -> Path:
    """A normal banwatch profile for the sample web (private addresses allowed: it is on 127.0.0.1)."""
    entities = workdir / "demo-entities.toml"
    entities.write_bytes(resources.files("pipeline.demo").joinpath("data/entities.toml").read_bytes())
    lines = [
        "# banwatch demo profile: the sample news web on 127.0.0.1 (written by `banwatch demo`).",
        "[settings]",
        f"database_url = {_toml_str(db_url)}",
        'timezone = "UTC"',
        f"output_dir = {_toml_str(str(workdir / 'digests'))}",
        'user_agent = "banwatch-demo/0.1"',
        "allow_private_networks = true     # the sample web runs on 127.0.0.1",
        "per_host_concurrency = 8          # every outlet shares the host 127.0.0.1",
        'per_host_delay = "0s"',
        "max_retries = 0                   # the broken feed fails fast",
        'connect_timeout = "5s"',
        'total_timeout = "20s"',
        'entities_file = "demo-entities.toml"  # the fictional companies and institutions',
        'report_failing_sources_after = "0s"  # the demo lasts seconds: list a failing feed at once',
        "",
        "[topic]",
        'vocabulary = "foreign-adversary-tech-bans"',
        "",
    ]
    for outlet in web.outlets():
        lines += [
            "[[source]]",
            f'key = "{outlet.key}"',
            f'name = "{outlet.name}"',
            f'kind = "{outlet.kind}"',
            f'url = "{web.source_url(outlet.key)}"',
            'interval = "30m"',
            "",
        ]
    path = workdir / "sources.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _toml_str(value: str) -> str:
    """A TOML basic string (JSON string escapes are valid TOML)."""
    return json.dumps(value, ensure_ascii=False)


def _workdir(workdir: Path | None) -> Path:
    if workdir is None:
        return Path(tempfile.mkdtemp(prefix="banwatch-demo-"))
    workdir = workdir.expanduser().resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    return workdir


def _write_digest(rt: Any, config: Any, day: date, workdir: Path) -> list[Path]:
    try:
        from pipeline.digest import generate_digest
        from pipeline.digest.service import write_files
    except ImportError:  # the digest stage is optional for the demo's other output
        return []
    outcome = generate_digest(config, rt.sessions, day, node="demo", env={})
    if outcome.files:
        return outcome.files
    # this database already had the day's digest (a second demo run with --db): write the fresh rendering
    return write_files(Path(config.settings.output_dir), day, outcome.renders)


def run_demo(console: Console, db_url: str | None = None, workdir: Path | None = None) -> int:
    """Run the demo; returns the exit code (0 when the pipeline stored the sample news).

    The sample web publishes its seven weeks of news item by item and banwatch runs one cycle after
    each publication, so articles arrive in the order a daemon polling the outlets would have seen
    them (and the story tracker sees the story unfold).
    """
    from pipeline.config import load_config
    from pipeline.runtime import Runtime
    from pipeline.store import describe
    from pipeline.views import print_stories

    work = _workdir(workdir)
    db = db_url or f"sqlite:///{work / 'demo.db'}"
    today = datetime.now(UTC).date()
    console.print(f"[bold]banwatch demo[/bold] — a fictional story of technology bans, served on 127.0.0.1. "
                  f"Work folder: {work}")
    with SampleWeb(today) as web:
        profile = write_profile(work, web, db)
        config = load_config(profile)
        rt = Runtime(config=config, db_url=db)
        try:
            rt.open_db(auto_upgrade=True)
            with rt.engine.connect() as conn:
                before = conn.execute(text("SELECT COUNT(*) FROM articles")).scalar() or 0
            if before:
                console.print(f"[yellow]note: {describe(db)} already holds {before} articles; the demo's "
                              "articles will be folded into any earlier demo run's as copies[/yellow]")
            for outlet in web.outlets():
                note = "  (its feed is broken: answers 500)" if outlet.broken else ""
                console.print(f"  {outlet.name:<24} {outlet.kind:<8} {web.source_url(outlet.key)}{note}")
            stored = _replay(rt, web, console)
        except BaseException:
            rt.close()
            raise
    try:
        digest_files = _write_digest(rt, config, today, work)
        console.print()
        print_stories(rt, console)
        _sources(rt, config, console)
        _examples(rt, console)
        _where(console, work, profile, db, digest_files, describe)
    finally:
        rt.close()
    if stored == 0:
        console.print("[red]the demo stored no articles: the pipeline did not work as expected[/red]")
        return 1
    return 0


def _replay(rt: Any, web: SampleWeb, console: Console) -> int:
    """One cycle after each publication of the sample web; returns the number of articles stored."""
    from pipeline.cycle import run_cycle

    moments = web.publication_times()
    console.print(f"\n[bold]Replaying the news[/bold] from {moments[0]:%Y-%m-%d} to {moments[-1]:%Y-%m-%d}: "
                  f"one `banwatch run --once` cycle after each of {len(moments)} publications")
    stored = 0
    for moment in moments:
        web.published_until = moment
        summary = run_cycle(rt)
        stored += summary.total("new_articles")
        failed = sorted(o.key for o in summary.outcomes if o.error)
        new, dups = summary.total("new_articles"), summary.total("duplicates")
        console.print(f"  {moment:%Y-%m-%d %H:%M}  {new:>2} new {'article' if new == 1 else 'articles'} "
                      f"({summary.total('relevant')} relevant, {dups} {'copy' if dups == 1 else 'copies'})"
                      + (f"  · failed: {', '.join(failed)}" if failed else ""), highlight=False)
    return stored


def _sources(rt: Any, config: Any, console: Console) -> None:
    from pipeline.health import source_status_rows

    console.print()
    table = Table(title="Sources", title_justify="left")
    for col in ("key", "status", "failures in a row", "articles", "last error"):
        table.add_column(col, overflow="fold")
    for r in source_status_rows(rt, config):
        table.add_row(r.key, r.last_status or "-", str(r.consecutive_failures), str(r.articles),
                      (r.last_error or "")[:100])
    console.print(table)


def _examples(rt: Any, console: Console) -> None:
    console.print("\n[bold]Three example queries[/bold] (the views and tables are in docs/schema.md)")
    with rt.engine.connect() as conn:
        for q in EXAMPLE_QUERIES:
            result = conn.execute(text(q.sql))
            cols = list(result.keys())
            found = result.fetchmany(12)
            table = Table(title=q.question, title_justify="left", show_lines=False)
            for c in cols:
                table.add_column(c, overflow="fold", max_width=60)
            for r in found:
                table.add_row(*(_cell(v) for v in r))
            console.print()
            console.print(q.sql, style="cyan", markup=False, highlight=False)
            console.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    text_value = " ".join(str(value).split())
    return text_value if len(text_value) <= 120 else text_value[:119] + "…"


def _where(console: Console, work: Path, profile: Path, db: str, digests: list[Path], describe: Any) -> None:
    console.print("\n[bold]Where everything is[/bold]")
    console.print(f"  profile   {profile}")
    console.print(f"  database  {describe(db)}")
    for p in digests:
        console.print(f"  digest    {p}")
    if not digests:
        console.print("  digest    (not written: the digest stage is not installed)")
    opt = f'--config "{profile}" --db "{db}"'
    console.print("\n[bold]Try next[/bold]")
    console.print(f"  banwatch {opt} stories", markup=False, highlight=False)
    console.print(f"  banwatch {opt} story 1", markup=False, highlight=False)
    console.print(f'  banwatch {opt} search "kestrel AND court"', markup=False, highlight=False)
    console.print(f"  banwatch {opt} export --format csv --out {work / 'articles.csv'}", markup=False,
                  highlight=False)
    if db.startswith("sqlite:///"):
        path = db.removeprefix("sqlite:///")
        console.print(f'  sqlite3 "{path}" "SELECT * FROM v_story_timeline"', markup=False, highlight=False)
        console.print(f'  datasette "{path}"   ·   duckdb -c "ATTACH \'{path}\' AS bw (TYPE sqlite); '
                      f'SELECT * FROM bw.v_unique_articles"', markup=False, highlight=False)
    if shutil.which("banwatch") is None:
        console.print("  (banwatch is not on PATH here: use python -m pipeline.cli)", style="dim")
