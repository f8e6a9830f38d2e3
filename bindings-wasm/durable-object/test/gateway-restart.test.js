// A restarted group keeps its cluster: its ledger is in storage, so new clients join the
// replicas that exist instead of new isolated ones (DOG issue #25, "Fragmented Clusters"),
// and messages still reach every old socket. After a restart of the whole runtime (every
// socket gone), the replicas' reports set the counts back to what is really open.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { plain, startGateway } from "./gateway-harness.js";

const dirs = [];
let gw;
after(async () => {
  await gw?.dispose();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test("a group object restarted while its replicas hold live sockets routes new clients to them", async () => {
  gw = await startGateway({ bindings: { LIMIT: "3" } });
  const old = [];
  for (let i = 0; i < 5; i++) old.push(await gw.connect(`old-${i}`));
  const [r1, r2] = [old[0].welcome.replica, old[3].welcome.replica];
  assert.deepEqual(old.map((c) => c.welcome.replica), [r1, r1, r1, r2, r2]);

  // The group's instance is thrown away (as an eviction or a crash does); the next call
  // builds a new one from storage.
  await gw.group().restart().catch(() => {});
  const view = await plain(gw.group().view());
  assert.equal(view.host.restored, true, "the new instance restored the stored ledger");
  assert.equal(view.host.reconciled, 2, "both replicas reported their sockets");
  assert.deepEqual(view.replicas.map((r) => [r.id, r.connections]), [[r1, 3], [r2, 2]]);

  const fresh = await gw.connect("new-0");
  assert.equal(fresh.welcome.replica, r2, "the new client joins the replica with room");
  const next = await gw.connect("new-1");
  assert.notEqual(next.welcome.replica, r1);
  assert.notEqual(next.welcome.replica, r2);

  // One cluster: a broadcast from a new client reaches every old socket.
  const report = await fresh.call("broadcast", { text: "after the restart" });
  assert.deepEqual(report, { replicas: 3, sockets: 6, failed: [] });
  await Promise.all(old.map((c) => c.next((m) => m.kind === "broadcast" && m.from === "new-0")));
  await gw.dispose();
  gw = null;
});

test("after the whole runtime restarts, the replicas' reports free the slots of sockets that died with it", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "shardtally-gateway-"));
  dirs.push(dir);
  gw = await startGateway({ bindings: { LIMIT: "3" }, persist: dir });
  const first = [];
  for (let i = 0; i < 5; i++) first.push(await gw.connect(`first-${i}`));
  const [r1, r2] = [first[0].welcome.replica, first[3].welcome.replica];
  await gw.dispose();

  gw = await startGateway({ bindings: { LIMIT: "3" }, persist: dir });
  const second = [];
  for (let i = 0; i < 6; i++) second.push(await gw.connect(`second-${i}`));
  assert.deepEqual(
    second.map((c) => c.welcome.replica),
    [r1, r1, r1, r2, r2, r2],
    "the existing replicas fill up again before any new one is created",
  );
  const view = await plain(gw.group().view());
  assert.equal(view.host.restored, true);
  assert.equal(view.host.reconciled, 2);
  assert.deepEqual(view.replicas.map((r) => [r.id, r.connections, r.reservations]), [[r1, 3, 0], [r2, 3, 0]]);
  assert.equal(view.stats.creations, 2, "no replica created in the second life");
});
