"""Markdown rendering: for e-mail bodies, chat and git-friendly archives.

Text from the web is escaped so a headline cannot inject links, images or HTML.
"""

from __future__ import annotations

import re

from pipeline.digest.model import Digest, DigestLink, DigestStory
from pipeline.digest.text import clip, local_time, role_label, safe_url, show_date, summary_counts

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|~])")


def esc(text: str | None, limit: int = 300) -> str:
    return _MD_SPECIAL.sub(r"\\\1", clip(text, limit))


def link(lk: DigestLink, label: str | None = None) -> str:
    text = esc(label if label is not None else (lk.title or lk.outlet))
    url = safe_url(lk.url)
    return f"[{text}](<{url}>)" if url else text


def render_markdown(d: Digest) -> str:
    c = d.counts
    out = [f"# {d.title}", ""]
    out.append(f"{summary_counts(c)} · {d.day.isoformat()} ({d.timezone})")
    if d.source_problems:
        out += ["", f"**Source problems** ({len(d.source_problems)} failing for a day or more):", ""]
        for p in d.source_problems:
            out.append(f"- {esc(p.name)} (`{esc(p.key)}`): {esc(p.last_status)} since "
                       f"{local_time(p.failing_since, d.timezone)}, {p.consecutive_failures} failures"
                       + (f" — {esc(p.last_error, 200)}" if p.last_error else ""))
    if d.is_empty:
        out += ["", "Nothing new on the topic today."]
    if d.developing:
        out += ["", "## Developing stories", ""]
        for s in d.developing:
            out += _story(s, d.timezone)
    if d.new_stories:
        out += ["", "## New stories", ""]
        for s in d.new_stories:
            out += _story(s, d.timezone)
    if d.articles:
        out += ["", "## Other relevant articles", ""]
        for a in d.articles:
            ents = f" — {esc(', '.join(a.entities))}" if a.entities else ""
            out.append(f"- {link(a.link)} ({esc(a.link.outlet)}){ents}")
    out += ["", f"_Generated {local_time(d.generated_at, d.timezone)} {d.timezone} by banwatch._", ""]
    return "\n".join(out)


def _story(s: DigestStory, tz: str) -> list[str]:
    out = [f"### {esc(s.title)}", ""]
    if s.what_is_new and not s.is_new:
        out += ["**New:** " + "; ".join(esc(t) for t in s.what_is_new), ""]
    if s.entities:
        out += ["**Entities:** " + ", ".join(f"{esc(e.name)} ({esc(e.type.replace('_', ' '))})"
                                             for e in s.entities), ""]
    if s.outlets:
        out += ["**Outlets:** " + ", ".join(esc(o) for o in s.outlets), ""]
    out += ["**Timeline:**", ""]
    for ev in s.timeline:
        when = show_date(ev.occurred_on) if ev.occurred_on else local_time(ev.first_seen_at, tz)[:10]
        mark = " **(new)**" if ev.is_new else ""
        line = f"- {when}: {esc(ev.title)}{mark}"
        if ev.link:
            line += f" — {link(ev.link, ev.link.outlet)}"
        out.append(line)
        for dd in ev.dates:
            out.append(f"  - {role_label(dd.role)}: {show_date(dd)}"
                       + (f" — “{esc(dd.snippet, 160)}”" if dd.snippet else ""))
        if ev.also_reported_by:
            out.append("  - also reported by: " + ", ".join(link(lk, lk.outlet) for lk in ev.also_reported_by))
    out.append("")
    return out
