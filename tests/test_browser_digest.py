"""The HTML digest in a real browser (Debian's headless Chromium): hostile input stays inert, the page lays out.

Runs when /usr/bin/chromium exists (`apt-get install chromium`; `.ci/prepare-optional` installs it).
Headlines, outlet names, URLs and error messages written by an attacker try to run script (changing
document.title, calling a beacon URL served by the test web) — on the real page and on a copy
without its Content-Security-Policy, so the escaping is tested on its own. A screenshot of the
phone-width rendering is saved under test-artifacts/.
"""

from __future__ import annotations

import json
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.digest import build_digest, render_html
from pipeline.store import make_engine, session_factory, upgrade
from tests.conftest import REPO
from tests.digest_data import DAY, TZ, populate_hostile
from tests.testweb import Response, testweb_fixture  # noqa: F401

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (/usr/bin/chromium)"),
]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio"]
ARTIFACTS = REPO / "test-artifacts"

# The wrapper is ours (no CSP): after the digest loads in a phone-sized iframe, it reports what it sees.
WRAPPER = """<!doctype html><html><head><title>wrapper</title></head><body style="margin:0">
<iframe id="f" src="/PAGE" style="width:390px;height:800px;border:0"></iframe><pre id="result">pending</pre>
<script>
window.addEventListener("load", function () {
  var d = document.getElementById("f").contentDocument, w = d.defaultView, out = {};
  out.title = d.title;
  out.scripts = d.querySelectorAll("script").length;
  out.iframes = d.querySelectorAll("iframe, object, embed, svg, img").length;
  out.badLinks = Array.prototype.filter.call(d.querySelectorAll("a[href]"), function (a) {
    return !/^https?:/i.test(a.getAttribute("href")); }).length;
  out.links = d.querySelectorAll("a[href]").length;
  out.onAttrs = Array.prototype.filter.call(d.querySelectorAll("*"), function (e) {
    return Array.prototype.some.call(e.attributes, function (a) { return /^on/i.test(a.name); }); }).length;
  out.viewport = w.innerWidth;
  out.scrollWidth = d.documentElement.scrollWidth;
  out.bodyHeight = d.body.getBoundingClientRect().height;
  out.cards = d.querySelectorAll("article.card").length;
  var rtl = Array.prototype.find.call(d.querySelectorAll("bdi, h3, a"), function (e) {
    return e.textContent.indexOf("\\u0647\\u0648\\u0627\\u0648\\u064a") === 0; });
  out.rtlDirection = rtl ? w.getComputedStyle(rtl).direction : null;
  out.widest = Math.max.apply(null, Array.prototype.map.call(d.querySelectorAll("h1,h3,li,p,a,bdi"),
    function (e) { return e.getBoundingClientRect().right; }));
  document.getElementById("result").textContent = JSON.stringify(out);
});
</script></body></html>"""


def _chromium(tmp_path: Path, *args: str) -> str:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    proc = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                          text=True, timeout=90)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.fixture
def hostile_page(testweb, tmp_path: Path) -> str:
    beacon = testweb.url("/pwned")
    engine = make_engine(f"sqlite:///{tmp_path / 'hostile.db'}")
    upgrade(engine)
    sessions = session_factory(engine)
    with sessions() as s, s.begin():
        populate_hostile(s, beacon)
    with sessions() as s:
        page = render_html(build_digest(s, DAY, TZ, now=datetime(2026, 11, 21, 6, tzinfo=UTC)))
    engine.dispose()
    return page


@pytest.mark.parametrize("csp", [True, False], ids=["as-rendered", "without-csp"])
def test_hostile_digest_is_inert_and_lays_out(testweb, tmp_path: Path, hostile_page: str, csp: bool):
    page = hostile_page
    if not csp:  # prove the escaping alone keeps scripts out
        page, n = re.subn(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page)
        assert n == 1
    testweb.add("/digest.html", page)
    testweb.add("/wrap.html", WRAPPER.replace("PAGE", "digest.html"))
    testweb.route("/pwned", lambda req: Response(b"gotcha", content_type="text/plain"))

    direct = _chromium(tmp_path, "--dump-dom", "--virtual-time-budget=3000", testweb.url("/digest.html"))
    assert "<title>banwatch digest — 2026-11-20</title>" in direct
    assert "<script" not in direct.lower() and "<iframe" not in direct.lower()  # only as escaped text

    wrapped = _chromium(tmp_path, "--dump-dom", "--virtual-time-budget=5000", "--window-size=800,1000",
                        testweb.url("/wrap.html"))
    m = re.search(r'<pre id="result">(.*?)</pre>', wrapped, re.S)
    assert m and m.group(1) != "pending", wrapped[-2000:]
    seen = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert seen["title"] == "banwatch digest — 2026-11-20", seen  # no script rewrote it
    assert seen["scripts"] == 0 and seen["iframes"] == 0 and seen["onAttrs"] == 0, seen
    assert seen["badLinks"] == 0 and seen["links"] >= 1, seen
    assert seen["cards"] >= 1 and seen["bodyHeight"] > 200, seen
    assert seen["scrollWidth"] <= seen["viewport"] + 1, seen  # no sideways scrolling on a phone
    assert seen["widest"] <= seen["viewport"] + 1, seen  # the 20 000-character title wraps
    assert seen["rtlDirection"] == "rtl", seen  # right-to-left headlines display right to left

    beacons = [r.path for r in testweb.requests() if r.path.startswith("/pwned")]
    assert beacons == [], beacons

    if csp:
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "digest-hostile-phone.png"
        shot.unlink(missing_ok=True)
        _chromium(tmp_path, f"--screenshot={shot}", "--window-size=390,1400", "--virtual-time-budget=3000",
                  testweb.url("/digest.html"))
        assert shot.exists() and shot.stat().st_size > 5000
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
