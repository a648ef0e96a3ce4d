"""HTML rendering: one self-contained page (no scripts, no external resources) that reads well on a phone.

Every string from the web goes through ``html.escape``; links are kept only for http(s) URLs;
a Content-Security-Policy forbids scripts as a second line of defence; ``dir="auto"`` lets
right-to-left headlines display correctly without flipping the page.
"""

from __future__ import annotations

from html import escape

from pipeline.digest.model import Digest, DigestLink, DigestStory
from pipeline.digest.text import clip, local_time, role_label, safe_url, show_date, summary_counts

BODY_START = "<!-- digest-body -->"
BODY_END = "<!-- /digest-body -->"
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
CSS = """
:root{color-scheme:light dark;--fg:#1b1b1b;--muted:#5f6368;--bg:#fff;--card:#f6f7f9;--accent:#0b57d0;--new:#b3261e}
@media (prefers-color-scheme:dark){:root{--fg:#e8eaed;--muted:#9aa0a6;--bg:#121212;--card:#1e1f22;--accent:#8ab4f8;--new:#f28b82}}
*{box-sizing:border-box}
body{margin:0 auto;max-width:46rem;padding:1rem;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:var(--fg);background:var(--bg);overflow-wrap:anywhere;word-break:break-word}
h1{font-size:1.4rem;margin:.2rem 0 .5rem}h2{font-size:1.15rem;margin:1.6rem 0 .6rem;border-bottom:1px solid var(--muted)}
h3{font-size:1.05rem;margin:0 0 .4rem}
.summary,.meta,footer{color:var(--muted);font-size:.9rem}
.card{background:var(--card);border-radius:.6rem;padding:.8rem 1rem;margin:.8rem 0}
.problems{border-left:4px solid var(--new)}
ul{padding-left:1.2rem;margin:.3rem 0}li{margin:.25rem 0}
.new{color:var(--new);font-weight:600;font-size:.8rem;text-transform:uppercase}
a{color:var(--accent)}
.when{font-variant-numeric:tabular-nums;white-space:nowrap;color:var(--muted)}
.dates,.also{font-size:.9rem;color:var(--muted)}
"""


def esc(text: str | None, limit: int = 300) -> str:
    return escape(clip(text, limit), quote=True)


def a(lk: DigestLink, label: str | None = None) -> str:
    text = esc(label if label is not None else (lk.title or lk.outlet))
    url = safe_url(lk.url)
    if not url:
        return f'<bdi dir="auto">{text}</bdi>'
    return f'<a href="{escape(url, quote=True)}" rel="noopener noreferrer nofollow" dir="auto">{text}</a>'


def render_html(d: Digest) -> str:
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{esc(d.title)}</title>\n<style>{CSS}</style></head>\n<body>\n"
        f"{BODY_START}\n{render_fragment(d)}\n{BODY_END}\n</body></html>\n"
    )


def render_fragment(d: Digest) -> str:
    """The page body alone (also the content of the digest's Atom entry)."""
    c = d.counts
    out = [f"<header><h1>{esc(d.title)}</h1>",
           f'<p class="summary">{escape(summary_counts(c))} · {esc(d.day.isoformat())} ({esc(d.timezone)})</p>'
           "</header>"]
    if d.source_problems:
        out.append(f'<section class="card problems"><h3>Source problems ({len(d.source_problems)})</h3><ul>')
        for p in d.source_problems:
            err = f" — {esc(p.last_error, 200)}" if p.last_error else ""
            out.append(f"<li><bdi dir=\"auto\">{esc(p.name)}</bdi> (<code>{esc(p.key)}</code>): "
                       f"{esc(p.last_status)} since {esc(local_time(p.failing_since, d.timezone))}, "
                       f"{p.consecutive_failures} failures{err}</li>")
        out.append("</ul></section>")
    if d.is_empty:
        out.append("<p>Nothing new on the topic today.</p>")
    for heading, stories in (("Developing stories", d.developing), ("New stories", d.new_stories)):
        if stories:
            out.append(f"<section><h2>{heading}</h2>")
            out += [_story(s, d.timezone) for s in stories]
            out.append("</section>")
    if d.articles:
        out.append("<section><h2>Other relevant articles</h2><ul>")
        for art in d.articles:
            ents = f' <span class="meta">— {esc(", ".join(art.entities))}</span>' if art.entities else ""
            out.append(f'<li>{a(art.link)} <span class="meta">({esc(art.link.outlet)})</span>{ents}</li>')
        out.append("</ul></section>")
    out.append(f"<footer><p>Generated {esc(local_time(d.generated_at, d.timezone))} {esc(d.timezone)} "
               "by banwatch.</p></footer>")
    return "\n".join(out)


def _story(s: DigestStory, tz: str) -> str:
    out = [f'<article class="card"><h3 dir="auto">{esc(s.title)}</h3>']
    if s.what_is_new and not s.is_new:
        out.append('<p><span class="new">New</span> ' + "; ".join(f'<bdi dir="auto">{esc(t)}</bdi>'
                                                                  for t in s.what_is_new) + "</p>")
    meta = []
    if s.entities:
        meta.append("Entities: " + ", ".join(f'<bdi dir="auto">{esc(e.name)}</bdi> ({esc(e.type.replace("_", " "))})'
                                             for e in s.entities))
    if s.outlets:
        meta.append("Outlets: " + ", ".join(f'<bdi dir="auto">{esc(o)}</bdi>' for o in s.outlets))
    if meta:
        out.append('<p class="meta">' + "<br>".join(meta) + "</p>")
    out.append("<ul>")
    for ev in s.timeline:
        when = show_date(ev.occurred_on) if ev.occurred_on else local_time(ev.first_seen_at, tz)[:10]
        mark = ' <span class="new">new</span>' if ev.is_new else ""
        src = f" — {a(ev.link, ev.link.outlet)}" if ev.link else ""
        item = [f'<li><span class="when">{esc(when)}</span> <bdi dir="auto">{esc(ev.title)}</bdi>{mark}{src}']
        if ev.dates:
            item.append('<div class="dates">' + " · ".join(
                f"{esc(role_label(dd.role))}: <b>{esc(show_date(dd))}</b>" for dd in ev.dates) + "</div>")
        if ev.also_reported_by:
            item.append('<div class="also">also reported by: '
                        + ", ".join(a(lk, lk.outlet) for lk in ev.also_reported_by) + "</div>")
        out.append("".join(item) + "</li>")
    out.append("</ul></article>")
    return "\n".join(out)


def fragment_of(page: str) -> str:
    """The body of a stored page (for the Atom feed); the whole text if the markers are missing."""
    i, j = page.find(BODY_START), page.find(BODY_END)
    return page[i + len(BODY_START):j].strip() if 0 <= i < j else page
