// A small global's state is stored as one row (its engine rows packed,
// `options.globalPackedRowBytes`) and its write log in pages of 32 records: applying a
// batch is one row written, however many engine rows it changed. The pages the write log's
// ring passed are deleted; past the limit the state moves to its change rows; a state
// stored as rows is packed when it is found small at a restart; restarts in either layout
// restore the totals and the write log exactly, and a write that fails while the layout
// changes leaves the stored layout as it was.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { MANUAL, call, flushTree, startCounter } from "./counter-harness.js";

const dirs = [];
let worker;
after(async () => {
  await worker?.dispose();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const BASE = { ...MANUAL, SHARD_COUNT: "2", KV: "none" };

const globalStats = () => call(worker, "GET", "/__test/global/state");
const stored = () => call(worker, "GET", "/__test/global/rows");
const writeLog = () => call(worker, "GET", "/global/writes");
const live = () => call(worker, "GET", "/__test/live");

async function start(env) {
  const dir = await mkdtemp(path.join(tmpdir(), "shardtally-do-"));
  dirs.push(dir);
  await worker?.dispose();
  worker = await startCounter(env, dir);
  return dir;
}

async function restart(env, dir) {
  await worker.dispose();
  worker = await startCounter(env, dir);
}

/** One batch of `entries` from `shard`, applied by the global (its acknowledgement answered). */
async function batch(shard, entries) {
  await call(worker, "POST", `/__test/shard/${shard}/increments`, { entries });
  const flushed = await call(worker, "POST", `/__test/shard/${shard}/flush`);
  assert.equal(flushed.acknowledged, true, `batch from shard ${shard} acknowledged`);
}

/** Rows and transactions the global wrote while `run` ran. */
async function globalCost(run) {
  const before = await globalStats();
  await run();
  const after = await globalStats();
  return { rows: after.storageWrites - before.storageWrites, transactions: after.storageTransactions - before.storageTransactions };
}

const names = (prefix, n) => Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(3, "0")}`);

test("a small global writes one row per applied batch, its write log in pages, and restores exactly", async () => {
  const dir = await start(BASE);
  // Both shard lives start (each registers with the global: a children row).
  await batch(0, [["a", 1]]);
  await batch(1, [["b", 1]]);

  // 38 more batches of three counters: each is one row at the global, except the one that
  // fills a page of 32 write-log records (two rows: the page and the packed row).
  const costs = [];
  for (let i = 0; i < 38; i++) {
    costs.push(await globalCost(() => batch(i % 2, [["a", 1], ["b", 2], [`c${i % 5}`, 3]])));
  }
  assert.deepEqual(
    costs.map((c) => c.transactions),
    costs.map(() => 1),
    "one transaction per batch",
  );
  const rows = costs.map((c) => c.rows);
  assert.equal(rows.filter((n) => n === 1).length, 37, `rows per batch: ${rows.join(" ")}`);
  assert.equal(rows.filter((n) => n === 2).length, 1, "the batch that filled a page wrote it");
  const s = await globalStats();
  assert.equal(s.storageLayout, "packed");
  assert.deepEqual(await stored(), { packed: 1, pages: 1 }, "no engine rows beside the packed row and one page");

  const log = await writeLog();
  assert.equal(log.length, 40, "every batch in the write log");
  const totals = await live();
  assert.deepEqual(totals, { a: 39, b: 77, c0: 24, c1: 24, c2: 24, c3: 21, c4: 21 });

  await restart(BASE, dir);
  assert.deepEqual(await writeLog(), log, "the write log restored from the page and the packed row");
  assert.deepEqual(await live(), totals);
  const restored = await globalStats();
  assert.equal(restored.restored, true);
  assert.equal(restored.storageLayout, "packed");
  // A duplicate of an applied batch is still recognised after the restart: the shards'
  // lives restored too, and the next batches apply once each.
  const after = await globalCost(() => batch(0, [["a", 5]]));
  assert.deepEqual(after, { rows: 1, transactions: 1 });
  assert.equal((await live()).a, 44);
});

test("pages the write log's ring passed are deleted; the restored log is the ring", async () => {
  const env = { ...BASE, WRITE_LOG_CAPACITY: "40" };
  const dir = await start(env);
  for (let i = 0; i < 100; i++) await batch(i % 2, [[`k${i % 7}`, 1]]);
  const log = await writeLog();
  assert.equal(log.length, 40);
  const pages = (await stored()).pages;
  // Records 60..99 are kept: the pages holding 32..63 and 64..95 and the packed row's
  // tail; the page of 0..31 was deleted.
  assert.equal(pages, 2, "only pages holding kept records are stored");
  await restart(env, dir);
  assert.deepEqual(await writeLog(), log, "exactly the ring, newest first");
  // Under a larger capacity the records the ring passed stay gone (as in the row layout),
  // though the kept page still holds some of them.
  await restart({ ...env, WRITE_LOG_CAPACITY: "1000" }, dir);
  assert.deepEqual(await writeLog(), log);
  const totals = await live();
  assert.equal(
    Object.values(totals).reduce((a, b) => a + b, 0),
    100,
  );
});

test("past the limit the state moves to its rows once, restoring exactly; a failed write while moving leaves it packed", async () => {
  // Shards retry a failed batch only when the test delivers their alarm.
  const env = { ...BASE, GLOBAL_PACKED_ROW_BYTES: "2000", RETRY_MS: "60000" };
  const dir = await start(env);
  await batch(0, [["x", 1], ["y", 2]]);
  await batch(1, [["x", 1]]);
  assert.equal((await globalStats()).storageLayout, "packed");

  // 60 counters of 7 bytes: the packed state would pass 2000 bytes. The write that moves it
  // to rows fails: the shard's batch is not acknowledged, the global rolls back to its
  // packed row.
  await call(worker, "POST", "/__test/global/fail-writes", { after: 0 });
  const many = names("m", 60).map((k) => [k, 1]);
  await call(worker, "POST", "/__test/shard/0/increments", { entries: many });
  const failed = await call(worker, "POST", "/__test/shard/0/flush");
  assert.equal(failed.acknowledged, false);
  const s = await globalStats();
  assert.equal(s.rollbacks, 1);
  assert.equal(s.storageLayout, "packed");
  assert.deepEqual(await stored(), { packed: 1 });
  assert.deepEqual(await live(), { x: 2, y: 2 });

  // The shard's retry, at its deadline, is applied (in rows, every row of the state
  // written once).
  const view = await call(worker, "GET", "/__test/shard/0/view");
  assert.equal(view.nextDeadline.timer, "retry");
  await call(worker, "POST", "/__test/shard/0/alarm", { atMs: Number(view.nextDeadline.atMs) });
  await flushTree(worker);
  assert.equal((await globalStats()).storageLayout, "rows");
  const rows = await stored();
  assert.equal(rows.packed, undefined, "the packed row went");
  assert.equal(rows.pages, undefined);
  assert.equal(rows.totals, 62, "one row per counter");
  // From here on a batch writes its own rows (totals and per-shard deltas, meta, ...).
  const cost = await globalCost(() => batch(1, [["x", 1], ["m-000", 1]]));
  assert.ok(cost.rows >= 6 && cost.rows <= 10, `a 2-counter batch in rows: ${cost.rows} rows`);
  const log = await writeLog();
  const totals = await live();
  assert.deepEqual([totals.x, totals.y, totals["m-000"], totals["m-059"], Object.keys(totals).length], [3, 2, 2, 1, 62]);

  await restart(env, dir);
  assert.equal((await globalStats()).storageLayout, "rows", "a large state stays in rows");
  assert.deepEqual(await writeLog(), log);
  assert.deepEqual(await live(), totals);
});

test("a state stored as rows is packed with the first write after a restart finds it small", async () => {
  const rowsEnv = { ...BASE, GLOBAL_PACKED_ROW_BYTES: "0" };
  const dir = await start(rowsEnv);
  for (let i = 0; i < 35; i++) await batch(i % 2, [[`r${i % 3}`, 2]]);
  assert.equal((await globalStats()).storageLayout, "rows");
  const before = await stored();
  assert.equal(before.writes, 35);
  assert.equal(before.totals, 3);

  await restart(BASE, dir);
  assert.equal((await globalStats()).storageLayout, "rows", "nothing written before the next input");
  await batch(0, [["r0", 1]]);
  assert.equal((await globalStats()).storageLayout, "packed");
  assert.deepEqual(await stored(), { packed: 1, pages: 1 }, "the rows went; 32 of the 36 records in a page");
  const log = await writeLog();
  assert.equal(log.length, 36);
  const totals = await live();
  assert.deepEqual(totals, { r0: 25, r1: 24, r2: 22 });

  await restart(BASE, dir);
  assert.equal((await globalStats()).storageLayout, "packed");
  assert.deepEqual(await writeLog(), log);
  assert.deepEqual(await live(), totals);
});
