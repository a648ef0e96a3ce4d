"""The SSRF guard: private, loopback, link-local, metadata addresses are refused before any connection."""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import replace
from typing import Any

import pytest

from pipeline.config import Settings, Source
from pipeline.fetch import Fetcher, Page, Refused, SourceResult, SourceState
from pipeline.fetch.guard import AddressGuard, refusal_reason
from tests.testweb import LocalWeb, testweb_fixture  # noqa: F401 - fixture

GUARDED = Settings(allow_private_networks=False, per_host_delay=0.0, connect_timeout=1.0, read_timeout=1.0,
                   total_timeout=2.0, max_retries=0)
RSS = ('<rss version="2.0"><channel><title>t</title><item><title>a</title><link>https://e.example/a</link>'
       "</item></channel></rss>")


def run(fn: Any, settings: Settings = GUARDED, **kw: Any) -> Any:
    async def go() -> Any:
        async with Fetcher(settings, **kw) as f:
            return await fn(f)

    return asyncio.run(go())


@pytest.mark.parametrize("addr, reason", [
    ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("::1", "loopback"), ("10.1.2.3", "private"),
    ("172.16.0.1", "private"), ("192.168.1.1", "private"), ("169.254.169.254", "cloud metadata"),
    ("fd00:ec2::254", "cloud metadata"), ("169.254.1.1", "link-local"), ("fe80::1", "link-local"),
    ("224.0.0.1", "multicast"), ("ff02::1", "multicast"), ("0.0.0.0", "unspecified"), ("::", "unspecified"),
    ("240.0.0.1", "private"), ("::ffff:127.0.0.1", "loopback"), ("fc00::1", "private"),
    ("100.64.0.1", "non-global"), ("8.8.8.8", None), ("2606:4700:4700::1111", None), ("93.184.216.34", None),
])
def test_refusal_reasons(addr: str, reason: str | None) -> None:
    assert refusal_reason(ipaddress.ip_address(addr)) == reason


def test_loopback_is_refused_without_sending_anything(testweb: LocalWeb) -> None:
    testweb.add("/feed.xml", RSS, content_type="application/rss+xml")
    src = Source(key="s", name="s", kind="feed", url=testweb.url("/feed.xml"))
    r: SourceResult = run(lambda f: f.fetch_source(src, SourceState()))
    assert r.status == "refused" and r.http_status is None
    assert "refused loopback address 127.0.0.1" in (r.error or "") and "allow_private_networks" in (r.error or "")
    with pytest.raises(Refused):
        run(lambda f: f.fetch_page(f"http://[::1]:{testweb.port}/feed.xml"))
    with pytest.raises(Refused, match=r"localhost \(127.0.0.1\)"):
        run(lambda f: f.fetch_page(f"http://localhost:{testweb.port}/feed.xml"))
    with pytest.raises(Refused, match="loopback"):  # 2130706433 == 127.0.0.1 in decimal
        run(lambda f: f.fetch_page(f"http://2130706433:{testweb.port}/feed.xml"))
    assert testweb.requests() == []
    ok = run(lambda f: f.fetch_source(src, SourceState()), replace(GUARDED, allow_private_networks=True))
    assert ok.status == "ok"


def test_redirects_to_private_addresses_are_refused_before_connecting(testweb: LocalWeb) -> None:
    # 127.0.0.1 is exempted (it is the test server); everything else keeps the default policy.
    testweb.add_redirect("/to-private", "http://10.0.0.1/admin")
    testweb.add_redirect("/to-metadata", "http://169.254.169.254/latest/meta-data/iam/")
    testweb.add_redirect("/to-name", f"http://internal.test:{testweb.port}/secret")
    testweb.add_redirect("/to-file", "file:///etc/passwd")
    testweb.add("/secret", "secret")

    async def resolver(host: str, port: int) -> list[str]:
        return {"internal.test": ["127.0.0.2"]}.get(host, ["127.0.0.1"])

    def get(path: str) -> Page:
        return run(lambda f: f.fetch_page(testweb.url(path)), allow_networks=["127.0.0.1/32"], resolver=resolver)

    with pytest.raises(Refused, match="refused private address 10.0.0.1"):
        get("/to-private")
    with pytest.raises(Refused, match="refused cloud metadata address 169.254.169.254"):
        get("/to-metadata")
    with pytest.raises(Refused, match=r"refused loopback address internal.test \(127.0.0.2\)"):
        get("/to-name")
    with pytest.raises(Refused, match="refused URL scheme 'file'"):
        get("/to-file")
    assert testweb.requests("/secret") == []
    src = Source(key="s", name="s", kind="feed", url=testweb.url("/to-metadata"))
    r = run(lambda f: f.fetch_source(src, SourceState()), allow_networks=["127.0.0.1/32"])
    assert r.status == "refused" and "169.254.169.254" in (r.error or "")


def test_dns_answer_with_any_private_address_is_refused() -> None:
    async def rebinding(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "127.0.0.1"]

    async def go() -> None:
        guard = AddressGuard(allow_private=False, resolver=rebinding)
        with pytest.raises(Refused, match="evil.example"):
            await guard.resolve("evil.example", 80)
        public = AddressGuard(allow_private=False, resolver=lambda h, p: _const(["93.184.216.34"]))
        assert await public.resolve("ok.example", 443) == ["93.184.216.34"]

    asyncio.run(go())


async def _const(value: list[str]) -> list[str]:
    return value


def test_connection_goes_to_the_checked_address(testweb: LocalWeb) -> None:
    # The pool connects to the address the guard resolved, not to whatever DNS says later.
    testweb.add("/p", "<p>pinned</p>", host="pinned.test")
    calls: list[str] = []

    async def resolver(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"]

    p = run(lambda f: f.fetch_page(testweb.url("/p", host="pinned.test")), replace(GUARDED, respect_robots=False),
            resolver=resolver, allow_networks=["127.0.0.0/8"])
    assert p.text == "<p>pinned</p>" and calls == ["pinned.test"]  # one lookup, cached for the connect
