"""What the ASGI request counter (shardtally.asgi) costs a request, and what the PostgreSQL
store writes, in one run.

1. In process: a trivial ASGI app called directly, with and without
   ``RequestCountingMiddleware`` (counting into an in-process ``Buckets``; the sender's
   deliveries are inside the timed region): ns per request and the difference.
2. Over loopback (not with ``--smoke``): the same app under uvicorn, hit by 8 keep-alive
   connections, with and without the middleware: ns per request (wall time / requests).
3. With ``SHARDTALLY_PG_URL`` set: 10 000 requests over 20 routes counted into a
   ``BucketsStore``: transactions and rows written, against count's one row per request.

Each case of 1 and 2 runs ``--repeat`` times interleaved with its twin; the best run counts.

    python bench/middleware.py [--requests 100000] [--repeat 5] [--smoke]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn

from shardtally import Buckets
from shardtally.asgi import RequestCounter, RequestCountingMiddleware

Message = MutableMapping[str, Any]
ASGI = Callable[[MutableMapping[str, Any], Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]
START: Message = {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
BODY: Message = {"type": "http.response.body", "body": b"ok"}
PATHS = [f"/users/{i}" for i in range(50)] + [f"/orders/{i}/items" for i in range(50)] + ["/", "/health"]


async def app(scope: MutableMapping[str, Any], receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]) -> None:
    """A trivial ASGI app: 200 "ok"."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send(START)
    await send(BODY)


async def in_process(asgi: ASGI, n: int) -> float:
    """ns per request of ``n`` direct calls (yielding to the loop between requests, as a
    server does, so the counter's sender runs)."""
    scopes = [{"type": "http", "method": "GET", "path": p, "raw_path": p.encode(), "query_string": b""} for p in PATHS]

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        pass

    gc.collect()
    start = time.perf_counter_ns()
    for i in range(n):
        await asgi(scopes[i % len(scopes)], receive, send)
        await asyncio.sleep(0)
    if isinstance(asgi, RequestCountingMiddleware):
        await asgi.counter.flush()
    return (time.perf_counter_ns() - start) / n


async def loopback(asgi: ASGI, n: int) -> float:
    """ns per request of ``n`` GETs over 8 keep-alive connections to uvicorn."""
    server = uvicorn.Server(uvicorn.Config(asgi, host="127.0.0.1", port=0, log_level="warning", access_log=False))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.005)
    port = server.servers[0].sockets[0].getsockname()[1]
    left = n

    async def worker() -> None:
        nonlocal left
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while left > 0:
            left -= 1
            writer.write(f"GET {PATHS[left % len(PATHS)]} HTTP/1.1\r\nHost: b\r\n\r\n".encode())
            await reader.readuntil(b"\r\n\r\n")
            await reader.readexactly(2)
        writer.close()

    start = time.perf_counter_ns()
    await asyncio.gather(*(worker() for _ in range(8)))
    if isinstance(asgi, RequestCountingMiddleware):
        await asgi.counter.flush()
    elapsed = (time.perf_counter_ns() - start) / n
    server.should_exit = True
    await task
    return elapsed


def report(title: str, plain: float, counted: float, counter: RequestCounter, n: int) -> None:
    s = counter.stats
    print(title)
    print(f"  without the middleware   {plain:10.0f} ns/request")
    print(f"  with the middleware      {counted:10.0f} ns/request   (+{counted - plain:.0f} ns, x{counted / plain:.2f})")
    print(f"  counted: {s.delivered} delivered, {s.dropped} dropped, {s.batches} batches for {n} requests per run")


async def rows_per_requests(n: int) -> None:
    url = os.environ.get("SHARDTALLY_PG_URL")
    if not url:
        print("rows written: skipped (set SHARDTALLY_PG_URL, or run under scripts/postgres.sh)")
        return
    from shardtally.pg import BucketsStore  # psycopg is only needed here

    schema = f"st_bench_{uuid.uuid4().hex[:8]}"
    store = await BucketsStore.open(url, schema=schema)
    try:
        counter = RequestCounter(store, outbox={"capacity": 16_384})  # room for the whole burst: this measures rows, not drops
        routes = [f"/route{i}/{i}" for i in range(20)]
        for i in range(n):
            counter.count_request("GET", routes[i % len(routes)])
            if i % 100 == 0:
                await asyncio.sleep(0)
        await counter.aclose()
        st = store.stats
        assert counter.stats.delivered == n, counter.stats
        print(f"rows written for {n} requests over {len(routes)} routes (one burst, batches of up to 1024):")
        print(f"  BucketsStore: {st.transactions} transactions, {st.rows_written} rows ({st.rows_written / n * 10_000:.0f} per 10 000 requests)")
        print(f"  count (one row per request): {n} rows ({10_000} per 10 000 requests)")
        print("  (at a steady rate, each flush_interval_ms writes the routes seen in it + 1 meta row)")
    finally:
        await store.aclose()
        import psycopg

        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


async def amain(args: argparse.Namespace) -> int:
    n = args.requests
    best_plain = best_counted = float("inf")
    counter = RequestCounter(Buckets())
    counted_app = RequestCountingMiddleware(app, counter)
    for _ in range(args.repeat):
        best_plain = min(best_plain, await in_process(app, n))
        best_counted = min(best_counted, await in_process(counted_app, n))
    report(f"in process, {n} requests per run, best of {args.repeat}:", best_plain, best_counted, counter, n)
    assert counter.stats.delivered == n * args.repeat and counter.stats.dropped == 0, counter.stats
    await counter.aclose()

    if not args.smoke:
        m = max(n // 10, 1000)
        best_plain = best_counted = float("inf")
        for _ in range(args.repeat):
            best_plain = min(best_plain, await loopback(app, m))
            counter = RequestCounter(Buckets())
            counted_app = RequestCountingMiddleware(app, counter)
            best_counted = min(best_counted, await loopback(counted_app, m))
        report(f"over loopback (uvicorn, 8 keep-alive connections), {m} requests per run, best of {args.repeat}:", best_plain, best_counted, counter, m)

    await rows_per_requests(1_000 if args.smoke else 10_000)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="shardtally.asgi: ns per request, rows per 10 000 requests")
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: only checks that it runs")
    args = parser.parse_args(argv)
    if args.smoke:
        args.requests, args.repeat = 2_000, 1
    return asyncio.run(amain(args))


if __name__ == "__main__":
    sys.exit(main())
