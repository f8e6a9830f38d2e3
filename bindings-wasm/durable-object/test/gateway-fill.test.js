// Routing by the group: the limit fills replicas in creation order, and a request id sticks
// to the replica holding its connections (DOG's ReqID stickiness), in workerd with real
// WebSocket clients.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { waitFor } from "./harness.js";
import { plain, startGateway } from "./gateway-harness.js";

let gw;
before(async () => {
  gw = await startGateway({ bindings: { LIMIT: "3" } });
});
after(() => gw?.dispose());

const counts = async (group) => Object.fromEntries((await plain(gw.group(group).view())).replicas.map((r) => [r.id, r.connections]));

test("10 clients over limit 3 fill 4 replicas: 3, 3, 3 and 1, in creation order", async () => {
  const clients = [];
  for (let i = 0; i < 10; i++) clients.push(await gw.connect(`user-${i}`, { group: "fill" }));
  const order = [...new Set(clients.map((c) => c.welcome.replica))];
  assert.equal(order.length, 4, "four replicas");
  assert.deepEqual(
    clients.map((c) => order.indexOf(c.welcome.replica)),
    [0, 0, 0, 1, 1, 1, 2, 2, 2, 3],
  );
  const view = await plain(gw.group("fill").view());
  assert.deepEqual(
    view.replicas.map((r) => [r.id, r.connections, r.reservations]),
    order.map((id, i) => [id, i < 3 ? 3 : 1, 0]),
    "the group counts each connection once and no reservation is left",
  );
  assert.equal(view.stats.creations, 4);
  const sockets = await Promise.all(order.map(async (id) => (await plain(gw.replica(id).stats())).sockets));
  assert.deepEqual(sockets, [3, 3, 3, 1], "each replica holds the sockets the group counts");
});

test("a client that closes and reconnects returns to the replica its request id still holds", async () => {
  const g = { group: "sticky" };
  const [a, b, c] = [await gw.connect("a", g), await gw.connect("b", g), await gw.connect("c", g)];
  const r1 = a.welcome.replica;
  assert.deepEqual([b.welcome.replica, c.welcome.replica], [r1, r1]);
  // alice opens two tabs and d joins her: the second replica.
  const alice1 = await gw.connect("alice", g);
  const alice2 = await gw.connect("alice", g);
  const d = await gw.connect("d", g);
  const r2 = alice1.welcome.replica;
  assert.notEqual(r2, r1);
  assert.deepEqual([alice2.welcome.replica, d.welcome.replica], [r2, r2]);

  // r1 empties to one connection, r2 to two: the least-loaded replica is now r1.
  await a.close();
  await b.close();
  await alice1.close();
  await waitFor(async () => {
    const n = await counts("sticky");
    return n[r1] === 1 && n[r2] === 2;
  }, 5000, "the closes to reach the group");

  const back = await gw.connect("alice", g);
  assert.equal(back.welcome.replica, r2, "alice's other tab keeps her on r2");
  const fresh = await gw.connect("e", g);
  assert.equal(fresh.welcome.replica, r1, "a new request id goes to the least-loaded replica");

  // With no connection left anywhere, alice is no longer sticky.
  await alice2.close();
  await back.close();
  await d.close();
  await waitFor(async () => (await counts("sticky"))[r2] === 0, 5000, "alice's closes");
  const view = await plain(gw.group("sticky").view());
  assert.equal(view.replicas.find((r) => r.id === r2).connections, 0);
  assert.equal(view.requestIds, 2, "only c and e hold slots");
});
