"""The daily digest: what changed on the topic, built from the database.

``build_digest`` reads a day's window; ``render_markdown`` / ``render_html`` / ``render_json`` /
``render_atom`` format it; ``generate_digest`` stores it once across nodes, writes the files
and mails it; ``render_digest_command`` backs `banwatch digest`.
"""

from pipeline.digest.build import build_digest, day_window, source_problems
from pipeline.digest.formats import FeedEntry, render_atom, render_json
from pipeline.digest.html import render_fragment, render_html
from pipeline.digest.mail import MailError, SmtpSettings, send_mail
from pipeline.digest.markdown import render_markdown
from pipeline.digest.model import Digest
from pipeline.digest.service import (
    DigestOutcome,
    feed_entries,
    generate_digest,
    render_all,
    render_digest_command,
    yesterday,
)

__all__ = [
    "Digest", "DigestOutcome", "FeedEntry", "MailError", "SmtpSettings", "build_digest", "day_window",
    "feed_entries", "generate_digest", "render_all", "render_atom", "render_digest_command", "render_fragment",
    "render_html", "render_json", "render_markdown", "send_mail", "source_problems", "yesterday",
]
