"""Property-based robustness: extract_article answers every input without raising."""

from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.extract import ExtractedArticle, extract_article
from pipeline.extract.core import _extract

# extract_article() has a last-resort catch-all; these tests call the unguarded implementation as well,
# so a bug in any stage fails the test instead of hiding behind the safety net.

# Bounded so the suite stays fast; BANWATCH_FUZZ_EXAMPLES=5000 runs a longer fuzzing session.
FAST = settings(max_examples=int(os.environ.get("BANWATCH_FUZZ_EXAMPLES", "60")), deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])

_FRAGMENTS = [
    "<html>", "</html>", "<head>", "<body>", "</body>", "<p>", "</p>", "<div class='article-body'>", "</div>",
    "<article>", "</article>", "<h1>", "</h1>", "<a href='/x'>", "</a>", "<br>", "<br><br>", "<script>", "</script>",
    '<script type="application/ld+json">', '{"@type": "NewsArticle", "datePublished": "2024-01-02"}',
    '{"@graph": [{"@type": "NewsArticle", "author": [null, 1, {"name": []}]}]}', "<meta charset='koi8-r'>",
    '<meta property="article:published_time" content="2024-13-45T99:99:99+99:99">', "<time datetime='x'>",
    "<li class='share'>", "<!--", "-->", "<![CDATA[", "]]>", "&amp;", "&#0;", "&#xD800;", "\x00", "\ufeff",
    "Die Regierung verbietet die Geräte. ", "政府は禁止した。", "The ban takes effect next year, officials said. ",
    "<table><tr><td>", "</td></tr></table>", "<template>", "<svg>", "<style>p{}</style>", "<noscript>",
]


@FAST
@given(st.binary(max_size=4000))
def test_random_bytes(data: bytes) -> None:
    art = _extract(data, "https://example.com/a", None, None)
    assert isinstance(art, ExtractedArticle)
    json.dumps(art.to_dict())
    assert extract_article(data, "https://example.com/a") == art


@FAST
@given(st.text(max_size=3000))
def test_random_text(text: str) -> None:
    art = _extract(text, "https://example.com/a", None, None)
    assert isinstance(art.text, str)
    json.dumps(art.to_dict())


@FAST
@given(st.lists(st.sampled_from(_FRAGMENTS) | st.text(max_size=40), max_size=120),
       st.sampled_from(["utf-8", "utf-16", "cp1252", "shift_jis", "koi8-r"]))
def test_html_like_soup(parts: list[str], encoding: str) -> None:
    html = "".join(parts)
    data = html.encode(encoding, errors="replace")
    for payload in (html, data):
        art = _extract(payload, "https://example.com/2024/01/02/a", None, None)
        assert isinstance(art, ExtractedArticle)
        if art.published_at is not None:
            assert art.published_at.tzinfo is not None
        json.dumps(art.to_dict())


@FAST
@given(st.text(max_size=60))
def test_arbitrary_body_selector_and_url(selector: str) -> None:
    html = "<html><body><article><p>" + "The ban takes effect next year, officials said. " * 5 + "</p></article>"
    art = extract_article(html, selector, body_selector=selector or None)
    assert isinstance(art, ExtractedArticle)
