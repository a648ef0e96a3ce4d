"""Generate, store (once per day across nodes), write and mail the digest."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from pipeline.config import Config
from pipeline.digest.build import build_digest
from pipeline.digest.formats import FeedEntry, html_file_name, render_atom, render_json
from pipeline.digest.html import render_html
from pipeline.digest.mail import SmtpSettings, send_mail
from pipeline.digest.markdown import render_markdown
from pipeline.digest.model import Digest
from pipeline.store.base import utcnow
from pipeline.store.models import DigestRow

log = logging.getLogger(__name__)
FEED_ENTRIES = 30
FORMATS = ("md", "html", "json", "atom")


@dataclass
class DigestOutcome:
    day: date
    created: bool  # this call stored the day's digest (False: another node or run already had)
    digest: Digest
    renders: dict[str, str]
    files: list[Path] = field(default_factory=list)
    mailed: bool = False


def yesterday(config: Config, now: datetime | None = None) -> date:
    return ((now or utcnow()).astimezone(config.settings.tz) - timedelta(days=1)).date()


def render_all(d: Digest) -> dict[str, str]:
    return {"md": render_markdown(d), "html": render_html(d), "json": render_json(d)}


def summary_line(d: Digest) -> str:
    c = d.counts
    return (f"{c.articles} articles, {c.events} new events, {c.stories_updated} developing stories, "
            f"{c.stories_new} new stories, {c.failing_sources} failing sources")


def store_if_absent(session: Session, d: Digest, renders: Mapping[str, str], node: str | None) -> bool:
    """INSERT … ON CONFLICT (day) DO NOTHING: true only for the one caller that stored it."""
    c = d.counts
    values = {
        "day": d.day, "generated_at": d.generated_at, "timezone": d.timezone, "article_count": c.articles,
        "relevant_count": c.relevant, "event_count": c.events, "story_count": c.stories_updated + c.stories_new,
        "new_story_count": c.stories_new, "failing_source_count": c.failing_sources,
        "markdown": renders["md"], "html": renders["html"], "json": renders["json"], "node": node,
    }
    ins = pg_insert(DigestRow) if session.get_bind().dialect.name == "postgresql" else sqlite_insert(DigestRow)
    stmt = ins.values(values).on_conflict_do_nothing(index_elements=["day"]).returning(DigestRow.id)
    return session.execute(stmt).scalar_one_or_none() is not None  # no row back: another caller had it


def feed_entries(session: Session, upto: date | None = None, limit: int = FEED_ENTRIES) -> list[FeedEntry]:
    q = select(DigestRow).order_by(DigestRow.day.desc()).limit(limit)
    if upto is not None:
        q = q.where(DigestRow.day <= upto)
    return [FeedEntry(day=r.day, generated_at=r.generated_at,
                      title=f"banwatch digest — {r.day.isoformat()}",
                      summary=(f"{r.article_count} articles, {r.event_count} new events, {r.story_count} stories "
                               f"({r.new_story_count} new), {r.failing_source_count} failing sources"),
                      html_page=r.html or "") for r in session.scalars(q)]


def write_files(out_dir: Path, day: date, renders: Mapping[str, str]) -> list[Path]:
    """digest-DAY.{md,html,json} and atom.xml, each replaced atomically (a reader never sees half a file)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt, text in renders.items():
        name = "atom.xml" if fmt == "atom" else (html_file_name(day) if fmt == "html"
                                                 else f"digest-{day.isoformat()}.{fmt}")
        path = out_dir / name
        tmp = path.with_name(f".{name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
        written.append(path)
    return written


def generate_digest(config: Config, sessions: sessionmaker[Session], day: date, *, node: str | None = None,
                    env: Mapping[str, str] | None = None, now: datetime | None = None,
                    write: bool = True) -> DigestOutcome:
    """Build the day's digest; the first caller across all nodes stores, writes and mails it."""
    with sessions() as s:
        d = build_digest(s, day, config.settings.timezone, now=now,
                         failing_for=timedelta(seconds=config.settings.report_failing_sources_after))
    renders = render_all(d)
    with sessions() as s, s.begin():
        created = store_if_absent(s, d, renders, node)
    outcome = DigestOutcome(day=day, created=created, digest=d, renders=renders)
    with sessions() as s:
        outcome.renders["atom"] = render_atom(feed_entries(s, upto=None))
    if not created:
        log.info("digest exists", extra={"day": day.isoformat()})
        return outcome
    log.info("digest stored", extra={"day": day.isoformat(), "summary": summary_line(d)})
    if write:
        out_dir = Path(config.settings.output_dir).expanduser()  # relative: to the working directory
        outcome.files = write_files(out_dir, day, outcome.renders)
        log.info("digest written", extra={"day": day.isoformat(), "dir": str(out_dir)})
    smtp = SmtpSettings.from_env(os.environ if env is None else env)
    if smtp is not None:
        send_mail(smtp, d.title, renders["md"], renders["html"])
        outcome.mailed = True
    return outcome


def render_digest_command(rt, day: date | None, fmt: str) -> str:
    """`banwatch digest`: render ``day`` (default yesterday) again from the database.

    The fresh rendering is returned; the stored copy is created if the day has none yet
    (then the files are written too), never overwritten.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown digest format {fmt!r}")
    config = rt.config
    the_day = day or yesterday(config)
    outcome = generate_digest(config, rt.sessions, the_day, node=f"cli:{os.getpid()}", env={})
    if fmt == "atom":
        with rt.sessions() as s:
            return render_atom(feed_entries(s, upto=the_day))
    return outcome.renders[fmt]
