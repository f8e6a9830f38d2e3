"""The ASGI request counter (shardtally.asgi): real uvicorn servers on loopback, Starlette and
plain ASGI apps; every request succeeds whatever the sink does, and every request is
accounted for: delivered, or dropped and counted."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from test_asgi_support import get_many, serve

import shardtally
from shardtally import Buckets, UnknownSettingError
from shardtally.asgi import (
    Event,
    RequestCounter,
    RequestCountingMiddleware,
    default_route,
    record_events,
    request_key,
    request_path,
)

UUID = "3f2c1b9e-0a5d-4c1e-9a7b-1234567890ab"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


async def hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def starlette_app(counter: RequestCounter) -> Starlette:
    return Starlette(
        routes=[Route("/users/{id}", hello), Route("/users/{id}/orders/{order}", hello), Route("/health", hello)],
        middleware=[Middleware(RequestCountingMiddleware, counter=counter)],
    )


async def plain_app(
    scope: MutableMapping[str, Any],
    receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
    send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
) -> None:
    """A plain ASGI app: 200 "ok" for every request; lifespan supported."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


def total_events(buckets: Buckets) -> dict[str, int]:
    """Raw counts per key over every raw day."""
    out: Counter[str] = Counter()
    for row in buckets.rows():
        if row._type == "raw":
            out[row.key] += row.count  # type: ignore[union-attr]
    return dict(out)


# ----- routes and keys -----


def test_keys_are_the_engines_rule() -> None:
    # The rule itself is core's (shardtally::buckets), checked by traces/routes.json in every
    # runtime; the middleware re-exports it and keys every request with it.
    assert (default_route, request_key) == (shardtally.default_route, shardtally.request_key)

    async def run() -> None:
        events: list[Event] = []
        counter = RequestCounter(events.extend, max_key_bytes=64)
        assert counter.count_request("PROPFIND", f"/users/42/files/{UUID}")
        assert counter.count_request("GET", "/" + "é" * 40)
        await counter.aclose()
        assert [key for key, _ in events] == ["OTHER /users/:id/files/:uuid", "GET /" + "é" * 29]

    asyncio.run(run())


def test_request_path_is_the_raw_path_without_the_query() -> None:
    assert request_path({"raw_path": b"/caf%C3%A9/1?x=2", "path": "/café/1"}) == "/caf%C3%A9/1"
    assert request_path({"path": "/users/1"}) == "/users/1"
    assert request_path({"raw_path": b"http://example.com/users/1"}) == "/users/1"
    assert request_path({"raw_path": b"http://example.com"}) == "/"


# ----- the acceptance run: 10 000 requests, the sink down for part of it -----


def test_ten_thousand_requests_with_the_sink_down_for_a_while() -> None:
    async def run() -> None:
        buckets = Buckets()
        down = False
        calls = Counter[str]()

        async def sink(events: list[Event]) -> None:
            if down:
                calls["failed"] += 1
                raise ConnectionError("the sink is down")
            calls["ok"] += 1
            assert record_events(buckets, events, now_ms()) == 0

        counter = RequestCounter(
            sink,
            flush_interval_ms=20,
            outbox={"capacity": 2_048, "max_in_flight": 256, "reconnect_min_ms": 5, "reconnect_max_ms": 40, "seed": 7},
        )

        def progress(done: int) -> None:
            nonlocal down
            if done == 3_000:
                down = True
            elif done == 6_000:
                down = False

        paths = [f"/users/{i % 97}" if i % 3 else f"/users/{i}/orders/{UUID}" for i in range(10_000)]
        async with serve(starlette_app(counter)) as port:
            statuses = await get_many(port, paths, connections=8, progress=progress)
        # The server's lifespan shutdown drained the counter.
        assert statuses == [200] * 10_000, Counter(statuses)
        s = counter.stats
        assert (s.requests, s.skipped, s.route_errors, s.offered, s.held) == (10_000, 0, 0, 10_000, 0)
        assert s.delivered + s.dropped == 10_000, s
        assert calls["failed"] > 0 and s.failures > 0 and s.dropped > 0, (calls, s)
        assert calls["ok"] == s.batches - calls["failed"]
        # What was delivered is exactly what the buckets hold, under the normalised routes.
        events = total_events(buckets)
        assert sum(events.values()) == s.delivered
        assert set(events) == {"GET /users/:id", "GET /users/:id/orders/:uuid"}

    asyncio.run(run())


def test_a_plain_asgi_app_under_uvicorn_counts_every_request_and_lifespan_drains() -> None:
    async def run() -> None:
        buckets = Buckets()
        counter = RequestCounter(buckets, flush_interval_ms=10_000)  # only the shutdown delivers
        paths = ["/", "/items/1", "/items/2?x=1", f"/items/{UUID}/parts/3"] * 250
        async with serve(RequestCountingMiddleware(plain_app, counter=counter)) as port:
            statuses = await get_many(port, paths, connections=4)
            assert counter.stats.delivered == 0 and counter.stats.held == 1_000
        assert statuses == [200] * 1_000
        assert counter.stats.delivered == 1_000 and counter.stats.batches == 1
        assert total_events(buckets) == {"GET /": 250, "GET /items/:id": 500, "GET /items/:uuid/parts/:id": 250}

    asyncio.run(run())


# ----- batching -----


def test_a_batch_is_at_most_max_in_flight_events_and_flush_sends_them_all() -> None:
    async def run() -> None:
        batches: list[list[Event]] = []

        async def sink(events: list[Event]) -> None:
            batches.append(events)

        counter = RequestCounter(sink, flush_interval_ms=60_000, outbox={"max_in_flight": 4})
        for i in range(10):
            counter.count_request("GET", f"/a/{i}")
        await counter.flush()
        assert [len(b) for b in batches] == [4, 4, 2]
        assert {key for b in batches for key, _ in b} == {"GET /a/:id"}
        await counter.aclose()
        assert counter.stats.delivered == 10

    asyncio.run(run())


def test_a_lingering_batch_goes_out_after_the_flush_interval() -> None:
    async def run() -> None:
        arrived = asyncio.Event()
        batches: list[list[Event]] = []

        async def sink(events: list[Event]) -> None:
            batches.append(events)
            arrived.set()

        counter = RequestCounter(sink, flush_interval_ms=30)
        start = now_ms()
        for _ in range(3):
            counter.count_request("POST", "/x")
        await asyncio.wait_for(arrived.wait(), 5)
        assert [len(b) for b in batches] == [3]
        assert now_ms() - start >= 30
        await counter.aclose()

    asyncio.run(run())


# ----- failures never reach the request -----


def test_route_hooks_skip_and_raise_without_failing_requests() -> None:
    async def run() -> None:
        buckets = Buckets()

        def route(path: str, scope: Any) -> str | None:
            if path == "/health":
                return None
            if path.startswith("/boom"):
                raise RuntimeError("hook bug")
            if path == "/number":
                return cast(str, 42)  # a hook bug too: no key is made of a route that is not a str
            return default_route(path)

        counter = RequestCounter(buckets, route=route)
        app = starlette_app(counter)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            for path in ["/health", "/boom/1", "/number", "/users/5", "/users/6?q=1", "/nowhere"]:
                response = await client.get(path)
                assert response.status_code in (200, 404)
        await counter.aclose()
        s = counter.stats
        assert (s.requests, s.skipped, s.route_errors, s.delivered) == (6, 1, 2, 3)
        assert total_events(buckets) == {"GET /users/:id": 2, "GET /nowhere": 1}

    asyncio.run(run())


def test_a_full_outbox_and_a_closed_counter_drop_and_count() -> None:
    async def run() -> None:
        release = asyncio.Event()
        delivered: list[Event] = []

        async def sink(events: list[Event]) -> None:
            await release.wait()
            delivered.extend(events)

        counter = RequestCounter(sink, outbox={"capacity": 5})
        queued = [counter.count_request("GET", "/") for _ in range(20)]
        assert queued == [True] * 5 + [False] * 15
        release.set()
        await counter.aclose()
        assert counter.count_request("GET", "/") is False
        s = counter.stats
        assert (s.delivered, s.dropped_full, s.dropped_closed, len(delivered)) == (5, 15, 1, 5)
        assert s.delivered + s.dropped == s.requests == 21

    asyncio.run(run())


def test_a_hanging_sink_times_out_is_resent_once_then_given_up() -> None:
    async def run() -> None:
        given_up: list[Event] = []
        attempts = 0

        async def sink(events: list[Event]) -> None:
            nonlocal attempts
            attempts += 1
            await asyncio.Event().wait()  # never answers

        counter = RequestCounter(
            sink,
            on_gave_up=given_up.extend,
            outbox={"send_timeout_ms": 30, "reconnect_min_ms": 1, "reconnect_max_ms": 5},
        )
        counter.count_request("DELETE", "/users/9")
        await counter.flush()
        s = counter.stats
        assert (attempts, s.failures, s.resends, s.gave_up, s.held) == (2, 2, 1, 1, 0)
        assert [key for key, _ in given_up] == ["DELETE /users/:id"]
        await counter.aclose()

    asyncio.run(run())


def test_a_store_like_sink_reconnects_after_a_failure() -> None:
    async def run() -> None:
        class Flaky:
            def __init__(self) -> None:
                self.buckets = Buckets()
                self.fail_next = 1
                self.reconnects = 0

            async def apply(self, fn: Any) -> Any:
                if self.fail_next:
                    self.fail_next -= 1
                    raise OSError("connection reset")
                return fn(self.buckets)

            async def reconnect(self) -> None:
                self.reconnects += 1

        store = Flaky()
        counter = RequestCounter(store, outbox={"reconnect_min_ms": 1, "reconnect_max_ms": 5})
        counter.count_request("GET", "/a")
        await counter.flush()
        s = counter.stats
        assert (s.failures, s.resends, s.reconnects, s.delivered, store.reconnects) == (1, 1, 1, 1, 1)
        assert total_events(store.buckets) == {"GET /a": 1}
        await counter.aclose()

    asyncio.run(run())


def test_events_the_buckets_refuse_are_counted_as_rejected() -> None:
    async def run() -> None:
        buckets = Buckets(max_keys=2)
        counter = RequestCounter(buckets)
        for path in ["/a", "/b", "/a", "/c", "/c", "/b"]:
            counter.count_request("GET", path)
        await counter.aclose()
        s = counter.stats
        assert (s.delivered, s.rejected) == (6, 2)
        assert total_events(buckets) == {"GET /a": 2, "GET /b": 2}

    asyncio.run(run())


def test_record_events_records_each_run_of_equal_times_and_keeps_the_rest_on_a_refusal() -> None:
    buckets = Buckets()
    t = now_ms()
    events: list[Event] = [("a", t), ("b", t), ("a", t), ("a", t + 1), ("x" * 300, t + 1)]
    assert record_events(buckets, events, t + 1) == 1
    assert total_events(buckets) == {"a": 3, "b": 1}
    assert buckets.stats.records == 2  # one record_many for t; for t + 1, a refused one, then per key


def test_bad_options_are_refused_when_the_counter_is_made() -> None:
    with pytest.raises(UnknownSettingError):
        RequestCounter(Buckets(), outbox=cast(Any, {"capacityy": 3}))
    with pytest.raises(TypeError):
        RequestCounter(object())  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        RequestCounter(Buckets(), flush_interval_ms=-1)
    for max_key_bytes in (0, 2**32):
        with pytest.raises(ValueError):
            RequestCounter(Buckets(), max_key_bytes=max_key_bytes)
    with pytest.raises(TypeError):
        RequestCountingMiddleware(plain_app, cast(Any, Buckets()))


# ----- the README -----


def test_the_readme_example_runs() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## HTTP middleware\n", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    exec(compile(code.group(1), "README.md: HTTP middleware", "exec"), {"__name__": "readme"})
