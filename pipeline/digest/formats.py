"""JSON (for other tools) and the Atom feed of digests (for feed readers)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from xml.etree import ElementTree as ET

from pipeline.digest.html import fragment_of
from pipeline.digest.model import Digest
from pipeline.digest.text import strip_control

JSON_FORMAT = "banwatch-digest"
JSON_VERSION = 1
ATOM_NS = "http://www.w3.org/2005/Atom"
FEED_ID = "urn:banwatch:digests"


def render_json(d: Digest) -> str:
    doc = {"format": JSON_FORMAT, "version": JSON_VERSION, "title": d.title, **d.to_dict()}
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


@dataclass(frozen=True)
class FeedEntry:
    day: date
    generated_at: datetime
    title: str
    summary: str
    html_page: str


def html_file_name(day: date) -> str:
    return f"digest-{day.isoformat()}.html"


def render_atom(entries: list[FeedEntry], *, title: str = "banwatch daily digest") -> str:
    """An Atom 1.0 feed, newest digest first; links are relative to the feed (files sit side by side)."""
    ET.register_namespace("", ATOM_NS)
    entries = sorted(entries, key=lambda e: e.day, reverse=True)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    ET.SubElement(feed, f"{{{ATOM_NS}}}id").text = FEED_ID
    ET.SubElement(feed, f"{{{ATOM_NS}}}title").text = title
    updated = max((e.generated_at for e in entries), default=None)
    ET.SubElement(feed, f"{{{ATOM_NS}}}updated").text = _stamp(updated) if updated else "1970-01-01T00:00:00Z"
    author = ET.SubElement(feed, f"{{{ATOM_NS}}}author")
    ET.SubElement(author, f"{{{ATOM_NS}}}name").text = "banwatch"
    ET.SubElement(feed, f"{{{ATOM_NS}}}link", rel="self", href="atom.xml")
    for e in entries:
        entry = ET.SubElement(feed, f"{{{ATOM_NS}}}entry")
        ET.SubElement(entry, f"{{{ATOM_NS}}}id").text = f"{FEED_ID}:{e.day.isoformat()}"
        ET.SubElement(entry, f"{{{ATOM_NS}}}title").text = strip_control(e.title)
        ET.SubElement(entry, f"{{{ATOM_NS}}}updated").text = _stamp(e.generated_at)
        ET.SubElement(entry, f"{{{ATOM_NS}}}link", rel="alternate", type="text/html",
                      href=html_file_name(e.day))
        ET.SubElement(entry, f"{{{ATOM_NS}}}summary").text = strip_control(e.summary)
        # type="html": the (already escaped) fragment travels as text, escaped once more by the XML writer
        ET.SubElement(entry, f"{{{ATOM_NS}}}content", type="html").text = strip_control(fragment_of(e.html_page))
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="unicode") + "\n"


def _stamp(when: datetime) -> str:
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
