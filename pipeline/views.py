"""Terminal output of ``banwatch stories`` and ``banwatch story ID``.

The reading itself is :func:`pipeline.stories.list_stories` / :func:`pipeline.stories.timeline`;
this module only lays it out (rich tables and text) so the stories stage stays free of output code.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from pipeline.errors import UsageError

ROLE_LABELS = {
    "effective_date": "effective",
    "compliance_deadline": "deadline",
    "announcement": "announced",
    "court_ruling": "ruling",
    "filing": "filing",
    "extension": "extended",
}


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if value else "-"


def _day(value: date | datetime | None) -> str:
    if value is None:
        return "—"
    return value.strftime("%Y-%m-%d")


def print_stories(rt: Any, console: Console, *, since: date | None = None, include_dormant: bool = False
                  ) -> int:
    """The developing stories (and dormant ones on request), most recently updated first."""
    from pipeline.stories import list_stories

    since_dt = datetime.combine(since, time.min, tzinfo=UTC) if since else None
    with rt.sessions() as session:
        stories = list_stories(session, since=since_dt, status=None if include_dormant else "developing")
    if not stories:
        what = "stories" if include_dormant else "developing stories"
        hint = "" if include_dormant else " (--all shows dormant ones too)"
        console.print(f"no {what}" + (f" updated since {since.isoformat()}" if since else "") + hint)
        return 0
    table = Table(title=f"{'Stories' if include_dormant else 'Developing stories'} ({len(stories)})")
    table.add_column("id", justify="right")
    table.add_column("story", overflow="fold", ratio=3)
    if include_dormant:
        table.add_column("status")
    table.add_column("events", justify="right")
    table.add_column("articles", justify="right")
    table.add_column("first seen")
    table.add_column("updated")
    table.add_column("latest event", overflow="fold", ratio=2)
    for s in stories:
        cells = [str(s.story_id), s.title or "(untitled)"]
        if include_dormant:
            cells.append(s.status)
        cells += [str(s.event_count), str(s.article_count), _when(s.first_seen_at), _when(s.last_updated_at),
                  s.latest_event_title or ""]
        table.add_row(*cells)
    console.print(table)
    console.print(Text("banwatch story ID shows a story's timeline", style="dim"))
    return len(stories)


def print_story(rt: Any, console: Console, story_id: int) -> None:
    """One story's timeline: events in date order with their typed dates and the outlets that reported them."""
    from pipeline.stories import timeline

    with rt.sessions() as session:
        tl = timeline(session, story_id)
    if tl is None:
        raise UsageError(f"no story with id {story_id} (banwatch stories lists them)")
    head = Text(f"Story {tl.story_id}: ", style="bold")
    head.append(tl.title or "(untitled)", style="bold")
    console.print(head)
    if tl.story_id != story_id:
        console.print(Text(f"(story {story_id} was merged into story {tl.story_id})", style="dim"))
    console.print(Text(f"{tl.status} · {len(tl.events)} events · first seen {_when(tl.first_seen_at)} · "
                       f"updated {_when(tl.last_updated_at)}", style="dim"))
    for ev in tl.events:
        console.print()
        line = Text(f"{_day(ev.occurred_on)}  ", style="bold cyan")
        line.append(ev.title or "(untitled event)", style="bold")
        console.print(line)
        outlets = sorted({link.outlet for link in ev.links if link.outlet})
        console.print(Text(f"    {_n(ev.article_count, 'article')} from {_n(ev.outlet_count, 'outlet')}"
                           + (f": {', '.join(outlets)}" if outlets else ""), style="dim"))
        for d in ev.dates:
            label = ROLE_LABELS.get(d.role, d.role.replace("_", " "))
            when = d.date.strftime("%Y-%m" if d.precision == "month" else "%Y" if d.precision == "year"
                                   else "%Y-%m-%d")
            row = Text(f"    {label:<10} {when:<10} ", style="green")
            row.append(_clip(d.snippet or "", 140), style="")
            console.print(row)
        for link in ev.links[:6]:
            console.print(Text(f"    · {link.outlet}: {link.title or link.url}  {link.url}", style="blue"))
        if len(ev.links) > 6:
            console.print(Text(f"    · … and {len(ev.links) - 6} more", style="dim"))


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _clip(value: str, width: int) -> str:
    value = " ".join(value.split())
    return value if len(value) <= width else value[: width - 1].rstrip() + "…"
