"""A registrar process for the PostgreSQL tests (not a test module: pytest finds nothing here).

    python tests/test_pg_agent.py URL

hosts ``shardtally.pg.ShardRegistrar`` objects, driven by JSON lines on stdin and reporting
on stdout, one JSON object per line. The Node package's ``test/pg-agent.mjs`` speaks the
same protocol, so a test can mix Python and Node processes in one cluster.

Commands: ``{"op": "new", "id", "cluster", "schema", "holder"?, "listen"?, "settings": {...}}``
(snake_case Membership settings), ``{"op": "start", "id"}``, ``{"op": "stop", "id",
"unregister"}``, ``{"op": "info", "id"}``, ``{"op": "exit"}``. Reports: ``{"id", "event":
"shard_changed" | "shard_lost" | "error" | "started" | "stopped" | "info" | "failed", ...}``,
and ``{"event": "ready"}`` once listening.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any


def emit(record: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


async def serve(url: str) -> None:
    from shardtally import ShardInfo, ShardLost, ShardtallyError
    from shardtally.pg import ShardRegistrar

    registrars: dict[str, ShardRegistrar] = {}
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    emit({"event": "ready"})

    def changed(rid: str) -> Any:
        def f(i: ShardInfo) -> None:
            emit({"id": rid, "event": "shard_changed", "shard": i.shard, "num_shards": i.num_shards, "epoch": i.epoch})

        return f

    def lost(rid: str) -> Any:
        def f(i: ShardLost) -> None:
            emit({"id": rid, "event": "shard_lost", "shard": i.shard, "num_shards": i.num_shards, "epoch": i.epoch, "reason": i.reason})

        return f

    def error(rid: str) -> Any:
        return lambda e: emit({"id": rid, "event": "error", "message": str(e)})

    async def run(cmd: dict[str, Any]) -> None:
        rid = cmd.get("id", "")
        try:
            if cmd["op"] == "new":
                registrars[rid] = ShardRegistrar(
                    url,
                    cmd["cluster"],
                    schema=cmd["schema"],
                    holder=cmd.get("holder"),
                    listen=cmd.get("listen", True),
                    on_shard_changed=changed(rid),
                    on_shard_lost=lost(rid),
                    on_error=error(rid),
                    **cmd.get("settings", {}),
                )
                emit({"id": rid, "event": "created", "holder": registrars[rid].holder})
            elif cmd["op"] == "start":
                await registrars[rid].start()
                emit({"id": rid, "event": "started"})
            elif cmd["op"] == "stop":
                await registrars[rid].stop(unregister=bool(cmd.get("unregister")))
                emit({"id": rid, "event": "stopped"})
            elif cmd["op"] == "info":
                try:
                    i = registrars[rid].shard_info()
                    emit({"id": rid, "event": "info", "info": {"shard": i.shard, "num_shards": i.num_shards, "epoch": i.epoch}})
                except ShardtallyError as e:
                    emit({"id": rid, "event": "info", "info": None, "code": e.code})
        except Exception as e:  # noqa: BLE001 (reported to the test)
            emit({"id": rid, "event": "failed", "op": cmd.get("op"), "message": f"{type(e).__name__}: {e}"})

    tasks: set[asyncio.Task[None]] = set()
    while line := await reader.readline():
        cmd = json.loads(line)
        if cmd["op"] == "exit":
            break
        # Commands run concurrently (a start does not wait for another registrar's stop),
        # but each registrar's own commands run in order (its start/stop are serialized).
        task = asyncio.create_task(run(cmd))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    for r in registrars.values():
        await r.stop(unregister=False)


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1]))
