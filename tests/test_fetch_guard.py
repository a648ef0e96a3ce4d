"""The SSRF guard: private, loopback, link-local, metadata addresses are refused before any connection."""

from __future__ import annotations

import asyncio
import ipaddress
import shutil
import socket
import ssl
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pipeline.config import Settings, Source
from pipeline.fetch import ConnectionFailed, Fetcher, Page, Refused, SourceResult, SourceState
from pipeline.fetch.guard import AddressGuard, refusal_reason
from tests.testweb import LocalWeb, testweb_fixture  # noqa: F401 - fixture

GUARDED = Settings(
    allow_private_networks=False,
    per_host_delay=0.0,
    connect_timeout=1.0,
    read_timeout=1.0,
    total_timeout=2.0,
    max_retries=0,
)
RSS = (
    '<rss version="2.0"><channel><title>t</title><item><title>a</title><link>https://e.example/a</link>'
    "</item></channel></rss>"
)


def run(fn: Any, settings: Settings = GUARDED, **kw: Any) -> Any:
    async def go() -> Any:
        async with Fetcher(settings, **kw) as f:
            return await fn(f)

    return asyncio.run(go())


@pytest.mark.parametrize(
    "addr, reason",
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "cloud metadata"),
        ("fd00:ec2::254", "cloud metadata"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("240.0.0.1", "private"),
        ("::ffff:127.0.0.1", "loopback"),
        ("fc00::1", "private"),
        ("100.64.0.1", "non-global"),
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
        ("93.184.216.34", None),
    ],
)
def test_refusal_reasons(addr: str, reason: str | None) -> None:
    assert refusal_reason(ipaddress.ip_address(addr)) == reason


def test_loopback_is_refused_without_sending_anything(testweb: LocalWeb) -> None:
    testweb.add("/feed.xml", RSS, content_type="application/rss+xml")
    src = Source(key="s", name="s", kind="feed", url=testweb.url("/feed.xml"))
    r: SourceResult = run(lambda f: f.fetch_source(src, SourceState()))
    assert r.status == "refused" and r.http_status is None
    assert "refused loopback address 127.0.0.1" in (r.error or "") and "allow_private_networks" in (
        r.error or ""
    )
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
        return run(
            lambda f: f.fetch_page(testweb.url(path)), allow_networks=["127.0.0.1/32"], resolver=resolver
        )

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

    p = run(
        lambda f: f.fetch_page(testweb.url("/p", host="pinned.test")),
        replace(GUARDED, respect_robots=False),
        resolver=resolver,
        allow_networks=["127.0.0.0/8"],
    )
    assert p.text == "<p>pinned</p>" and calls == ["pinned.test"]  # one lookup, cached for the connect


def _make_certs(folder: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for secure.test (openssl CLI)."""

    def sh(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True, timeout=30)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    sh(
        "req",
        "-x509",
        *ec,
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=banwatch test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
    )
    sh("req", *ec, "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=secure.test")
    (folder / "ext.cnf").write_text("subjectAltName=DNS:secure.test\n")
    sh(
        "x509",
        "-req",
        "-in",
        "srv.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "srv.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    )
    return folder / "ca.pem", folder / "srv.pem", folder / "srv.key"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_https_to_a_pinned_address_still_verifies_the_host_name(tmp_path: Path) -> None:
    ca, cert, key = _make_certs(tmp_path)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    web = LocalWeb(tls=server_ctx)
    try:
        web.add("/feed.xml", RSS, content_type="application/rss+xml")
        client_ctx = ssl.create_default_context(cafile=str(ca))
        settings = replace(GUARDED, respect_robots=False)

        def get(host: str) -> Page:
            return run(
                lambda f: f.fetch_page(web.url("/feed.xml", host=host), accept="feed"),
                settings,
                resolver=web.resolve,
                allow_networks=["127.0.0.1/32"],
                ssl_context=client_ctx,
            )

        assert get("secure.test").text == RSS  # SNI and verification use the name, the socket the address
        with pytest.raises(ConnectionFailed, match="certificate|hostname"):
            get("other.test")  # same address, name not on the certificate
        assert [r.host for r in web.requests()] == ["secure.test"]
    finally:
        web.close()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_certificate_failure_is_not_retried(tmp_path: Path) -> None:
    ca, cert, key = _make_certs(tmp_path)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    handshakes: list[str | None] = []
    server_ctx.sni_callback = lambda _sock, name, _ctx: handshakes.append(name)
    web = LocalWeb(tls=server_ctx)
    try:
        with pytest.raises(ConnectionFailed, match="TLS certificate rejected") as info:
            run(
                lambda f: f.fetch_page(web.url("/feed.xml", host="other.test"), accept="feed"),
                replace(GUARDED, respect_robots=False, max_retries=2),
                resolver=web.resolve,
                allow_networks=["127.0.0.1/32"],
                ssl_context=ssl.create_default_context(cafile=str(ca)),
                retry_base=0.01,
            )
        assert not info.value.retryable and handshakes == ["other.test"]  # one attempt, not three
    finally:
        web.close()


@pytest.mark.parametrize("errno, attempts", [(socket.EAI_NONAME, 1), (socket.EAI_AGAIN, 3)])
def test_nonexistent_host_is_not_retried_but_a_dns_hiccup_is(errno: int, attempts: int) -> None:
    calls: list[str] = []

    async def resolver(host: str, port: int) -> list[str]:  # what getaddrinfo raises for each case
        calls.append(host)
        raise socket.gaierror(errno, "Name or service not known" if attempts == 1 else "Try again")

    src = Source(key="s", name="s", kind="feed", url="http://lapsed.example/feed.xml")
    r = run(
        lambda f: f.fetch_source(src, SourceState()),
        replace(GUARDED, max_retries=2),
        resolver=resolver,
        retry_base=0.01,
    )
    assert r.status == "error" and "DNS lookup of lapsed.example failed" in (r.error or "")
    assert len(calls) == attempts
