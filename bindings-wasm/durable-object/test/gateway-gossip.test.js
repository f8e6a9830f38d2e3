// Gossip asks every other replica; one replica that throws (or does not answer by the
// deadline) is named in the result while the others' answers still count — DOG failed the
// whole gossip.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { plain, startGateway } from "./gateway-harness.js";

let gw;
let clients;
let replicas;
before(async () => {
  gw = await startGateway({ bindings: { LIMIT: "3", GOSSIP_TIMEOUT_MS: "1500" } });
  clients = [];
  for (let i = 0; i < 9; i++) clients.push(await gw.connect(`u${i}`));
  replicas = [...new Set(clients.map((c) => c.welcome.replica))];
});
after(() => gw?.dispose());

test("every peer answers, in creation order", async () => {
  const result = await clients[0].call("users");
  assert.deepEqual(result.replies.map((r) => r.replica), [replicas[1], replicas[2]]);
  assert.deepEqual(result.replies.map((r) => [r.value.asked, r.value.users.sort()]), [
    ["users", ["u3", "u4", "u5"]],
    ["users", ["u6", "u7", "u8"]],
  ]);
  assert.deepEqual([result.failed, result.missing], [[], []]);
});

test("a replica that throws is named in failed; the others' answers are returned", async () => {
  await gw.replica(replicas[1]).setGossipFailure(true);
  try {
    const result = await clients[0].call("users");
    assert.deepEqual(result.replies.map((r) => r.replica), [replicas[2]]);
    assert.deepEqual(result.replies[0].value.users.sort(), ["u6", "u7", "u8"]);
    assert.deepEqual(result.failed, [replicas[1]]);
    assert.deepEqual(result.missing, []);
    const view = await plain(gw.group().view());
    assert.equal(view.stats.gossipFailures, 1);
  } finally {
    await gw.replica(replicas[1]).setGossipFailure(false);
  }
});

test("a replica that does not answer by the deadline is named in missing", async () => {
  await gw.replica(replicas[2]).setGossipDelay(30_000);
  const started = Date.now();
  const result = await clients[3].call("users", {});
  const took = Date.now() - started;
  assert.deepEqual(result.replies.map((r) => r.replica), [replicas[0]]);
  assert.deepEqual(result.failed, []);
  assert.deepEqual(result.missing, [replicas[2]]);
  assert.ok(took >= 1400 && took < 5000, `completed at the 1500 ms deadline (took ${took} ms)`);
  const view = await plain(gw.group().view());
  assert.equal(view.stats.gossipTimeouts, 1);
});
