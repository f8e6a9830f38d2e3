// The group's ledger in real Durable Object storage: the engine's rows in SQLite; a write
// that fails stores nothing and rolls the group back to its rows (the input is refused, the
// next one works); a restart rebuilds the group from its rows; a ledger an earlier version stored as one
// snapshot through the key-value API (one value, or chunks) moves into the table once.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { plain, startGateway } from "./gateway-harness.js";

let gw;
after(() => gw?.dispose());

/** Routes and opens `n` connections on group stub `g` by RPC (as the Worker and a replica do). */
async function join(g, from, n) {
  for (let i = from; i < from + n; i++) {
    const { replica } = await g.route(`req-${i}`);
    await g.opened(replica, `conn-${i}`, `req-${i}`);
  }
}

test("a failed write is rolled back and refused; a restart rebuilds from the rows", async () => {
  gw = await startGateway({ bindings: { LIMIT: "3" } });
  let g = gw.group("rows");
  await join(g, 0, 5);
  const before = await plain(g.view());
  assert.equal(before.io.ledgerRows, 1 + 2 + 5 + 5, "meta, two replicas, five connections, five sticky entries");

  await g.failNextWrite();
  // (The error's fields do not survive Miniflare's Node-to-object RPC proxy: only the refusal is checked.)
  await assert.rejects(g.route("req-lost"));
  const rolled = await plain(g.view());
  assert.equal(rolled.host.rollbacks, 1);
  assert.equal(rolled.requestIds, 5, "the refused route left nothing behind");
  assert.deepEqual(rolled.replicas, before.replicas);
  assert.equal(rolled.io.ledgerRows, before.io.ledgerRows);
  const { replica } = await g.route("req-5");
  assert.equal(await g.opened(replica, "conn-5", "req-5"), "reserved");
  assert.equal((await plain(g.view())).requestIds, 6);

  // Rebuilt from its rows after a restart; the replicas' reports then drop the connections
  // opened here by RPC only (no socket holds them), and those rows go too.
  await g.restart().catch(() => {});
  g = gw.group("rows");
  const after = await plain(g.view());
  assert.equal(after.host.restored, true);
  assert.equal(after.host.reconciled, 2);
  assert.deepEqual(after.replicas.map((r) => [r.id, r.connections]), before.replicas.map((r) => [r.id, 0]));
  assert.equal(after.io.ledgerRows, 1 + 2, "meta and the two replicas");
});

test("an earlier version's key-value ledger, one value or chunks, moves into the table", async () => {
  for (const [name, requests, idBytes] of [
    ["legacy-small", 5, 16],
    ["legacy-chunked", 700, 250],
  ]) {
    let g = gw.group(name);
    const stored = await plain(g.storeLegacy(requests, idBytes));
    assert.equal(stored.chunks > 0, name === "legacy-chunked", `${name}: ${stored.bytes} bytes in ${stored.chunks} chunks`);
    await g.restart().catch(() => {});
    g = gw.group(name);
    const view = await plain(g.view());
    assert.equal(view.host.migrated, true, name);
    assert.equal(view.requestIds, stored.requestIds, name);
    assert.deepEqual(await g.keyValueKeys(), [], `${name}: the key-value entries are gone`);
    assert.ok(view.io.ledgerRows >= 1 + 2 * requests, `${name}: ${view.io.ledgerRows} rows`);
    await g.restart().catch(() => {});
    g = gw.group(name);
    const again = await plain(g.view());
    assert.equal(again.host.migrated, false, "moved once");
    assert.equal(again.requestIds, stored.requestIds);
  }
});
