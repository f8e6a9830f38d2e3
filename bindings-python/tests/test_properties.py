"""Property: random increments, flushes, network faults, timeouts and restarts driven
through Python never lose or double-count an increment, and publishes never lose a change.

A Hypothesis state machine plays a host with three shards and a global. Every accepted
increment is recorded in a model; batches travel over a faulty network (lost requests, lost
answers, duplicated deliveries); machines restart from snapshots (or pickles) at any time.
At the end the host stops injecting faults and lets every timer fire: the global's totals,
and the totals the host persisted from publishes, must equal the model exactly.
"""

from __future__ import annotations

import pickle
from collections import Counter

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from shardtally import Batch, CounterOverflowError, Global, Publish, SendBatch, Shard

KEYS = st.sampled_from(["a", "b", "c", "dé", "e" * 40])
SHARD_SETTINGS = dict(
    flush_after_requests=4,
    flush_after_idle_ms=30,
    flush_max_age_ms=90,
    ack_timeout_ms=50,
    retry_initial_ms=5,
    retry_max_ms=40,
    max_pending_keys=64,
)


def new_global() -> Global:
    return Global(
        persist_after_writes=3,
        persist_after_idle_ms=20,
        persist_max_age_ms=80,
        publish_mode="changes",
        publish_timeout_ms=40,
        retry_initial_ms=5,
        retry_max_ms=40,
    )


def restore_global(g: Global) -> Global:
    return Global.restore(
        g.snapshot(),
        persist_after_writes=3,
        persist_after_idle_ms=20,
        persist_max_age_ms=80,
        publish_mode="changes",
        publish_timeout_ms=40,
        retry_initial_ms=5,
        retry_max_ms=40,
    )


class Host(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = 0
        self.shards = [Shard(shard=i, incarnation=100 + i, **SHARD_SETTINGS) for i in range(3)]
        self.global_ = new_global()
        self.network: list[tuple[int, Batch]] = []  # batches on the wire, with their sender
        self.publishes: list[Publish] = []  # publishes the host has not written yet
        self.model: Counter[str] = Counter()  # every accepted increment
        self.store: dict[str, int] = {}  # totals written from publishes (the KV)
        self.ids = [{k: s.intern(k) for k in ("a", "b")} for s in self.shards]

    # ----- plumbing -----

    def collect(self) -> None:
        for i, shard in enumerate(self.shards):
            while (out := shard.poll_output()) is not None:
                assert isinstance(out, SendBatch)
                self.network.append((i, out.batch))
        while (g_out := self.global_.poll_output()) is not None:
            assert isinstance(g_out, Publish)
            self.publishes.append(g_out)

    def write_publish(self, p: Publish) -> None:
        for key, total in p.entries:
            self.store[key] = total

    # ----- inputs -----

    @rule(shard=st.integers(0, 2), key=KEYS, delta=st.integers(-5, 50))
    def increment(self, shard: int, key: str, delta: int) -> None:
        self.shards[shard].increment(key, delta, self.now)
        self.model[key] += delta
        self.collect()

    @rule(shard=st.integers(0, 2), entries=st.dictionaries(KEYS, st.integers(-3, 9), max_size=4))
    def increments(self, shard: int, entries: dict[str, int]) -> None:
        self.shards[shard].increments(entries, self.now)
        self.model.update(entries)
        self.collect()

    @rule(shard=st.integers(0, 2), picks=st.lists(st.sampled_from(["a", "b"]), max_size=6))
    def increment_ids(self, shard: int, picks: list[str]) -> None:
        ids = [self.ids[shard][k] for k in picks]
        self.shards[shard].increment_ids(ids, 2, self.now)
        for k in picks:
            self.model[k] += 2
        self.collect()

    @rule(shard=st.integers(0, 2))
    def overflow_is_rejected_without_effect(self, shard: int) -> None:
        s = self.shards[shard]
        current = s.pending_delta("a")
        if current == 0:
            return
        before = s.snapshot()
        with pytest.raises(CounterOverflowError):
            s.increments({"b": 1, "a": 2**63 - 1 if current > 0 else -(2**63)}, self.now)
        assert s.snapshot() == before

    @rule(shard=st.integers(0, 2))
    def flush(self, shard: int) -> None:
        self.shards[shard].flush(self.now)
        self.collect()

    @rule(ms=st.integers(1, 60))
    def advance(self, ms: int) -> None:
        self.now += ms
        for shard in self.shards:
            shard.handle_timeout(self.now)
        self.global_.handle_timeout(self.now)
        self.collect()

    @precondition(lambda self: bool(self.network))
    @rule(pick=st.integers(0, 1000), fate=st.sampled_from(["ok", "ok", "lost_request", "lost_answer", "twice"]))
    def deliver(self, pick: int, fate: str) -> None:
        sender, batch = self.network.pop(pick % len(self.network))
        shard = self.shards[sender]
        if fate == "lost_request":
            shard.handle_failure(batch.seq, self.now)
        else:
            ack = self.global_.handle_batch(batch.encode(), self.now)
            if fate == "twice":
                assert self.global_.handle_batch(batch, self.now).duplicate
            if fate == "lost_answer":
                shard.handle_failure(batch.seq, self.now)
            else:
                shard.handle_ack(ack.encode(), self.now)
        self.collect()

    @precondition(lambda self: bool(self.publishes))
    @rule(ok=st.booleans())
    def persist_publish(self, ok: bool) -> None:
        p = self.publishes.pop(0)
        if ok:
            self.write_publish(p)
            self.global_.handle_publish_ack(p.version, self.now)
        else:
            self.global_.handle_publish_failure(p.version, self.now)
        self.collect()

    @rule(shard=st.integers(0, 2), via_pickle=st.booleans())
    def restart_shard(self, shard: int, via_pickle: bool) -> None:
        s = self.shards[shard]
        self.shards[shard] = pickle.loads(pickle.dumps(s)) if via_pickle else Shard.restore(s.snapshot(), **SHARD_SETTINGS)
        self.collect()

    @rule(via_pickle=st.booleans())
    def restart_global(self, via_pickle: bool) -> None:
        self.global_ = pickle.loads(pickle.dumps(self.global_)) if via_pickle else restore_global(self.global_)
        self.publishes.clear()  # answers to the old process are gone; the restore re-offers
        self.collect()

    # ----- invariants -----

    @invariant()
    def every_increment_is_counted_pending_or_in_flight_exactly_once(self) -> None:
        seen = Counter(self.global_.totals())
        for shard in self.shards:
            for e in shard.pending():
                seen[e.key] += e.delta
            batch = shard.in_flight
            applied = self.global_.last_seq(batch.shard, batch.incarnation) if batch is not None else None
            if batch is not None and (applied is None or applied < batch.seq):
                for e in batch.entries:
                    seen[e.key] += e.delta
        assert {k: seen[k] for k in self.model} == dict(self.model)
        assert set(k for k, v in seen.items() if v) <= set(self.model)

    def teardown(self) -> None:
        # No more faults: deliver, acknowledge and persist until everything settled.
        for _ in range(200):
            self.now += 100
            for shard in self.shards:
                shard.flush(self.now)
                shard.handle_timeout(self.now)
            self.global_.handle_timeout(self.now)
            self.collect()
            while self.network:
                sender, batch = self.network.pop(0)
                ack = self.global_.handle_batch(batch, self.now)
                self.shards[sender].handle_ack(ack, self.now)
                self.collect()
            self.global_.publish(self.now)
            self.collect()
            while self.publishes:
                p = self.publishes.pop(0)
                self.write_publish(p)
                self.global_.handle_publish_ack(p.version, self.now)
                self.collect()
            settled = all(not s.pending_keys and s.in_flight is None for s in self.shards)
            if settled and self.global_.in_flight_publish is None and self.global_.publish(self.now).kind == "nothing_changed":
                break
        expected = {k: v for k, v in self.model.items()}
        totals = self.global_.totals()
        assert {k: totals.get(k, 0) for k in expected} == expected
        assert {k: self.store.get(k, 0) for k in expected} == expected
        assert set(totals) <= set(expected)


Host.TestCase.settings = settings(max_examples=60, stateful_step_count=40)
TestHost = Host.TestCase
