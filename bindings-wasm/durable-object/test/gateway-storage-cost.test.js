// What a connect costs the group in storage: its route, its open and its close each write a
// few SQLite rows (`cursor.rowsWritten`, the billed unit) in one transaction, and the same
// rows and bytes (within 2×) whether the group holds 10 connections or 2 000 — the ledger is
// written from the engine's change journal, not rewritten whole.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { plain, startGateway } from "./gateway-harness.js";

let gw;
after(() => gw?.dispose());

/** Routes and opens connections `from .. to` on group stub `g` by RPC (as the Worker and a replica do). */
async function join(g, from, to) {
  for (let i = from; i < to; i++) {
    const { replica } = await g.route(`request-${String(i).padStart(6, "0")}`);
    await g.opened(replica, `connection-${String(i).padStart(6, "0")}`, `request-${String(i).padStart(6, "0")}`);
  }
}

/** Rows, bytes and transactions one call wrote. */
async function cost(g, call) {
  const before = (await plain(g.view())).io;
  const result = await call();
  const after = (await plain(g.view())).io;
  const spent = {
    rows: after.storageWrites - before.storageWrites,
    bytes: after.storageWriteBytes - before.storageWriteBytes,
    transactions: after.storageTransactions - before.storageTransactions,
  };
  return { result, spent, ledger: { rows: after.ledgerRows, bytes: after.ledgerBytes } };
}

/** The costs of one more client: its route, its open, its close. */
async function oneClient(g) {
  const route = await cost(g, () => g.route("probe"));
  const open = await cost(g, () => g.opened(route.result.replica, "probe-connection", "probe"));
  assert.equal(open.result, "reserved");
  const close = await cost(g, () => g.closed(route.result.replica, "probe-connection"));
  assert.equal(close.result, true);
  return { route: route.spent, open: open.spent, close: close.spent, ledger: close.ledger };
}

test("a route, an open and a close write the same few rows at 10 and at 2 000 connections", async () => {
  gw = await startGateway({ bindings: { LIMIT: "64", RESERVATION_TTL_MS: "600000" } });
  const g = gw.group("cost");
  await join(g, 0, 10);
  const small = await oneClient(g);
  await join(g, 10, 2_000);
  const large = await oneClient(g);
  for (const what of ["route", "open", "close"]) {
    const [s, l] = [small[what], large[what]];
    console.log(`${what}: ${s.rows} rows / ${s.bytes} bytes at 10 connections, ${l.rows} rows / ${l.bytes} bytes at 2 000`);
    assert.equal(s.transactions, 1, `${what}: one transaction`);
    assert.equal(l.transactions, 1, `${what}: one transaction`);
    assert.ok(s.rows <= 4 && l.rows <= 4, `${what}: O(1) rows (${s.rows} and ${l.rows})`);
    assert.ok(l.rows <= 2 * s.rows && s.rows <= 2 * l.rows, `${what}: rows within 2x`);
    assert.ok(l.bytes <= 2 * s.bytes && s.bytes <= 2 * l.bytes, `${what}: bytes within 2x (${s.bytes} and ${l.bytes})`);
  }
  console.log(`ledger: ${small.ledger.rows} rows / ${small.ledger.bytes} bytes at 10 connections, ${large.ledger.rows} rows / ${large.ledger.bytes} bytes at 2 000`);
  assert.ok(large.ledger.bytes > 50 * large.open.bytes, "the whole ledger is far larger than what an open writes");
});
