"""Count HTTP requests per ``METHOD route`` into time buckets, from an ASGI middleware.

Every request is recorded synchronously into an in-process :class:`~shardtally.Outbox`
(bounded; when full it drops and counts, it never blocks) as one small message, its key
``"GET /users/:id"`` and its time. Keys are the engine's rule, the same in every binding:
:func:`~shardtally.request_key` of the method and :func:`~shardtally.default_route` of the
path (both re-exported here), unless a route hook says otherwise. A background task delivers what the outbox hands out, in
batches, to a *sink*: an in-process :class:`~shardtally.Buckets`, a PostgreSQL
:class:`shardtally.pg.BucketsStore`, or any async function of the events. A failing sink
drives the outbox's own path (reconnect after a jittered delay, re-send once, then drop,
counted); nothing of it reaches the request, which is never delayed or failed.

::

    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    import shardtally
    from shardtally.asgi import RequestCounter, RequestCountingMiddleware

    buckets = shardtally.Buckets()
    counter = RequestCounter(buckets)
    app = Starlette(routes=[...], middleware=[Middleware(RequestCountingMiddleware, counter=counter)])
    # ... later: counter.stats, buckets.rollup("2024-05-01", now_ms), buckets.daily_totals(...)

The clock is the host's (``time.time_ns() // 1_000_000`` unless ``clock=`` says otherwise);
the engine gets it as ``now_ms``. The middleware starts the sender on ASGI lifespan startup
(or on the first request) and drains the outbox on lifespan shutdown; without lifespan,
``await counter.aclose()`` drains.

Conservation, exposed by :attr:`RequestCounter.stats`: ``requests == skipped + route_errors
+ offered`` and ``offered == delivered + dropped + held`` (``dropped`` is ``dropped_full +
dropped_closed + dropped_too_large + gave_up``; after :meth:`RequestCounter.aclose` nothing
is held).
"""

from __future__ import annotations

import asyncio
import inspect
import random
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, Union, runtime_checkable

from shardtally import Buckets, Drained, GaveUp, InputError, Outbox, Reconnect, default_route, request_key
from shardtally import Send as _Send
from shardtally._settings import OutboxSettings

__all__ = [
    "RequestCounter",
    "RequestCountingMiddleware",
    "CounterStats",
    "Event",
    "BucketsApplier",
    "Sink",
    "default_route",
    "request_key",
    "request_path",
    "record_events",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
SendFn = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, SendFn], Awaitable[None]]

Event = tuple[str, int]
"""One counted request: ``(key, at_ms)``."""

T = TypeVar("T")


@runtime_checkable
class BucketsApplier(Protocol):
    """A store of buckets (:class:`shardtally.pg.BucketsStore`): ``apply(fn)`` runs ``fn`` on
    its machine and writes the changes durably, raising when it could not."""

    def apply(self, fn: Callable[[Buckets], T]) -> Awaitable[T]: ...


Sink = Union[Buckets, BucketsApplier, Callable[[list[Event]], object]]
"""Where batches of events go: a ``Buckets`` (in process), a store with ``apply`` (durable),
or an async function of the events (raising means the delivery failed)."""


def request_path(scope: Scope) -> str:
    """The request's path as the client sent it (percent-encoded, without the query): the
    ASGI ``raw_path`` when the server gives one, else ``path``."""
    raw = scope.get("raw_path")
    if isinstance(raw, bytes):
        path = raw.decode("latin-1")
        cut = path.find("?")
        if cut >= 0:
            path = path[:cut]
    else:
        path = str(scope.get("path", ""))
    if not path.startswith("/") and "://" in path:  # absolute-form target
        slash = path.find("/", path.index("://") + 3)
        path = path[slash:] if slash >= 0 else "/"
    return path


def record_events(buckets: Buckets, events: Sequence[Event], now_ms: int) -> int:
    """Records ``(key, at_ms)`` events into ``buckets``: each run of events with the same
    time as one ``record_many``. Events the engine refuses (a new key beyond ``max_keys``, a
    key longer than ``max_key_bytes``, a time too far ahead) are left out; returns how many
    were (the rest are recorded, or dropped as too old by the engine's retention, counted in
    ``buckets.stats``)."""
    rejected = 0
    i, n = 0, len(events)
    while i < n:
        at = events[i][1]
        group: dict[str, int] = {}
        while i < n and events[i][1] == at:
            key = events[i][0]
            group[key] = group.get(key, 0) + 1
            i += 1
        try:
            buckets.record_many(group, at, now_ms)
        except InputError:
            for key, count in group.items():
                try:
                    buckets.record_count(key, count, at, now_ms)
                except InputError:
                    rejected += count
    return rejected


@dataclass(frozen=True, slots=True)
class CounterStats:
    """What a :class:`RequestCounter` did. ``requests == skipped + route_errors + offered``;
    ``offered == delivered + dropped + held``."""

    requests: int
    """Requests seen."""
    skipped: int
    """Requests the route hook left out (it returned ``None``)."""
    route_errors: int
    """Requests not counted because the route hook raised, or returned something that is
    not a ``str`` (no key can be made of it)."""
    offered: int
    """Events offered to the outbox."""
    delivered: int
    """Events the sink took."""
    dropped_full: int
    """Events dropped because the outbox was full."""
    dropped_closed: int
    """Events dropped because the counter was closed."""
    dropped_too_large: int
    """Events dropped because their message was larger than ``max_message_bytes``."""
    gave_up: int
    """Events dropped after their delivery failed twice."""
    held: int
    """Events in the outbox (waiting, lingering or being delivered)."""
    rejected: int
    """Of the delivered events, those the buckets refused (see :func:`record_events`)."""
    batches: int
    """Deliveries attempted."""
    failures: int
    """Events whose delivery failed (each failure of a batch counts its events)."""
    resends: int
    """Events sent a second time."""
    reconnects: int
    """Reconnects the outbox asked for."""
    reconnect_errors: int
    """Reconnects that raised."""

    @property
    def dropped(self) -> int:
        """Every event dropped, whatever the reason."""
        return self.dropped_full + self.dropped_closed + self.dropped_too_large + self.gave_up


RouteHook = Callable[[str, Scope], Union[str, None]]


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class RequestCounter:
    """Records requests into an outbox and delivers them to a sink from a background task.

    ``sink`` is a :class:`~shardtally.Buckets`, a store with ``apply(fn)``
    (:class:`shardtally.pg.BucketsStore`) or an async function taking a list of
    ``(key, at_ms)`` events (raising means the delivery failed). ``outbox`` settings default
    to ``capacity=8192``, ``max_in_flight=1024`` (the largest batch) and a random ``seed``.
    A batch goes out when ``max_in_flight`` events wait, ``flush_interval_ms`` after the first
    of them was recorded, on :meth:`flush` and on :meth:`aclose`; a delivery that takes
    longer than ``send_timeout_ms`` counts as failed. ``on_gave_up(events)`` sees the events
    dropped after two failed deliveries. ``route(path, scope)`` turns a request path into
    its route, a ``str`` (``None`` leaves the request out; by default
    :func:`shardtally.default_route` of the path); the key is
    :func:`shardtally.request_key` of the method and route, at most ``max_key_bytes``.

    Use it from one event loop (the server's).
    """

    def __init__(
        self,
        sink: Sink,
        *,
        route: RouteHook | None = None,
        flush_interval_ms: int = 1_000,
        max_key_bytes: int = 256,
        clock: Callable[[], int] = _now_ms,
        outbox: OutboxSettings | None = None,
        on_gave_up: Callable[[list[Event]], object] | None = None,
    ) -> None:
        if flush_interval_ms < 0:
            raise ValueError(f"flush_interval_ms must not be negative, got {flush_interval_ms}")
        if not 1 <= max_key_bytes <= 4_294_967_295:
            raise ValueError(f"max_key_bytes must be in 1..=4294967295, got {max_key_bytes}")
        settings: dict[str, Any] = {"capacity": 8_192, "max_in_flight": 1_024, "seed": random.getrandbits(63)}
        settings.update(outbox or {})
        self._outbox = Outbox(**settings)
        config = self._outbox.config
        self._window = int(config["max_in_flight"])
        self._send_timeout = int(config["send_timeout_ms"]) / 1000
        self._deliver = _delivery(sink, clock)
        self._reconnect = getattr(sink, "reconnect", None)
        # None: the engine's default_route, called without the scope it does not use.
        self._route = None if route is None or route is default_route else route
        self._interval = flush_interval_ms
        self._max_key_bytes = max_key_bytes
        self._clock = clock
        self._on_gave_up = on_gave_up
        # host-side counters (the outbox keeps its own)
        self._requests = self._skipped = self._route_errors = 0
        self._rejected = self._batches = self._reconnect_errors = 0
        # sender state
        self._unsent = 0  # offers queued since the last delivery
        self._since: int | None = None  # when the first of them was recorded
        self._last_id = 0  # the id of the last event queued
        self._task: asyncio.Task[None] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._flushes: list[tuple[int, asyncio.Future[None]]] = []  # (last id to deliver, waiter)
        self._closing = False

    # ----- recording (synchronous, never raises) -----

    def count_request(self, method: str, path: str, scope: Scope | None = None) -> bool:
        """Counts a request under ``request_key(method, route(path, scope))``. Returns
        whether it was queued (``False``: skipped, the hook raised, or dropped, counted)."""
        self._requests += 1
        try:
            if self._route is None:
                route = default_route(path)
            else:
                hooked = self._route(path, scope if scope is not None else {})
                if hooked is None:
                    self._skipped += 1
                    return False
                route = hooked
            key = request_key(method, route, self._max_key_bytes)
        except Exception:
            self._route_errors += 1
            return False
        return self.record(key)

    def record(self, key: str) -> bool:
        """Offers one event of ``key`` at the clock's time; returns whether it was queued
        (else it was dropped, counted). Starts the sender if it is not running."""
        now = self._clock()
        outcome = self._outbox.offer(f"{now} {key}".encode("utf-8", "replace"), now)
        queued = outcome.kind == "queued"
        if queued:
            self._last_id = outcome.id or self._last_id
            self._unsent += 1
            if self._unsent == 1:
                self._since = now
                self._wake()
            elif self._unsent == self._window:
                self._wake()
        if self._task is None and not self._closing:
            self._start()
        return queued

    # ----- control -----

    async def start(self) -> None:
        """Starts the background sender (also done by the first record)."""
        if self._task is None:
            self._start()

    async def flush(self) -> None:
        """Delivers everything recorded so far without waiting for ``flush_interval_ms``;
        returns once each of those events was delivered or dropped (after failures, that
        takes the reconnect delay)."""
        target = self._last_id
        if self._first_held() > target:
            return
        if self._task is None:
            self._start()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._flushes.append((target, future))
        self._wake()
        await future

    async def aclose(self) -> None:
        """Stops taking requests (later ones are dropped, counted as closed), delivers what
        is held and stops the sender. Closing twice is harmless."""
        if not self._closing:
            self._closing = True
            self._outbox.close(self._clock())
        if self._task is None:
            self._start()
        self._wake()
        if self._task is not None:
            await asyncio.shield(self._task)

    @property
    def stats(self) -> CounterStats:
        """What the counter did so far."""
        o = self._outbox.stats
        return CounterStats(
            requests=self._requests,
            skipped=self._skipped,
            route_errors=self._route_errors,
            offered=o.offered,
            delivered=o.delivered,
            dropped_full=o.dropped_full,
            dropped_closed=o.dropped_closed,
            dropped_too_large=o.dropped_too_large,
            gave_up=o.gave_up,
            held=len(self._outbox),
            rejected=self._rejected,
            batches=self._batches,
            failures=o.failures,
            resends=o.resends,
            reconnects=o.reconnects,
            reconnect_errors=self._reconnect_errors,
        )

    def middleware(self, app: ASGIApp) -> RequestCountingMiddleware:
        """``app`` wrapped in a :class:`RequestCountingMiddleware` that counts into this."""
        return RequestCountingMiddleware(app, counter=self)

    # ----- the sender -----

    def _start(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # recorded outside a loop: the sender starts with the next record in one
        self._task = loop.create_task(self._run(), name="shardtally request counter")

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _first_held(self) -> int:
        """The lowest id of an event still held (above every issued id when none is): re-sends
        come first among the queued ids and have lower ids than the never-sent ones."""
        if self._outbox.is_empty:
            return self._last_id + 1
        return min(self._outbox.in_flight_ids()[:1] + self._outbox.queued_ids()[:1])

    async def _run(self) -> None:
        outbox, loop = self._outbox, asyncio.get_running_loop()
        ready: list[_Send] = []
        while True:
            now = self._clock()
            deadline = outbox.poll_timeout()
            if deadline is not None and deadline <= now:
                outbox.handle_timeout(now)
            drained = False
            while (out := outbox.poll_output()) is not None:
                if isinstance(out, _Send):
                    ready.append(out)
                elif isinstance(out, Reconnect):
                    await self._reconnect_sink()
                elif isinstance(out, GaveUp):
                    self._gave_up(out)
                elif isinstance(out, Drained):
                    drained = True
            if ready:
                if self._since is None:
                    self._since = now
                due = (
                    self._closing
                    or self._flushes
                    or len(ready) >= self._window
                    or now >= self._since + self._interval
                    or ready[0].attempt > 1
                )
                if due:
                    batch, ready = ready, []
                    self._unsent, self._since = 0, None
                    await self._send(batch)
                    continue
            if self._flushes:
                self._finish_flushes(self._first_held())
            if drained:
                return
            # Sleep until the next deadline (the outbox's, or the lingering batch's) or a wake.
            wait: float | None = None
            deadline = outbox.poll_timeout()
            if deadline is not None:
                wait = max(0, deadline - now)
            if ready and self._since is not None:
                linger = max(0, self._since + self._interval - now)
                wait = linger if wait is None else min(wait, linger)
            self._waiter = loop.create_future()
            timer = loop.call_later(wait / 1000, self._wake) if wait is not None else None
            try:
                await self._waiter
            finally:
                self._waiter = None
                if timer is not None:
                    timer.cancel()

    async def _send(self, batch: list[_Send]) -> None:
        events: list[Event] = []
        for out in batch:
            at, _, key = out.message.partition(b" ")
            events.append((key.decode("utf-8"), int(at)))
        self._batches += 1
        try:
            rejected = await asyncio.wait_for(self._deliver(events), self._send_timeout)
            ok = True
        except Exception:
            rejected, ok = 0, False
        self._rejected += rejected
        now = self._clock()
        report = self._outbox.sent if ok else self._outbox.failed
        for out in batch:
            report(out.id, now)

    async def _reconnect_sink(self) -> None:
        if self._reconnect is None:
            return
        try:
            result = self._reconnect()
            if inspect.isawaitable(result):
                await asyncio.wait_for(result, self._send_timeout)
        except Exception:
            self._reconnect_errors += 1

    def _gave_up(self, out: GaveUp) -> None:
        if self._on_gave_up is None:
            return
        at, _, key = out.message.decode("utf-8").partition(" ")
        try:
            self._on_gave_up([(key, int(at))])
        except Exception:
            pass

    def _finish_flushes(self, first_held: int) -> None:
        """Wakes the flushes whose events are all delivered or dropped."""
        waiting = []
        for target, future in self._flushes:
            if target < first_held:
                if not future.done():
                    future.set_result(None)
            else:
                waiting.append((target, future))
        self._flushes = waiting


def _delivery(sink: Sink, clock: Callable[[], int]) -> Callable[[list[Event]], Awaitable[int]]:
    """The sink as one async function returning how many events the buckets refused."""
    if isinstance(sink, Buckets):
        buckets = sink

        async def to_buckets(events: list[Event]) -> int:
            return record_events(buckets, events, clock())

        return to_buckets
    if isinstance(sink, BucketsApplier):
        store = sink

        async def to_store(events: list[Event]) -> int:
            return await store.apply(lambda b: record_events(b, events, clock()))

        return to_store
    if callable(sink):
        fn = sink

        async def to_function(events: list[Event]) -> int:
            result = fn(events)
            if inspect.isawaitable(result):
                await result
            return 0

        return to_function
    raise TypeError(f"sink must be a Buckets, a store with apply(fn) or an async function, got {type(sink).__name__}")


class RequestCountingMiddleware:
    """An ASGI middleware that counts each HTTP request into a :class:`RequestCounter`:
    ``RequestCountingMiddleware(app, counter)``, or Starlette's
    ``Middleware(RequestCountingMiddleware, counter=counter)``.

    The request is counted when it arrives (``METHOD route`` of its raw path), then passed
    on unchanged; lifespan startup starts the counter's sender, lifespan shutdown drains it.
    WebSocket connections are not counted.
    """

    def __init__(self, app: ASGIApp, counter: RequestCounter) -> None:
        if not isinstance(counter, RequestCounter):
            raise TypeError(f"counter must be a RequestCounter, got {type(counter).__name__}")
        self.app = app
        self.counter = counter

    async def __call__(self, scope: Scope, receive: Receive, send: SendFn) -> None:
        kind = scope["type"]
        if kind == "http":
            try:
                self.counter.count_request(scope["method"], request_path(scope), scope)
            except Exception:  # a counter must never fail a request
                pass
            await self.app(scope, receive, send)
        elif kind == "lifespan":
            await self.app(scope, receive, self._lifespan_send(send))
        else:
            await self.app(scope, receive, send)

    def _lifespan_send(self, send: SendFn) -> SendFn:
        counter = self.counter

        async def lifespan_send(message: Message) -> None:
            kind = message.get("type")
            if kind == "lifespan.startup.complete":
                await counter.start()
            elif kind in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                await counter.aclose()
            await send(message)

        return lifespan_send
