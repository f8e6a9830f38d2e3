// Idle sockets cost nothing: with no traffic the runtime evicts the replica and the group
// (about 10 s here) while the sockets stay open. The next frame wakes a new replica
// instance that knows each socket from its attachment, and a new group instance restored
// from its ledger; messages and closes work as before. (No stub is held from Node while
// idle: a held stub would pin the objects.)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { sleep, waitFor } from "./harness.js";
import { plain, startGateway } from "./gateway-harness.js";

let gw;
before(async () => {
  gw = await startGateway({ bindings: { LIMIT: "3", RESERVATION_TTL_MS: "100" } });
});
after(() => gw?.dispose());

test("sockets survive the eviction of their replica and group, and keep their identity", async () => {
  const a = await gw.connect("a");
  const b = await gw.connect("b");
  const first = await a.call("emit", { text: "before" });
  assert.deepEqual(first, { replicas: 1, sockets: 1, failed: [] });
  const before_ = a.received((m) => m.type === "done")[0];
  assert.equal(before_.instance, 1);

  await sleep(12_000); // idle: the runtime evicts objects about 10 s after their last event

  a.send({ op: "broadcast", id: "after", text: "after the eviction" });
  const done = await a.next((m) => m.id === "after");
  assert.equal(done.instance, 2, "a new replica instance handled the frame");
  assert.equal(done.connection, a.welcome.connection, "the socket's identity came back from its attachment");
  assert.deepEqual(done.report, { replicas: 1, sockets: 1, failed: [] });
  await b.next((m) => m.text === "after the eviction");

  const view = await plain(gw.group().view());
  assert.equal(view.host.restored, true, "the group was evicted too and restored its ledger");
  assert.deepEqual(view.replicas.map((r) => r.connections), [2]);
  await b.close();
  await waitFor(async () => (await plain(gw.group().view())).replicas[0].connections === 1, 5000, "b's close after the eviction");
});
