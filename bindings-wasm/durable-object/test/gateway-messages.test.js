// Messages between replicas: the group plans, replicas deliver by RPC. A whisper costs one
// RPC to the one replica holding its target; a broadcast reaches every other socket once;
// an emit stays on the sender's replica.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { plain, startGateway } from "./gateway-harness.js";

let gw;
let clients;
let replicas;
before(async () => {
  gw = await startGateway({ bindings: { LIMIT: "3" } });
  clients = [];
  for (let i = 0; i < 10; i++) clients.push(await gw.connect(`u${i}`));
  replicas = [...new Set(clients.map((c) => c.welcome.replica))];
});
after(() => gw?.dispose());

/** deliverCalls and framesSent of every replica, in creation order. */
async function io() {
  return Promise.all(replicas.map(async (id) => {
    const s = await plain(gw.replica(id).stats());
    return { deliverCalls: s.deliverCalls, framesSent: s.framesSent };
  }));
}
const delta = (a, b, f) => b.map((x, i) => x[f] - a[i][f]);
const messages = (c, kind) => c.received((m) => m.type === "msg" && m.kind === kind);

test("a whisper reaches exactly one socket, on another replica, and no other replica is called", async () => {
  assert.equal(replicas.length, 4);
  const before = await io();
  const report = await clients[0].call("whisper", { to: "u7", text: "psst" });
  assert.deepEqual(report, { replicas: 1, sockets: 1, failed: [] });
  const got = await clients[7].next((m) => m.kind === "whisper");
  assert.deepEqual(got, { type: "msg", kind: "whisper", from: "u0", text: "psst" });
  const after_ = await io();
  const target = replicas.indexOf(clients[7].welcome.replica);
  assert.equal(target, 2);
  assert.deepEqual(delta(before, after_, "deliverCalls"), [0, 0, 1, 0], "one RPC, to the target's replica only");
  assert.deepEqual(delta(before, after_, "framesSent"), [0, 0, 1, 0], "one frame, to the target only");
  assert.deepEqual(clients.map((c) => messages(c, "whisper").length), [0, 0, 0, 0, 0, 0, 0, 1, 0, 0]);
});

test("a whisper to an unknown request id or to oneself reaches nobody (DOG sent it to every peer)", async () => {
  const before = await io();
  assert.deepEqual(await clients[1].call("whisper", { to: "nobody", text: "x" }), { replicas: 0, sockets: 0, failed: [] });
  assert.deepEqual(await clients[1].call("whisper", { to: "u1", text: "x" }), { replicas: 0, sockets: 0, failed: [] });
  const after_ = await io();
  assert.deepEqual(delta(before, after_, "deliverCalls"), [0, 0, 0, 0]);
  assert.deepEqual(delta(before, after_, "framesSent"), [0, 0, 0, 0]);
});

test("a broadcast reaches every other socket of the group exactly once", async () => {
  const sender = clients[4];
  const before = await io();
  const report = await sender.call("broadcast", { text: "hello all" });
  assert.deepEqual(report, { replicas: 4, sockets: 9, failed: [] });
  await Promise.all(clients.filter((c) => c !== sender).map((c) => c.next((m) => m.kind === "broadcast")));
  const after_ = await io();
  const own = replicas.indexOf(sender.welcome.replica);
  assert.deepEqual(
    delta(before, after_, "deliverCalls"),
    replicas.map((_, i) => (i === own ? 0 : 1)),
    "one RPC per other replica; the sender's replica delivers locally",
  );
  assert.equal(delta(before, after_, "framesSent").reduce((a, b) => a + b, 0), 9, "nine frames in all");
  assert.deepEqual(clients.map((c) => messages(c, "broadcast").length), [1, 1, 1, 1, 0, 1, 1, 1, 1, 1]);
});

test("an emit reaches the sender's replica only (with the sender when asked)", async () => {
  const before = await io();
  const report = await clients[0].call("emit", { text: "room", self: true });
  assert.deepEqual(report, { replicas: 1, sockets: 3, failed: [] });
  await Promise.all(clients.slice(0, 3).map((c) => c.next((m) => m.kind === "emit")));
  const after_ = await io();
  assert.deepEqual(delta(before, after_, "deliverCalls"), [0, 0, 0, 0], "no RPC to any replica");
  assert.deepEqual(delta(before, after_, "framesSent"), [3, 0, 0, 0]);
  assert.deepEqual(clients.map((c) => messages(c, "emit").length), [1, 1, 1, 0, 0, 0, 0, 0, 0, 0]);
});
