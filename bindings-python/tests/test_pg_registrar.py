"""shardtally.pg.ShardRegistrar with real processes against the PostgreSQL of
SHARDTALLY_PG_URL: the seed's (postgres-shard-coordinator's) three scenarios, and a holder
killed with SIGKILL and one rejoining. Each registrar runs in a process of its own
(test_pg_agent.py); heartbeat 200 ms, grace 1000 ms, reshard 500 ms. Every wait has a
deadline; nothing sleeps to show that something did not happen."""

from __future__ import annotations

from test_pg_support import FAST, Agent, agents, assignments, cluster_row, consistent, needs_pg, schema

__all__ = ["agents", "schema"]  # fixtures

pytestmark = needs_pg


def test_sequential_three_nodes_with_stop_and_rejoin(schema: str, agents: list[Agent]) -> None:
    a1, a2, a3 = (Agent.python(f"r{i}") for i in (1, 2, 3))
    agents += [a1, a2, a3]
    holders = [a.new(rid, "a", schema) for a, rid in ((a1, "r1"), (a2, "r2"), (a3, "r3"))]

    a1.start("r1")
    assert a1.changed("r1") == (0, 1, 1)  # the first joiner gets an index at once

    a2.start("r2")  # within one reshard interval: r1 keeps 0
    assert a1.changed("r1") == (0, 2, 2)
    assert a2.changed("r2") == (1, 2, 2)

    a1.send(op="stop", id="r1")  # no unregister: r2 takes over once r1 expired
    a1.wait_event("r1", "stopped")
    assert a2.changed("r2") == (0, 1, 3)

    a1.start("r1")  # the same holder comes back: r2 keeps 0
    assert a1.changed("r1") == (1, 2, 4)
    assert a2.changed("r2") == (0, 2, 4)

    a3.start("r3")
    got = [a1.changed("r1"), a2.changed("r2"), a3.changed("r3")]
    assert got == [(1, 3, 5), (0, 3, 5), (2, 3, 5)]
    # The row agrees: by index, r2, r1, r3.
    assert [(i.shard, i.holder) for i in assignments(schema, "a")] == [(0, holders[1]), (1, holders[0]), (2, holders[2])]


def test_single_node_unregister_frees_the_index_at_once(schema: str, agents: list[Agent]) -> None:
    a1, a2 = Agent.python("r1"), Agent.python("r2")
    agents += [a1, a2]
    a1.new("r1", "a", schema)
    a2.new("r2", "a", schema)
    a1.start("r1")
    assert a1.changed("r1") == (0, 1, 1)
    a1.send(op="stop", id="r1", unregister=True)
    lost = a1.wait_event("r1", "shard_lost")
    assert (lost["shard"], lost["reason"]) == (0, "unregistered")
    a1.wait_event("r1", "stopped")
    # No grace period to wait for: the empty cluster gives the next joiner an index at once,
    # in the transaction of its registration: r1 never expired, nothing waited for a reshard.
    a2.start("r2")
    assert a2.changed("r2") == (0, 1, 2)
    info = cluster_row(schema, "a").cluster_info("a")
    assert info is not None
    assert (info.stats.unregistrations, info.stats.expirations, info.stats.reshards) == (1, 0, 2)


def test_two_clusters_of_ten_registrars_started_concurrently(schema: str, agents: list[Agent]) -> None:
    # Four processes of five registrars each, both clusters in every process.
    procs = [Agent.python(f"p{i}") for i in range(4)]
    agents += procs
    home = {(c, i): procs[(i * 2 + (c == "b")) % 4] for c in "ab" for i in range(10)}
    for (c, i), a in home.items():
        a.send(op="new", id=f"{c}{i}", cluster=c, schema=schema, settings=FAST)
    for (c, i), a in home.items():
        a.wait_event(f"{c}{i}", "created")
    for (c, i), a in home.items():
        a.start(f"{c}{i}")
    for c in "ab":
        final = []
        for i in range(10):
            e = home[c, i].wait(lambda e: e.get("id") == f"{c}{i}" and e.get("event") == "shard_changed" and e["num_shards"] == 10, 20, "10 shards")
            final.append((e["shard"], e["num_shards"], e["epoch"]))
        consistent(final, 10)
    # The clusters are independent: each has its own epochs and indices.
    assert [i.shard for i in assignments(schema, "a")] == list(range(10))
    assert [i.shard for i in assignments(schema, "b")] == list(range(10))


def test_a_holder_killed_with_sigkill_and_one_rejoining(schema: str, agents: list[Agent]) -> None:
    procs = [Agent.python(f"r{i}") for i in range(3)]
    agents += procs
    for i, a in enumerate(procs):
        a.new("r", "k", schema, holder=f"holder-{i}")
        a.start("r")
    latest = [a.wait(lambda e: e.get("event") == "shard_changed" and e["num_shards"] == 3, 10, "3 shards") for a in procs]
    consistent([(e["shard"], e["num_shards"], e["epoch"]) for e in latest], 3)
    epoch3 = latest[0]["epoch"]  # (the survivors may have seen 2 shards already, while joining)

    victim = procs[1]
    victim.kill()  # no unregister, no goodbye: the others notice when its deadline passes
    survivors = [procs[0], procs[2]]
    after = [a.wait(lambda e: e.get("event") == "shard_changed" and e["num_shards"] == 2 and e["epoch"] > epoch3, 10, "2 shards") for a in survivors]
    consistent([(e["shard"], e["num_shards"], e["epoch"]) for e in after], 2)
    epoch2 = after[0]["epoch"]
    assert epoch2 > epoch3

    # A new process with the killed one's holder id rejoins (as a restarted service would).
    reborn = Agent.python("r1-again")
    agents.append(reborn)
    reborn.new("r", "k", schema, holder="holder-1")
    reborn.start("r")
    final = [
        a.wait(lambda e: e.get("event") == "shard_changed" and e["num_shards"] == 3 and e["epoch"] > epoch2, 10, "3 shards again")
        for a in (procs[0], procs[2], reborn)
    ]
    consistent([(e["shard"], e["num_shards"], e["epoch"]) for e in final], 3)
    assert final[0]["epoch"] > epoch2
    # Survivors kept their indices (minimal movement); the newcomer took the free one.
    assert [final[0]["shard"], final[1]["shard"]] == [after[0]["shard"], after[1]["shard"]]
    # Every epoch a registrar reported increased, and the row agrees with the last reports.
    for a in (procs[0], procs[2]):
        epochs = [e["epoch"] for e in a.seen if e.get("event") == "shard_changed"]
        assert epochs == sorted(set(epochs)), epochs
    assert [(i.holder, i.shard) for i in assignments(schema, "k")] == sorted(
        [("holder-0", final[0]["shard"]), ("holder-2", final[1]["shard"]), ("holder-1", final[2]["shard"])], key=lambda p: p[1]
    )
