"""The fetcher against a misbehaving local web: every failure is clear, bounded, and stops nothing else."""

from __future__ import annotations

import asyncio
import codecs
import socket
import threading
import time
import tracemalloc
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from pipeline.config import Settings, Source
from pipeline.fetch import (
    BadContentEncoding,
    BadContentType,
    ConnectionFailed,
    Fetcher,
    HTTPStatusError,
    Page,
    RedirectLoop,
    RobotsDisallowed,
    SourceResult,
    SourceState,
    Timeout,
    TooLarge,
    TooManyRedirects,
    backoff_delay,
    decompress,
    parse_retry_after,
)
from pipeline.fetch.charset import decode_body
from pipeline.fetch.decompress import BoundedDecoder, brotli_available
from tests.testweb import (
    LocalWeb,
    LoggedRequest,
    Response,
    gzip_bomb,
    testweb_fixture,  # noqa: F401 - the fixture
)

FAST = Settings(
    allow_private_networks=True,
    per_host_delay=0.0,
    per_host_concurrency=4,
    connect_timeout=1.0,
    read_timeout=0.5,
    total_timeout=2.0,
    max_retries=0,
    max_body_size=1_000_000,
)
RSS = (
    '<rss version="2.0"><channel><title>t</title><item><title>a</title><link>https://e.example/a</link>'
    "</item></channel></rss>"
)


def run(coro_fn: Any, settings: Settings = FAST, **kw: Any) -> Any:
    async def go() -> Any:
        async with Fetcher(settings, retry_base=0.01, **kw) as f:
            return await coro_fn(f)

    return asyncio.run(go())


def page(web: LocalWeb, path: str, settings: Settings = FAST, **kw: Any) -> Page:
    return run(lambda f: f.fetch_page(web.url(path)), settings, **kw)


def source(
    web: LocalWeb, path: str, kind: str = "feed", settings: Settings = FAST, **kw: Any
) -> SourceResult:
    src = Source(key="s", name="s", kind=kind, url=web.url(path), link_selector="a")
    return run(lambda f: f.fetch_source(src, SourceState()), settings, **kw)


def test_user_agent_and_accept_headers(testweb: LocalWeb) -> None:
    testweb.add("/p", "<p>hi</p>")
    p = page(testweb, "/p", replace(FAST, user_agent="banwatch-test/9 (+https://x.example/bot)"))
    assert p.text == "<p>hi</p>" and p.http_status == 200 and p.final_url == testweb.url("/p")
    req = testweb.requests("/p")[0]
    assert req.headers["user-agent"] == "banwatch-test/9 (+https://x.example/bot)"
    assert req.headers["accept"].startswith("text/html")
    assert req.headers["accept-encoding"] == ("gzip, deflate, br" if brotli_available() else "gzip, deflate")


def test_cookies_are_neither_kept_nor_sent(testweb: LocalWeb) -> None:
    # one jar shared by every site would grow for as long as the daemon runs, and send sites' cookies back
    testweb.add("/a", "<p>a</p>", headers={"Set-Cookie": "session=abc; Path=/; Max-Age=3600"})
    testweb.add("/b", "<p>b</p>")

    async def both(f: Fetcher) -> list[Page]:
        return [await f.fetch_page(testweb.url("/a")), await f.fetch_page(testweb.url("/b"))]

    a, b = run(both)
    assert a.headers.get("set-cookie", "").startswith("session=abc") and b.text == "<p>b</p>"
    assert "cookie" not in testweb.requests("/b")[0].headers


def test_credentials_in_the_url_are_sent_as_basic_auth(testweb: LocalWeb) -> None:
    testweb.add("/private.xml", RSS, content_type="application/rss+xml")
    url = testweb.url("/private.xml").replace("http://", "http://reader:p%40ss@")
    p = run(lambda f: f.fetch_page(url, accept="feed"))
    assert p.text == RSS
    assert testweb.requests("/private.xml")[0].headers["authorization"] == "Basic cmVhZGVyOnBAc3M="  # reader:p@ss
    testweb.add("/public.xml", RSS, content_type="application/rss+xml")
    run(lambda f: f.fetch_page(testweb.url("/public.xml"), accept="feed"))
    assert "authorization" not in testweb.requests("/public.xml")[0].headers


def test_slow_response_times_out(testweb: LocalWeb) -> None:
    testweb.add_slow("/slow", delay=3.0)
    with pytest.raises(Timeout, match="read timeout of 0.5s"):
        page(testweb, "/slow")
    r = source(testweb, "/slow")
    assert r.status == "error" and "timeout" in (r.error or "")


def test_body_that_never_ends_stops_at_total_timeout_or_size(testweb: LocalWeb) -> None:
    testweb.add_endless("/endless")
    with pytest.raises(Timeout, match="total timeout of 0.3s"):
        page(testweb, "/endless", replace(FAST, total_timeout=0.3, max_body_size=10**9))
    with pytest.raises(TooLarge, match="while streaming"):
        page(testweb, "/endless", replace(FAST, total_timeout=30, max_body_size=50_000))


def test_trickling_body_is_bounded_by_total_timeout(testweb: LocalWeb) -> None:
    testweb.add_trickle("/trickle", b"x" * 1000, chunk_interval=0.02)  # each read is quick
    with pytest.raises(Timeout, match="total timeout"):
        page(testweb, "/trickle", replace(FAST, total_timeout=0.3))


def test_connection_reset_and_truncated_body(testweb: LocalWeb) -> None:
    testweb.add_reset("/reset")
    testweb.add_close_early("/short")
    with pytest.raises(ConnectionFailed, match="connection failed"):
        page(testweb, "/reset")
    with pytest.raises(ConnectionFailed):
        page(testweb, "/short")
    testweb.clear_log()
    r = source(testweb, "/reset", settings=replace(FAST, max_retries=2))
    assert r.status == "error" and len(testweb.requests("/reset")) == 3  # first try + 2 retries


def test_redirects_followed_looped_and_limited(testweb: LocalWeb) -> None:
    testweb.add("/final", "<p>end</p>")
    testweb.add_redirect("/r1", "/r2", 301)
    testweb.add_redirect("/r2", testweb.url("/final"), 307)
    p = page(testweb, "/r1")
    assert p.text == "<p>end</p>" and p.url == testweb.url("/r1") and p.final_url == testweb.url("/final")
    testweb.add_redirect_loop("/loop-a", "/loop-b")
    with pytest.raises(RedirectLoop, match="redirect loop: .*/loop-a -> .*/loop-b -> .*/loop-a"):
        page(testweb, "/loop-a")
    for i in range(10):
        testweb.add_redirect(f"/hop{i}", f"/hop{i + 1}")
    testweb.add("/hop10", "<p>far</p>")
    with pytest.raises(TooManyRedirects, match="more than 3 redirects"):
        page(testweb, "/hop0", replace(FAST, max_redirects=3))
    assert len(testweb.requests()) - len(testweb.requests("/robots.txt")) == 3 + 2 + 4
    r = source(testweb, "/loop-a")
    assert r.status == "error" and "redirect loop" in (r.error or "")


def test_429_retry_after_is_honoured(testweb: LocalWeb) -> None:
    testweb.add_retry_after("/busy", "1", Response(RSS, content_type="application/rss+xml"))
    r = source(testweb, "/busy", settings=replace(FAST, max_retries=1))
    assert r.status == "ok" and len(r.candidates) == 1
    first, second = testweb.requests("/busy")
    assert second.at - first.at >= 0.5  # waited for Retry-After: 1 (a lower bound with margin)


def test_retry_after_too_long_gives_up_and_reports_it(testweb: LocalWeb) -> None:
    testweb.add_retry_after("/later", "3600", Response(RSS), status=503, times=5)
    r = source(testweb, "/later", settings=replace(FAST, max_retries=3))
    assert r.status == "error" and r.http_status == 503 and r.retry_after == 3600
    assert "Retry-After 3600s" in (r.error or "") and len(testweb.requests("/later")) == 1
    with pytest.raises(HTTPStatusError) as info:
        page(testweb, "/later")
    assert info.value.http_status == 503


def test_500_then_200_is_retried(testweb: LocalWeb) -> None:
    testweb.add_flaky("/flaky", Response(RSS, content_type="application/rss+xml"), failures=2)
    r = source(testweb, "/flaky", settings=replace(FAST, max_retries=2))
    assert r.status == "ok" and len(testweb.requests("/flaky")) == 3
    testweb.add_flaky("/flaky2", Response(RSS, content_type="application/rss+xml"), failures=1)
    r = source(testweb, "/flaky2")  # max_retries=0
    assert r.status == "error" and r.http_status == 500 and "HTTP 500" in (r.error or "")
    testweb.add("/gone", "gone", 404)
    testweb.clear_log()
    r = source(testweb, "/gone", settings=replace(FAST, max_retries=3))
    assert r.http_status == 404 and len(testweb.requests("/gone")) == 1  # 4xx is not retried


def test_wrong_content_types(testweb: LocalWeb) -> None:
    testweb.add("/doc.pdf", b"%PDF-1.7 binary", content_type="application/pdf")
    testweb.add("/disguised", b"%PDF-1.4 pretending", content_type="text/html")
    testweb.add("/img", b"\x89PNG\r\n\x1a\n....", content_type="image/png")
    testweb.add("/gz-page", gzip_bomb(1000), content_type="text/html")
    with pytest.raises(BadContentType, match="unexpected content type 'application/pdf'"):
        page(testweb, "/doc.pdf")
    with pytest.raises(BadContentType, match="got a PDF"):
        page(testweb, "/disguised")
    with pytest.raises(BadContentType, match="image/png"):
        page(testweb, "/img")
    with pytest.raises(BadContentType, match="gzip file"):
        page(testweb, "/gz-page")
    r = source(testweb, "/img", kind="html")
    assert r.status == "error" and "unexpected content type" in (r.error or "")


def test_gzip_bomb_stops_at_the_limit(testweb: LocalWeb) -> None:
    testweb.add_gzip_bomb("/bomb", size=50 * 1024**2)  # 50 MB of zeros in ~50 KB on the wire
    with pytest.raises(TooLarge, match="after decompression"):
        page(testweb, "/bomb")
    testweb.add("/big", b"x" * 2_000_000)
    with pytest.raises(TooLarge, match="Content-Length 2000000"):
        page(testweb, "/big")
    r = source(testweb, "/bomb", kind="html")
    assert r.status == "error" and "max_body_size" in (r.error or "")


def test_bounded_decoder_never_holds_the_expansion() -> None:
    bomb = gzip_bomb(200 * 1024**2)
    tracemalloc.start()
    try:
        dec = BoundedDecoder("gzip", 1_000_000)
        with pytest.raises(TooLarge):
            for i in range(0, len(bomb), 16384):
                dec.feed(bomb[i : i + 16384])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert dec.produced <= 1_000_001 and peak < 8_000_000


def test_gzip_and_deflate_encodings_decode(testweb: LocalWeb) -> None:
    import zlib

    testweb.add_gzipped("/gz", "<p>zipped é</p>")
    testweb.add("/zlib", zlib.compress(b"<p>deflated</p>"), headers={"Content-Encoding": "deflate"})
    raw = zlib.compressobj(wbits=-15)
    testweb.add("/raw", raw.compress(b"<p>raw</p>") + raw.flush(), headers={"Content-Encoding": "deflate"})
    assert page(testweb, "/gz").text == "<p>zipped é</p>"
    assert page(testweb, "/zlib").text == "<p>deflated</p>"
    assert page(testweb, "/raw").text == "<p>raw</p>"


def test_without_a_brotli_decoder_br_is_neither_asked_for_nor_accepted(
    testweb: LocalWeb, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(decompress, "_brotli", None)  # as on an install without the brotli package
    testweb.add("/br", b"\x0b\x02\x80hi\x03", headers={"Content-Encoding": "br"})
    with pytest.raises(BadContentEncoding, match=r"unsupported content-encoding 'br' \(no brotli decoder"):
        page(testweb, "/br")
    assert testweb.requests("/br")[0].headers["accept-encoding"] == "gzip, deflate"


needs_brotli = pytest.mark.skipif(not brotli_available(), reason="no brotli decoder (pip install brotli)")


@needs_brotli
def test_brotli_encoding_decodes(testweb: LocalWeb) -> None:
    import brotli

    testweb.add("/br", brotli.compress("<p>brötli</p>".encode()), headers={"Content-Encoding": "br"})
    testweb.add("/br-cut", brotli.compress(b"<p>" + b"x" * 5000)[:-4], headers={"Content-Encoding": "br"})
    testweb.add("/br-junk", b"\xff\xfe not brotli at all", headers={"Content-Encoding": "br"})
    assert page(testweb, "/br").text == "<p>brötli</p>"
    with pytest.raises(BadContentEncoding, match="truncated br data"):
        page(testweb, "/br-cut")
    with pytest.raises(BadContentEncoding, match="corrupt br data"):
        page(testweb, "/br-junk")


def brotli_bomb(size: int) -> bytes:
    """``size`` zero bytes brotli-compressed: 200 MB become a few hundred bytes."""
    import brotli

    comp = brotli.Compressor(quality=5)
    parts = [comp.process(b"\0" * (1 << 20)) for _ in range(size >> 20)]
    return b"".join(parts) + comp.finish()


@needs_brotli
def test_brotli_bomb_stops_at_the_limit(testweb: LocalWeb) -> None:
    testweb.add("/br-bomb", brotli_bomb(50 * 1024**2), headers={"Content-Encoding": "br"})
    with pytest.raises(TooLarge, match="after decompression"):
        page(testweb, "/br-bomb")


@needs_brotli
def test_brotli_decoder_never_holds_the_expansion() -> None:
    bomb = brotli_bomb(200 * 1024**2)
    tracemalloc.start()
    try:
        dec = BoundedDecoder("br", 1_000_000)
        with pytest.raises(TooLarge):
            dec.feed(bomb)  # the whole bomb in one call: the decoder, not the chunking, must bound it
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert dec.produced < 2_000_000 and peak < 8_000_000


def test_charsets(testweb: LocalWeb) -> None:
    text = "Zoll auf Hühnerfüße – ça coûte"
    testweb.add("/header-lies-latin1", text.encode("utf-8"), content_type="text/html; charset=iso-8859-1")
    testweb.add("/header-lies-utf8", text.encode("cp1252"), content_type="text/html; charset=utf-8")
    testweb.add(
        "/meta", f'<meta charset="windows-1252"><p>{text}</p>'.encode("cp1252"), content_type="text/html"
    )
    testweb.add(
        "/bom", codecs.BOM_UTF16_LE + text.encode("utf-16-le"), content_type="text/html; charset=latin-1"
    )
    ru = "Запрет на продажу оборудования вступает в силу. " * 5
    testweb.add("/undeclared", ru.encode("cp1251"), content_type="text/html")
    testweb.add("/bogus", text.encode("utf-8"), content_type="text/html; charset=rot13")
    assert page(testweb, "/header-lies-latin1").text == text
    assert page(testweb, "/header-lies-utf8").text == text
    assert page(testweb, "/meta").text.endswith(f"<p>{text}</p>")
    p = page(testweb, "/bom")
    assert (p.text, p.encoding) == (text, "utf-16-le")
    assert page(testweb, "/undeclared").text == ru
    assert page(testweb, "/bogus").text == text
    assert decode_body("Grüße".encode("iso-8859-1"), "text/html; charset=iso-8859-1") == ("Grüße", "cp1252")


def test_robots_disallow_is_obeyed_and_cached(testweb: LocalWeb) -> None:
    testweb.add_robots(
        "User-agent: banwatch\nDisallow: /private/\nCrawl-delay: 0.2\n\nUser-agent: *\nDisallow: /"
    )
    testweb.add("/private/feed.xml", RSS, content_type="application/rss+xml")
    testweb.add("/public/feed.xml", RSS, content_type="application/rss+xml")

    async def both(f: Fetcher) -> list[SourceResult]:
        srcs = [
            Source(key=k, name=k, kind="feed", url=testweb.url(f"/{k}/feed.xml"))
            for k in ("private", "public")
        ]
        out = await asyncio.gather(*(f.fetch_source(s, SourceState()) for s in srcs))
        out.append(await f.fetch_source(srcs[0], SourceState()))
        assert f.gate("127.0.0.1").delay == 0.2  # Crawl-delay raised the per-host delay
        return out

    private, public, again = run(both)
    assert private.status == again.status == "blocked_by_robots"
    assert "disallowed by robots.txt" in (private.error or "") and "/private/feed.xml" in (
        private.error or ""
    )
    assert public.status == "ok"
    assert len(testweb.requests("/robots.txt")) == 1  # fetched once, shared by every source
    assert testweb.requests("/private/feed.xml") == []
    with pytest.raises(RobotsDisallowed):
        page(testweb, "/private/feed.xml")
    assert page(testweb, "/private/feed.xml", replace(FAST, respect_robots=False)).http_status == 200


def test_robots_unreachable_means_disallow_and_404_means_allow(testweb: LocalWeb) -> None:
    testweb.add("/robots.txt", "down", 503, content_type="text/plain", host="down.test")
    testweb.add("/feed.xml", RSS, content_type="application/rss+xml")
    src_down = Source(key="d", name="d", kind="feed", url=testweb.url("/feed.xml", host="down.test"))
    src_up = Source(key="u", name="u", kind="feed", url=testweb.url("/feed.xml", host="up.test"))

    async def go(f: Fetcher) -> list[SourceResult]:
        return list(
            await asyncio.gather(
                f.fetch_source(src_down, SourceState()), f.fetch_source(src_up, SourceState())
            )
        )

    down, up = run(go, resolver=testweb.resolve)
    assert down.status == "blocked_by_robots" and "robots.txt unreachable" in (down.error or "")
    assert "HTTP 503" in (down.error or "") and "assuming disallow" in (down.error or "")
    assert up.status == "ok"  # robots.txt 404 on up.test: no restrictions
    assert [r.host for r in testweb.requests("/feed.xml")] == ["up.test"]


def test_per_host_concurrency_and_delay(testweb: LocalWeb) -> None:
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}

    def handler(req: LoggedRequest) -> Response:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.05)
        with lock:
            state["now"] -= 1
        return Response(RSS, content_type="application/rss+xml")

    for i in range(8):
        testweb.route(f"/f{i}", handler, host="a.test")
        testweb.route(f"/f{i}", lambda _r: Response(RSS, content_type="application/rss+xml"), host="b.test")
    srcs = [
        Source(key=f"{h}{i}", name="x", kind="feed", url=testweb.url(f"/f{i}", host=f"{h}.test"))
        for i in range(8)
        for h in ("a", "b")
    ]

    async def go(f: Fetcher) -> list[SourceResult]:
        return list(await asyncio.gather(*(f.fetch_source(s, SourceState()) for s in srcs)))

    results = run(go, replace(FAST, per_host_concurrency=2, per_host_delay=0.0), resolver=testweb.resolve)
    assert all(r.status == "ok" for r in results) and state["peak"] == 2
    testweb.clear_log()
    run(go, replace(FAST, per_host_concurrency=8, per_host_delay=0.05), resolver=testweb.resolve)
    for host in ("a.test", "b.test"):
        starts = [r.at for r in testweb.requests(host=host)]
        assert len(starts) == 9  # robots.txt + 8 feeds
        # 9 starts at least 50 ms apart span 400 ms; arrival jitter on the server side gets a margin.
        assert starts[-1] - starts[0] >= 0.3


def test_one_bad_source_does_not_stop_the_others(testweb: LocalWeb) -> None:
    testweb.add("/good.xml", RSS, content_type="application/rss+xml")
    testweb.add_slow("/slow", 5.0)
    testweb.add_endless("/endless")
    testweb.add_reset("/reset")
    testweb.add_redirect_loop("/la", "/lb")
    testweb.add_gzip_bomb("/bomb", 20 * 1024**2)
    testweb.add("/pdf", b"%PDF-1.5", content_type="application/pdf")
    testweb.add("/malformed", "<rss><channel><item>", content_type="text/xml")
    paths = ["/slow", "/endless", "/reset", "/la", "/bomb", "/pdf", "/malformed", "/missing", "/good.xml"]
    srcs = [Source(key=f"s{i}", name="x", kind="feed", url=testweb.url(p)) for i, p in enumerate(paths)]

    async def go(f: Fetcher) -> list[SourceResult]:
        return list(await asyncio.gather(*(f.fetch_source(s, SourceState()) for s in srcs)))

    results = run(go, replace(FAST, total_timeout=1.0))
    assert [r.status for r in results] == ["error"] * 8 + ["ok"]
    assert all(r.error for r in results[:-1]) and len(results[-1].candidates) == 1


def test_retry_after_parsing_and_backoff() -> None:
    assert parse_retry_after("120") == 120
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert parse_retry_after("soon") is None
    assert backoff_delay(0, 1800) == backoff_delay(1, 1800) == 1800
    assert backoff_delay(2, 1800) == 3600 and backoff_delay(3, 1800) == 7200
    assert backoff_delay(50, 1800) == 86400  # capped: a dead source is still tried daily
    assert backoff_delay(5, 7 * 86400) == 7 * 86400


def test_connection_refused_is_a_clear_error(testweb: LocalWeb) -> None:
    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    src = Source(key="s", name="s", kind="feed", url=f"http://127.0.0.1:{port}/feed.xml")
    r = run(lambda f: f.fetch_source(src, SourceState()))
    assert r.status == "error" and "cannot connect to 127.0.0.1" in (r.error or "")


def test_listing_selector_that_matches_nothing_is_reported(testweb: LocalWeb) -> None:
    testweb.add("/list", "<html><body><div class='new-layout'><a href='/a'>A</a></div></body></html>")
    src = Source(key="s", name="s", kind="html", url=testweb.url("/list"), link_selector="div.teaser a")
    r = run(lambda f: f.fetch_source(src, SourceState()))
    assert r.status == "ok" and r.candidates == [] and "matched no article links" in (r.error or "")


def test_injected_transport_is_used() -> None:
    import httpx

    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.path == "/robots.txt":
            return httpx.Response(404)
        return httpx.Response(200, content=RSS.encode(), headers={"Content-Type": "application/rss+xml"})

    src = Source(key="s", name="s", kind="feed", url="http://127.0.0.1:9/feed.xml")
    r = run(lambda f: f.fetch_source(src, SourceState()), transport=httpx.MockTransport(answer))
    assert r.status == "ok" and len(r.candidates) == 1
    assert seen == ["http://127.0.0.1:9/robots.txt", "http://127.0.0.1:9/feed.xml"]


@given(
    data=st.binary(max_size=20_000),
    cuts=st.lists(st.integers(min_value=1, max_value=4096), max_size=30),
    encoding=st.sampled_from(["gzip", "deflate", "identity", *(["br"] if brotli_available() else [])]),
)
@hypothesis_settings(max_examples=60, deadline=None)
def test_bounded_decoder_equals_one_shot_decoding(data: bytes, cuts: list[int], encoding: str) -> None:
    import gzip
    import zlib

    compress = {"gzip": gzip.compress, "deflate": zlib.compress, "identity": bytes}
    if encoding == "br":
        import brotli

        compress["br"] = brotli.compress
    wire = compress[encoding](data)
    dec = BoundedDecoder(encoding, len(data))
    out, pos = [], 0
    for n in [*cuts, len(wire)]:
        out.append(dec.feed(wire[pos : pos + n]))
        pos += n
    out.append(dec.flush())
    assert b"".join(out) == data
    if data:
        with pytest.raises(TooLarge):
            small = BoundedDecoder(encoding, len(data) - 1)
            small.feed(wire)
            small.flush()


def test_deflate_bomb_stops_at_the_limit(testweb: LocalWeb) -> None:
    import zlib

    comp = zlib.compressobj(9)
    bomb = b"".join(comp.compress(b"\0" * (1 << 20)) for _ in range(30)) + comp.flush()
    testweb.add("/deflate-bomb", bomb, headers={"Content-Encoding": "deflate"})
    with pytest.raises(TooLarge, match="after decompression"):
        page(testweb, "/deflate-bomb")


def test_bot_challenge_is_reported_and_not_retried(testweb: LocalWeb) -> None:
    challenge = "<html><title>Just a moment...</title></html>"
    testweb.add("/challenged", challenge, 503, headers={"cf-mitigated": "challenge"})
    r = source(testweb, "/challenged", settings=replace(FAST, max_retries=2))
    assert r.status == "error" and r.http_status == 503 and "bot challenge" in (r.error or "")
    assert len(testweb.requests("/challenged")) == 1  # a plain 503 would have been asked three times


class _RawServer:
    """A raw HTTP/1.1 server on a thread per connection; subclasses answer in ``_serve``."""

    def __init__(self) -> None:
        self.connections = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: Any) -> None:
        raise NotImplementedError

    @staticmethod
    def _next_request(conn: Any, buf: bytes) -> bytes | None:
        """Read up to the end of the next request head; what follows it, or None once the client closed."""
        while b"\r\n\r\n" not in buf:
            data = conn.recv(65536)
            if not data:
                return None
            buf += data
        return buf.split(b"\r\n\r\n", 1)[1]

    def url(self, path: str = "/p") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.sock.close()


class _KeepAliveServer(_RawServer):
    """An HTTP/1.1 server that keeps each connection open for ``idle`` seconds after a response, then
    closes it (or, with ``chatter``, sends bytes nobody asked for): what a pooled connection meets."""

    def __init__(self, idle: float, chatter: bool = False) -> None:
        self.idle, self.chatter = idle, chatter
        super().__init__()

    def _serve(self, conn: Any) -> None:
        with conn:
            conn.settimeout(self.idle)
            buf: bytes | None = b""
            try:
                while True:
                    buf = self._next_request(conn, buf)
                    if buf is None:
                        return
                    body = b"<p>kept alive</p>"
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s"
                                 % (len(body), body))
            except OSError:  # idle too long: close without a word, as servers do, or first say so
                if self.chatter:
                    conn.sendall(b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n")
                    time.sleep(2)  # and keep the connection open


@pytest.mark.parametrize("chatter", [False, True], ids=["closed-while-idle", "unasked-for-bytes"])
def test_pooled_connection_spoiled_while_idle_is_replaced_not_failed(chatter: bool) -> None:
    server = _KeepAliveServer(idle=0.1, chatter=chatter)
    try:
        async def twice(f: Fetcher) -> list[Page]:
            first = await f.fetch_page(server.url())
            await asyncio.sleep(0.4)  # the server has closed (or spoken on) the idle connection by now
            return [first, await f.fetch_page(server.url())]

        pages = run(twice)  # no retries in FAST: a reused dead connection would fail here
        assert [p.text for p in pages] == ["<p>kept alive</p>"] * 2
        assert server.connections == 2
    finally:
        server.close()


def test_pooled_connection_is_reused_while_alive() -> None:
    server = _KeepAliveServer(idle=5.0)
    try:
        async def three(f: Fetcher) -> list[Page]:
            return [await f.fetch_page(server.url()) for _ in range(3)]

        assert len(run(three)) == 3 and server.connections == 1
    finally:
        server.close()


NO_ROBOTS = replace(FAST, respect_robots=False)


class _ScriptedServer(_RawServer):
    """A raw HTTP/1.1 server: ``answer(n)`` gives the bytes sent for the n-th request it gets
    (None: close the connection without a word)."""

    def __init__(self, answer: Any) -> None:
        self.answer, self.requests = answer, 0
        super().__init__()

    def _serve(self, conn: Any) -> None:
        with conn:
            conn.settimeout(5)
            buf: bytes | None = b""
            try:
                while True:
                    buf = self._next_request(conn, buf)
                    if buf is None:
                        return
                    reply = self.answer(self.requests)
                    self.requests += 1
                    if reply is None:
                        return
                    conn.sendall(reply)
            except OSError:
                return


def _http(body: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s%s" % (len(body), body, extra)


def test_bytes_past_a_response_are_never_taken_as_the_next_answer() -> None:
    # a response followed by bytes nobody asked for (here a whole second response, sent at once):
    # the connection must not be reused, or the next request would get the unasked-for answer
    server = _ScriptedServer(lambda n: _http(b"<p>one</p>", _http(b"<p>smuggled</p>")) if n == 0
                             else _http(b"<p>two</p>"))
    try:
        async def twice(f: Fetcher) -> list[str]:
            first = await f.fetch_page(server.url())
            await asyncio.sleep(0.05)
            return [first.text, (await f.fetch_page(server.url())).text]

        assert run(twice, NO_ROBOTS) == ["<p>one</p>", "<p>two</p>"] and server.connections == 2
    finally:
        server.close()


def test_large_body_over_one_connection_arrives_whole_and_connection_is_reused() -> None:
    big = bytes(range(256)) * 8192  # 2 MiB: several times the read buffer, so reading pauses and resumes
    server = _ScriptedServer(lambda n: _http(big))
    try:
        async def twice(f: Fetcher) -> list[bytes]:
            return [(await f.fetch_page(server.url())).body for _ in range(2)]

        bodies = run(twice, replace(NO_ROBOTS, max_body_size=10_000_000))
        assert bodies == [big, big] and server.connections == 1
    finally:
        server.close()


def test_informational_responses_are_skipped() -> None:
    hints = b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
    server = _ScriptedServer(lambda n: hints + _http(b"<p>final</p>"))
    try:
        assert run(lambda f: f.fetch_page(server.url()), NO_ROBOTS).text == "<p>final</p>"
    finally:
        server.close()


def test_server_closing_without_an_answer_is_a_clear_error() -> None:
    server = _ScriptedServer(lambda n: None)
    try:
        with pytest.raises(ConnectionFailed, match="Server disconnected without sending a response"):
            run(lambda f: f.fetch_page(server.url()), NO_ROBOTS)
    finally:
        server.close()


def test_malformed_response_is_a_clear_error() -> None:
    server = _ScriptedServer(lambda n: b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!")
    try:
        with pytest.raises(ConnectionFailed, match="connection failed.*[Cc]ontent-[Ll]ength"):
            run(lambda f: f.fetch_page(server.url()), NO_ROBOTS)
    finally:
        server.close()


def test_host_slot_cancelled_while_waiting_for_its_start_is_given_back() -> None:
    from pipeline.fetch.politeness import HostGate

    async def go() -> bool:
        gate = HostGate(1, 30.0)
        async with gate.slot():  # the first start is immediate; the next is reserved 30 s later
            pass

        async def second() -> None:
            async with gate.slot():
                raise AssertionError("must not start before the spacing")

        task = asyncio.create_task(second())
        await asyncio.sleep(0.05)  # waiting out the spacing, slot held
        held = gate._sem.locked()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return held and not gate._sem.locked()

    assert asyncio.run(go())
