// Closing is idempotent per connection: a socket whose error and close both fire frees one
// slot (DOG counted it down twice), `onclose` runs once, and an oversized frame closes its
// socket (1009) before anything is delivered.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { waitFor } from "./harness.js";
import { plain, startGateway } from "./gateway-harness.js";

let gw;
before(async () => {
  gw = await startGateway({ bindings: { LIMIT: "3" } });
});
after(() => gw?.dispose());

const replicaView = async (group, id) => (await plain(gw.group(group).view())).replicas.find((r) => r.id === id);

test("a socket firing error then close frees exactly one slot and runs onclose once", async () => {
  const g = { group: "errors" };
  const cs = [await gw.connect("a", g), await gw.connect("b", g), await gw.connect("c", g)];
  const r1 = cs[0].welcome.replica;
  assert.equal((await replicaView("errors", r1)).connections, 3);
  const before = await plain(gw.group("errors").view());

  // The runtime reports an error and then a close for b's socket.
  const stats = await plain(gw.replica(r1).errorThenClose("b"));
  assert.equal(stats.closed, 1, "one connection ended");
  assert.ok(stats.duplicateCloseEvents >= 1, "the replica saw the second event");
  const mid = await plain(gw.group("errors").view());
  assert.equal(mid.replicas[0].connections, 2, "one slot freed, not two");
  assert.equal(mid.stats.closes - before.stats.closes, 1);
  assert.ok(mid.stats.duplicateCloses - before.stats.duplicateCloses >= 1, "the engine counted the second close as a no-op");
  assert.deepEqual(await plain(gw.replica(r1).testHooks()), { onopen: 3, onmessage: 0, onclose: 1 });

  // Two new clients: the first takes the one freed slot on r1, the second finds r1 full
  // (a double count-down would have let it in).
  const d = await gw.connect("d", g);
  const e = await gw.connect("e", g);
  assert.equal(d.welcome.replica, r1);
  assert.notEqual(e.welcome.replica, r1);
  const end = await plain(gw.group("errors").view());
  assert.equal(end.replicas[0].connections, 3);
  assert.equal(end.stats.closes - before.stats.closes, 1, "every later event of b's socket was a duplicate");
  assert.equal((await plain(gw.replica(r1).testHooks())).onclose, 1, "onclose ran once");
});

test("a client that drops its TCP connection frees its slot once", async () => {
  const g = { group: "drops" };
  const cs = [await gw.connect("a", g), await gw.connect("b", g), await gw.connect("c", g)];
  const r1 = cs[0].welcome.replica;
  cs[2].ws.terminate();
  await waitFor(async () => (await plain(gw.replica(r1).testHooks())).onclose === 1, 5000, "onclose of the dropped client");
  const view = await plain(gw.group("drops").view());
  assert.equal(view.replicas[0].connections, 2);
  assert.equal(view.stats.closes, 1);
});

test("a frame larger than maxMessageBytes closes its socket with 1009 and is not delivered", async () => {
  const g = { group: "big" };
  const a = await gw.connect("a", g);
  const b = await gw.connect("b", g);
  const r1 = a.welcome.replica;
  a.send({ op: "broadcast", text: "x".repeat(2000) });
  assert.equal(await a.closed, 1009);
  await waitFor(async () => (await replicaView("big", r1)).connections === 1, 5000, "the slot to be freed");
  const stats = await plain(gw.replica(r1).stats());
  assert.equal(stats.oversized, 1);
  assert.equal(stats.plans, 0, "nothing was planned");
  assert.equal(stats.framesSent, 0);
  assert.equal(b.received((m) => m.type === "msg").length, 0);
});
