// A slot reserved by a route whose client never connects is freed by the group's alarm
// (DOG leaked it forever); the alarm is set once for the earliest deadline, not per route.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { waitFor } from "./harness.js";
import { plain, startGateway } from "./gateway-harness.js";

let gw;
before(async () => {
  gw = await startGateway({ bindings: { LIMIT: "3", RESERVATION_TTL_MS: "400" } });
});
after(() => gw?.dispose());

test("unused reservations lapse at their deadline through one alarm, and the slots are reused", async () => {
  // Three routes whose clients never come (as a Worker that routed and then lost them).
  const routes = [];
  for (const id of ["ghost-1", "ghost-2", "ghost-3"]) routes.push(await plain(gw.group().route(id)));
  const r1 = routes[0].replica;
  assert.deepEqual(routes.map((r) => r.replica), [r1, r1, r1]);
  const held = await plain(gw.group().view());
  assert.deepEqual(held.replicas.map((r) => [r.connections, r.reservations]), [[0, 3]]);
  assert.equal(held.io.alarmWrites, 1, "later deadlines keep the alarm already set");
  assert.equal(held.nextDeadline.timer, "reservation_expiry");

  const freed = await waitFor(async () => {
    const v = await plain(gw.group().view());
    return v.replicas[0].reservations === 0 ? v : null;
  }, 10_000, "the alarm to free the reservations");
  assert.equal(freed.stats.expirations, 3);
  assert.ok(freed.io.alarmsFired >= 1);

  const client = await gw.connect("real");
  assert.equal(client.welcome.replica, r1, "the freed slots are offered again: no new replica");
  assert.equal((await plain(gw.group().view())).stats.creations, 1);
});
