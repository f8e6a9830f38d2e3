"""Helpers of the HTTP host tests (no tests here): a uvicorn server on a loopback port, and a
keep-alive HTTP/1.1 client that sends many requests over a few connections."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Literal

import uvicorn


@asynccontextmanager
async def serve(app: Any, *, lifespan: Literal["auto", "on", "off"] = "on") -> AsyncIterator[int]:
    """Runs ``app`` under uvicorn on 127.0.0.1 (a free port, yielded) in this event loop;
    on exit, shuts it down the way a signal would (lifespan shutdown included)."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan=lifespan, access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("uvicorn stopped before it started")
            await asyncio.sleep(0.005)  # waiting for the start, not showing an absence
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        await task


async def get_many(
    port: int,
    paths: Sequence[str],
    *,
    connections: int = 8,
    progress: Callable[[int], None] | None = None,
) -> list[int]:
    """GETs every path (in order, spread over ``connections`` keep-alive connections) and
    returns the status codes by path index; ``progress(done)`` runs after each response."""
    statuses = [0] * len(paths)
    next_index = 0
    done = 0

    async def worker() -> None:
        nonlocal next_index, done
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while next_index < len(paths):
                i = next_index
                next_index += 1
                writer.write(f"GET {paths[i]} HTTP/1.1\r\nHost: test\r\n\r\n".encode("latin-1"))
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                statuses[i] = int(lines[0].split(" ")[1])
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                if length:
                    await reader.readexactly(length)
                done += 1
                if progress is not None:
                    progress(done)
        finally:
            writer.close()
            await writer.wait_closed()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return statuses
