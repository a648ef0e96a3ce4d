"""The ``banwatch`` command: a thin shell over the library functions.

Exit codes: 0 success, 1 a failure of the run, 2 bad usage or an invalid config.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from pipeline.config import Config, load_config
from pipeline.errors import BanwatchError, ConfigError, NotBuiltYet, UsageError
from pipeline.logs import setup_logging
from pipeline.runtime import Runtime

app = typer.Typer(
    name="banwatch",
    help="Monitor the news for foreign-adversary technology bans: fetch, extract, enrich, "
    "deduplicate, track stories and write a daily digest.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
db_app = typer.Typer(help="Database schema management.", no_args_is_help=True)
sources_app = typer.Typer(help="Check the configuration and the health of each source.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(sources_app, name="sources")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


@dataclass
class Globals:
    config_path: str | None
    db: str | None
    log_format: str | None
    verbose: bool

    def config(self) -> Config:
        return load_config(self.config_path)

    def runtime(self, config: Config | None = None) -> Runtime:
        config = config or self.config()
        return Runtime(config=config, db_url=config.database_url(self.db))

    def open_runtime(self, config: Config | None = None) -> Runtime:
        """The runtime with its database open (and migrated to head), for commands that read or write it."""
        rt = self.runtime(config)
        rt.open_db(auto_upgrade=True)
        return rt

    def logging(self, config: Config | None = None) -> None:
        fmt = self.log_format or (config.settings.log_format if config else "text")
        setup_logging(fmt, logging.DEBUG if self.verbose else logging.INFO)


def _globals(ctx: typer.Context) -> Globals:
    return ctx.find_root().obj


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Annotated[str | None, typer.Option("--config", envvar="BANWATCH_CONFIG", metavar="PATH",
                                               help="The profile to use [default: ./sources.toml].")] = None,
    db: Annotated[str | None, typer.Option("--db", envvar="BANWATCH_DB", metavar="URL",
                                           help="Database URL [default: settings.database_url, "
                                                "else sqlite:///banwatch.db].")] = None,
    log_format: Annotated[str | None, typer.Option("--log-format", help="Log lines as 'text' (key=value) "
                                                   "or 'json' [default: settings.log_format].")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    if log_format not in (None, "text", "json"):
        raise UsageError(f"--log-format: expected text or json, got {log_format!r}")
    ctx.obj = Globals(config, db, log_format, verbose)


# ---------------------------------------------------------------- db

@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Apply the schema migrations (Alembic) to the database.

    Example: banwatch --db postgresql://postgres@localhost/banwatch db upgrade
    """
    from pipeline.store import check_connection, describe, upgrade
    from pipeline.store.migrate import current_revision, head_revision

    g = _globals(ctx)
    rt = g.runtime(_config_or_default(g))
    check_connection(rt.engine)
    before = current_revision(rt.engine)
    upgrade(rt.engine)
    after = head_revision(rt.engine)
    out.print(f"{describe(rt.engine.url)}: schema {before or 'empty'} -> {after}")


@db_app.command("current")
def db_current(ctx: typer.Context) -> None:
    """Print the schema revision of the database and the newest one this version knows."""
    from pipeline.store import check_connection
    from pipeline.store.migrate import current_revision, head_revision

    g = _globals(ctx)
    rt = g.runtime(_config_or_default(g))
    check_connection(rt.engine)
    out.print(f"current: {current_revision(rt.engine) or 'none'}  head: {head_revision(rt.engine)}")


def _config_or_default(g: Globals) -> Config:
    """Database commands work without a config file when --db is given."""
    try:
        return g.config()
    except ConfigError:
        if g.db and not g.config_path:
            return Config(path=None)
        raise


# ---------------------------------------------------------------- run / daemon

@app.command()
def run(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="Run one full cycle over every enabled source, then exit.")]
    = False,
    source: Annotated[list[str] | None, typer.Option("--source", "-s", metavar="KEY",
                                                     help="Only this source (repeatable).")] = None,
) -> None:
    """Run one full cycle (fetch, extract, enrich, dedup, stories, store) and print a summary.

    Example: banwatch run --once
    """
    if not once:
        raise UsageError("run needs --once (use `banwatch daemon` to run on the schedule)")
    g = _globals(ctx)
    config = g.config()
    g.logging(config)
    from pipeline.cycle import run_cycle, settle_heap

    if source:
        unknown = [k for k in source if config.source(k) is None]
        if unknown:
            raise UsageError(f"unknown source key(s): {', '.join(unknown)}")
    rt = g.open_runtime(config)
    settle_heap()
    summary = run_cycle(rt, only=source or None)
    out.print(summary.render())
    if summary.failed_everything:
        raise typer.Exit(1)


@app.command()
def daemon(
    ctx: typer.Context,
    health_port: Annotated[int | None, typer.Option("--health-port", metavar="N",
                                                    help="Port of /healthz and /metrics "
                                                         "[default: settings.health_port].")] = None,
) -> None:
    """Run forever on the schedule; serve /healthz and /metrics; SIGTERM/SIGINT stop it cleanly.

    Example: banwatch daemon --health-port 8087
    """
    try:
        from pipeline.daemon import run_daemon
    except ImportError:
        raise NotBuiltYet("the daemon is not built yet (issue 7)") from None
    g = _globals(ctx)
    config = g.config()
    g.logging(config)
    rt = g.open_runtime(config)
    raise typer.Exit(run_daemon(rt, health_port=health_port))


# ---------------------------------------------------------------- digest

@app.command()
def digest(
    ctx: typer.Context,
    day: Annotated[str | None, typer.Option("--date", metavar="YYYY-MM-DD",
                                            help="The day [default: yesterday in the configured timezone].")]
    = None,
    fmt: Annotated[str, typer.Option("--format", help="md, html, json or atom.")] = "md",
    out_path: Annotated[Path | None, typer.Option("--out", metavar="PATH",
                                                  help="Write here instead of standard output.")] = None,
) -> None:
    """Render the digest of a day from the database (and store it).

    Example: banwatch digest --date 2026-11-26 --format html --out digest.html
    """
    if fmt not in ("md", "html", "json", "atom"):
        raise UsageError(f"--format: expected md, html, json or atom, got {fmt!r}")
    the_day = _parse_day(day, "--date") if day else None
    try:
        from pipeline.digest import render_digest_command
    except ImportError:
        raise NotBuiltYet("the digest is not built yet (issue 7)") from None
    g = _globals(ctx)
    config = g.config()
    rt = g.open_runtime(config)
    text_out = render_digest_command(rt, the_day, fmt)
    _emit(text_out, out_path)


def _emit(text_out: str, out_path: Path | None) -> None:
    if out_path is None:
        sys.stdout.write(text_out if text_out.endswith("\n") else text_out + "\n")
    else:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(text_out, encoding="utf-8")
        err.print(f"wrote {out_path}")


def _parse_day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option}: expected a date like 2026-11-26, got {value!r}") from None


def _since(value: str | None) -> date | None:
    """The ``--since`` option as a date (None when not given)."""
    return _parse_day(value, "--since") if value else None


# ---------------------------------------------------------------- extract

@app.command()
def extract(
    file_or_url: Annotated[str, typer.Argument(metavar="FILE_OR_URL", help="An HTML file, '-' for stdin, "
                                               "or an http(s) URL to fetch.")],
    url: Annotated[str | None, typer.Option("--url", help="The page's URL (for relative links and "
                                            "URL dates) when reading a file.")] = None,
    selector: Annotated[str | None, typer.Option("--selector", help="CSS selector of the article body.")]
    = None,
) -> None:
    """Print the extraction of one page as JSON.

    Example: banwatch extract page.html --url https://example.com/2024/06/20/kaspersky-ban
    """
    try:
        from pipeline.extract import extract_article
    except ImportError:
        raise NotBuiltYet("extraction is not built yet (issue 4)") from None
    if file_or_url.startswith(("http://", "https://")):
        html, page_url = _fetch_one(file_or_url), file_or_url
    elif file_or_url == "-":
        html, page_url = sys.stdin.buffer.read(), url or "about:blank"
    else:
        path = Path(file_or_url)
        try:
            html = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"{path}: {exc.strerror}") from None
        if path.suffix == ".gz":
            import gzip

            html = gzip.decompress(html)
        page_url = url or path.resolve().as_uri()
    result = extract_article(html, page_url, body_selector=selector)
    sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n")


def _fetch_one(url: str) -> bytes:
    import asyncio

    from pipeline.config import Settings
    from pipeline.fetch import Fetcher, FetchError

    async def go() -> bytes:
        async with Fetcher(Settings()) as f:
            return (await f.fetch_page(url)).body

    try:
        return asyncio.run(go())
    except FetchError as exc:
        raise BanwatchError(f"{url}: {exc}") from None


# ---------------------------------------------------------------- sources

@sources_app.command("check")
def sources_check(ctx: typer.Context) -> None:
    """Validate the configuration and list the sources it defines.

    Example: banwatch --config sources.toml sources check
    """
    g = _globals(ctx)
    config = g.config()
    if config.topic is not None:
        from pipeline.enrich import load_topic

        load_topic(dict(config.topic), config.base_dir)
    enabled = len(config.enabled_sources)
    out.print(f"{config.path}: ok — {len(config.sources)} sources ({enabled} enabled, "
              f"{len(config.sources) - enabled} disabled)")


@sources_app.command("status")
def sources_status(ctx: typer.Context) -> None:
    """Show each source's health: last fetch, last status, failures in a row, next fetch.

    Example: banwatch sources status
    """
    from pipeline.health import source_status_rows

    g = _globals(ctx)
    config = g.config()
    rt = g.open_runtime(config)
    rows = source_status_rows(rt, config)
    table = Table(title="Sources", show_lines=False)
    for col in ("key", "kind", "enabled", "last fetch", "status", "failures", "last success", "next fetch",
                "articles", "error"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r.key, r.kind, "yes" if r.enabled else "no", _when(r.last_fetch_at), r.last_status or "-",
                      str(r.consecutive_failures), _when(r.last_success_at), _when(r.next_fetch_at),
                      str(r.articles), (r.last_error or "")[:120])
    out.print(table)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


# ---------------------------------------------------------------- stories

@app.command()
def stories(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option("--since", metavar="DATE", help="Only stories updated since.")]
    = None,
    all_: Annotated[bool, typer.Option("--all", help="Include dormant stories.")] = False,
) -> None:
    """List developing stories, most recently updated first.

    Example: banwatch stories --since 2026-11-01
    """
    from pipeline.views import print_stories

    rt = _globals(ctx).open_runtime()
    print_stories(rt, out, since=_since(since), include_dormant=all_)


@app.command()
def story(ctx: typer.Context, story_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """Print one story's timeline: its events in date order with their dates and outlets.

    Example: banwatch story 12
    """
    from pipeline.views import print_story

    rt = _globals(ctx).open_runtime()
    print_story(rt, out, story_id)


# ---------------------------------------------------------------- export / search / demo

@app.command()
def export(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="csv or jsonl.")] = "jsonl",
    since: Annotated[str | None, typer.Option("--since", metavar="DATE")] = None,
    relevant_only: Annotated[bool, typer.Option("--relevant-only", help="Only articles judged relevant.")]
    = False,
    out_path: Annotated[Path | None, typer.Option("--out", metavar="PATH", help="Output file.")] = None,
) -> None:
    """Export articles with their entities, typed dates, event and story.

    Example: banwatch export --format csv --since 2026-01-01 --out articles.csv
    """
    if fmt not in ("csv", "jsonl"):
        raise UsageError(f"--format: expected csv or jsonl, got {fmt!r}")
    if out_path is None:
        raise UsageError("--out PATH is required")
    try:
        from pipeline.export import export_articles
    except ImportError:
        raise NotBuiltYet("export is not built yet (issue 8)") from None
    rt = _globals(ctx).open_runtime()
    n = export_articles(rt, fmt=fmt, out=out_path, since=_since(since),
                        relevant_only=relevant_only, progress=sys.stderr.isatty())
    err.print(f"exported {n} articles to {out_path}")


@app.command()
def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(metavar="QUERY")],
    since: Annotated[str | None, typer.Option("--since", metavar="DATE")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many hits.")] = 20,
) -> None:
    """Full-text search over stored articles (title and text).

    Example: banwatch search "kaspersky AND update" --since 2024-06-01
    """
    try:
        from pipeline.search import print_search
    except ImportError:
        raise NotBuiltYet("search is not built yet (issue 8)") from None
    rt = _globals(ctx).open_runtime()
    print_search(rt, out, query, since=_since(since), limit=limit)


@app.command()
def demo(
    ctx: typer.Context,
    keep: Annotated[Path | None, typer.Option("--dir", help="Work folder to keep [default: a temporary one].")]
    = None,
) -> None:
    """Run the whole pipeline offline against a bundled sample news site and show the results.

    Example: banwatch demo
    """
    try:
        from pipeline.demo import run_demo
    except ImportError:
        raise NotBuiltYet("the demo is not built yet (issue 8)") from None
    g = _globals(ctx)
    raise typer.Exit(run_demo(out, db_url=g.db, workdir=keep))


# ---------------------------------------------------------------- entry point

def main(argv: list[str] | None = None) -> Any:
    """Run the CLI and turn banwatch errors into messages and exit codes (no tracebacks)."""
    try:
        return app(args=argv, standalone_mode=False)
    except (ConfigError, UsageError) as exc:
        err.print(f"banwatch: {exc}", markup=False, highlight=False)
        sys.exit(2)
    except BanwatchError as exc:
        err.print(f"banwatch: {exc}", markup=False, highlight=False)
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("banwatch: aborted")
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(2 if isinstance(exc, click.UsageError) else 1)
        raise


if __name__ == "__main__":
    main()
