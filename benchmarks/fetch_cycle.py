"""Fetch-cycle benchmark: N feeds over M slow hosts, against the bound set by per-host politeness.

The hosts are names (host0.test, host1.test, ...) that the Fetcher's resolver maps to a local
test server running in a separate process, so each host gets its own politeness gate while
nothing leaves the machine. Every response waits ``--latency`` seconds before answering.

The lower bound for one host with k requests (robots.txt included), concurrency c, delay d and
latency L: request i cannot start before request i-1 started + d, nor before request i-c
finished; the host is done when its last request finishes. The cycle's bound is the slowest
host's. The bar is cycle time <= 1.2 x bound.

    python benchmarks/fetch_cycle.py                      # 1000 feeds, 50 hosts, 50 ms
    python benchmarks/fetch_cycle.py --feeds 200 --hosts 10 --latency 0.1 --delay 0.2
    python benchmarks/fetch_cycle.py --items 200 --encoding br   # compressed feeds, if asked for

With ``--encoding`` the server compresses a feed only when the request's Accept-Encoding names
that coding (as a CDN does), so a fetcher without a brotli decoder gets identity bodies.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing as mp
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.config import Settings, Source  # noqa: E402
from pipeline.fetch import Fetcher, SourceState  # noqa: E402


def feed_body(host: str, path: str, items: int) -> bytes:
    entries = "".join(
        f"<item><title>{host} story {i} on equipment bans</title><link>https://{host}/story/{path}/{i}</link>"
        f"<guid>https://{host}/story/{path}/{i}</guid>"
        f"<pubDate>Mon, 01 Jan 2024 10:{i % 60:02d}:00 GMT</pubDate>"
        f"<description>Summary of story {i}: a regulator restricts equipment from a vendor.</description>"
        "</item>"
        for i in range(items)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{host}</title>'
        f"<link>https://{host}/</link>{entries}</channel></rss>"
    ).encode()


def compressor(encoding: str):  # noqa: ANN201 - bytes -> bytes
    if encoding == "gzip":
        import gzip

        return lambda data: gzip.compress(data, 6)
    if encoding == "br":
        import brotli

        return lambda data: brotli.compress(data, quality=5)  # a CDN's on-the-fly level
    return None


def serve(  # runs in a child process
    port_out: mp.connection.Connection, latency: float, items: int, encoding: str = "identity"
) -> None:
    from tests.testweb import LocalWeb, LoggedRequest, Response

    web = LocalWeb()
    compress = compressor(encoding)

    def handler(req: LoggedRequest) -> Response:
        if req.path == "/robots.txt":
            return Response("User-agent: *\nDisallow: /private/\n", content_type="text/plain", delay=latency)
        body = feed_body(req.host, req.path.strip("/"), items)
        offered = [e.split(";")[0].strip() for e in req.headers.get("accept-encoding", "").split(",")]
        if compress is not None and encoding in offered:
            headers = {"Content-Encoding": encoding, "Vary": "Accept-Encoding"}
            return Response(
                compress(body), content_type="application/rss+xml", headers=headers, delay=latency
            )
        return Response(body, content_type="application/rss+xml", delay=latency)

    web.set_default(handler)
    port_out.send(web.port)
    port_out.recv()  # block until the parent says stop
    web.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    answered = sorted(r.answered_at - r.at for r in web.requests() if r.answered_at is not None)
    port_out.send((usage.ru_utime + usage.ru_stime, answered))


def host_bound(k: int, c: int, d: float, latency: float) -> float:
    starts: list[float] = []
    for i in range(k):
        s = 0.0
        if i >= 1:
            s = max(s, starts[i - 1] + d)
        if i >= c:
            s = max(s, starts[i - c] + latency)
        starts.append(s)
    return (starts[-1] + latency) if starts else 0.0


async def cycle(port: int, args: argparse.Namespace) -> tuple[float, list, int]:
    settings = Settings(
        allow_private_networks=True,
        per_host_concurrency=args.concurrency,
        per_host_delay=args.delay,
        max_retries=0,
        connect_timeout=10,
        read_timeout=30,
        total_timeout=60,
        respect_robots=not args.no_robots,
    )

    async def resolve(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    sources = [
        Source(
            key=f"f{i}",
            name=f"feed {i}",
            kind="feed",
            url=f"http://host{i % args.hosts}.test:{port}/feed/{i}.xml",
        )
        for i in range(args.feeds)
    ]
    t0 = time.perf_counter()
    async with Fetcher(settings, resolver=resolve) as fetcher:
        results = await asyncio.gather(*(fetcher.fetch_source(s, SourceState()) for s in sources))
    return time.perf_counter() - t0, results, len(sources)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--hosts", type=int, default=50)
    ap.add_argument("--latency", type=float, default=0.05, help="seconds each response waits (default 0.05)")
    ap.add_argument("--concurrency", type=int, default=2, help="per_host_concurrency (default 2)")
    ap.add_argument("--delay", type=float, default=0.2, help="per_host_delay in seconds (default 0.2)")
    ap.add_argument("--items", type=int, default=10, help="items per feed (default 10)")
    ap.add_argument("--no-robots", action="store_true", help="respect_robots = false")
    ap.add_argument(
        "--encoding",
        choices=("identity", "gzip", "br"),
        default="identity",
        help="Content-Encoding of feeds when the fetcher asks for it (default identity)",
    )
    ap.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations (slower)")
    args = ap.parse_args()

    parent, child = mp.Pipe()
    server = mp.get_context("spawn").Process(
        target=serve, args=(child, args.latency, args.items, args.encoding), daemon=True
    )
    server.start()
    port = parent.recv()
    try:
        gc.collect()
        usage0 = resource.getrusage(resource.RUSAGE_SELF)
        rss_before = usage0.ru_maxrss
        if args.tracemalloc:
            tracemalloc.start()
        elapsed, results, n = asyncio.run(cycle(port, args))
        traced_peak = tracemalloc.get_traced_memory()[1] if args.tracemalloc else None
        usage1 = resource.getrusage(resource.RUSAGE_SELF)
        rss_after = usage1.ru_maxrss
        cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
    finally:
        parent.send("stop")
        server_cpu, answered = parent.recv() if parent.poll(10) else (float("nan"), [])
        server.join(5)

    per_host = [
        args.feeds // args.hosts + (1 if h < args.feeds % args.hosts else 0) for h in range(args.hosts)
    ]
    extra = 0 if args.no_robots else 1
    bound = max(host_bound(k + extra, args.concurrency, args.delay, args.latency) for k in per_host if k)
    statuses: dict[str, int] = {}
    for r in results:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    candidates = sum(len(r.candidates) for r in results)
    wire = sum(r.bytes for r in results)
    ratio = elapsed / bound
    print(
        f"fetch cycle: {n} feeds over {args.hosts} hosts, latency {args.latency * 1000:.0f} ms, "
        f"per_host_concurrency {args.concurrency}, per_host_delay {args.delay:g}s, {args.items} items/feed, "
        f"robots {'off' if args.no_robots else 'on'}, encoding {args.encoding} when asked"
    )
    print(
        f"  statuses: {statuses}; candidates: {candidates}; feed bytes on the wire: {wire / 1024**2:.2f} MiB"
    )
    print(f"  cycle time: {elapsed:.2f} s")
    print(f"  politeness lower bound: {bound:.2f} s")
    print(f"  ratio: {ratio:.3f}  (bar <= 1.2: {'PASS' if ratio <= 1.2 else 'FAIL'})")
    print(
        f"  CPU: fetcher {cpu:.2f} s ({cpu / n * 1000:.2f} ms per feed), test server (other process) "
        f"{server_cpu:.2f} s, on {os.cpu_count()} cores"
    )
    if answered:  # shows whether the server, not the fetcher, added time
        q = [answered[min(len(answered) - 1, int(len(answered) * p))] * 1000 for p in (0.5, 0.99)]
        print(
            f"  test server answer time: p50 {q[0]:.0f} ms, p99 {q[1]:.0f} ms "
            f"(latency {args.latency * 1000:.0f} ms)"
        )
    print(f"  peak RSS: {rss_after / 1024:.1f} MiB (before the cycle {rss_before / 1024:.1f} MiB)")
    if traced_peak is not None:
        print(f"  tracemalloc peak: {traced_peak / 1024**2:.1f} MiB")


if __name__ == "__main__":
    main()
