// The example Worker's dashboard in a real browser: after a known workload, headless
// Chromium (Debian's, driven by playwright-core) logs in with the admin token (HTTP Basic
// auth, as a person would), takes a screenshot (kept in test-artifacts/, not committed) and
// reads the page's figures, which must equal the workload and what the objects report.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startWorker } from "./harness.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const EXAMPLE = path.join(HERE, "..", "..", "example");
const ARTIFACTS = process.env.SHARDTALLY_ARTIFACTS ?? path.join(HERE, "..", "test-artifacts");
const CHROMIUM = process.env.SHARDTALLY_CHROMIUM ?? "/usr/bin/chromium";
const TOKEN = "dashboard-test-token";
const WORKLOAD = { home: [30, 1], pricing: [20, 1], docs: [7, 5] }; // name: [requests, delta]

let worker;
let browser;
let origin;
before(async () => {
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: run sh bindings-wasm/durable-object/scripts/chromium.sh (or set SHARDTALLY_CHROMIUM)`);
  worker = await startWorker({
    entry: path.join(EXAMPLE, "src", "worker.js"),
    durableObjects: { COUNTER_SHARDS: { className: "CounterShard", useSQLite: true }, COUNTER_GLOBAL: { className: "CounterGlobal", useSQLite: true } },
    alias: { "shardtally-durable-object": path.join(HERE, "..", "src", "index.js") },
    // Nothing flushes or publishes by itself during the test: the figures hold still.
    bindings: { SHARD_COUNT: "4", STRATEGY: "hash", FLUSH_AFTER_REQUESTS: "100000", FLUSH_AFTER_IDLE_MS: "600000", FLUSH_MAX_AGE_MS: "600000", PUBLISH_AFTER_WRITES: "1", ADMIN_TOKEN: TOKEN },
  });
  origin = (await worker.mf.ready).origin;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
});
after(async () => {
  await browser?.close();
  await worker?.dispose();
});

const admin = { authorization: `Bearer ${TOKEN}` };
const get = async (pathname, headers = admin, method = "GET") => {
  const res = await fetch(`${origin}${pathname}`, { method, headers });
  return { status: res.status, headers: res.headers, json: res.headers.get("content-type")?.includes("json") ? await res.json() : await res.text() };
};

test("the example's admin routes need its token (Bearer, or Basic auth's password)", async () => {
  const noToken = await get("/dashboard", {});
  assert.equal(noToken.status, 401);
  assert.match(noToken.headers.get("www-authenticate"), /^Basic realm="shardtally admin"/);
  assert.equal((await get("/global/writes", {})).status, 403);
  assert.equal((await get("/global/writes", { authorization: "Bearer dashboard-test-tokem" })).status, 403);
  assert.equal((await get("/global/writes", { authorization: `Basic ${btoa(`admin:${TOKEN}x`)}` })).status, 403);
  assert.equal((await get("/global/writes", { authorization: `Basic ${btoa(`anyone:${TOKEN}`)}` })).status, 200);
  assert.equal((await get("/global/writes")).status, 200);
});

test("the dashboard shows the totals, per-shard writes and pending, and the billed writes of a known workload", async (t) => {
  // The workload: increments over HTTP, then shards 0 and 1 flushed (shards 2 and 3 keep
  // theirs pending).
  for (const [name, [requests, delta]] of Object.entries(WORKLOAD)) {
    const answers = await Promise.all(Array.from({ length: requests }, () => fetch(`${origin}/increment/${name}`, { method: "POST", body: String(delta) })));
    assert.ok(answers.every((a) => a.status === 200));
  }
  for (const n of [0, 1]) assert.equal((await get(`/shard/${n}/write`, admin, "POST")).status, 200);

  const context = await browser.newContext({ httpCredentials: { username: "admin", password: TOKEN }, viewport: { width: 1280, height: 1000 } });
  t.after(() => context.close());
  const page = await context.newPage();
  const response = await page.goto(`${origin}/dashboard?refresh=0`);
  assert.equal(response.status(), 200);
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, "dashboard.png"), fullPage: true });

  const number = async (selector) => Number((await page.locator(selector).first().textContent()).replaceAll(",", ""));
  const metric = (name) => number(`[data-metric="${name}"]`);

  // What the objects report, read by RPC from here.
  const shardNs = await worker.mf.getDurableObjectNamespace("COUNTER_SHARDS");
  const globalNs = await worker.mf.getDurableObjectNamespace("COUNTER_GLOBAL");
  const plain = async (p) => JSON.parse(JSON.stringify(await p, (_, v) => (typeof v === "bigint" ? Number(v) : v)));
  const shards = await Promise.all([0, 1, 2, 3].map(async (n) => {
    const stub = shardNs.get(shardNs.idFromName(`shard:${n}`));
    return { view: await plain(stub.view()), stats: await plain(stub.stats()) };
  }));
  const globalStats = await plain(globalNs.get(globalNs.idFromName("global")).stats());
  const { json: live } = await get("/global/counters");
  const { json: shardWrites } = await get("/global/shardWrites");

  // Totals: the workload's, as the global has them (flushed shards only).
  const flushedShards = new Set([0, 1]);
  const workloadSum = Object.values(WORKLOAD).reduce((a, [requests, delta]) => a + requests * delta, 0);
  for (const [name, total] of Object.entries(live)) assert.equal(await number(`[data-counter="${name}"]`), total, `total of ${name}`);
  assert.equal(await metric("counters"), Object.keys(live).length);
  assert.equal(await metric("sum"), Object.values(live).reduce((a, b) => a + b, 0));
  const pendingSum = shards.flatMap((s) => s.view.pending).reduce((a, p) => a + Number(p.delta), 0);
  assert.equal((await metric("sum")) + pendingSum, workloadSum, "flushed + pending = the workload");
  assert.deepEqual(
    shards.map((s, n) => (flushedShards.has(n) ? s.view.pending.length : 0)),
    [0, 0, 0, 0],
    "the flushed shards hold nothing pending",
  );

  // Writes to the global per shard: the global's own per-shard count.
  for (let n = 0; n < 4; n++) {
    assert.equal(await number(`[data-shard-writes="${n}"]`), shardWrites.shardWrites[`shard:${n}`]?.writeCount ?? 0, `writes of shard ${n}`);
    assert.equal(await number(`[data-shard-pending="${n}"]`), shards[n].view.pendingRequests ?? 0, `pending requests of shard ${n}`);
  }
  assert.equal(await metric("global-writes"), shardWrites.totalWrite);

  // Billed writes of the run against one write per increment.
  const requests = Object.values(WORKLOAD).reduce((a, [r]) => a + r, 0);
  assert.equal(await metric("increments"), requests);
  assert.equal(await metric("baseline-writes"), requests);
  const billed = shards.reduce((a, s) => a + s.stats.storageWrites + s.stats.alarmWrites, 0) + globalStats.storageWrites + globalStats.alarmWrites;
  assert.equal(await metric("billed-writes"), billed);
  assert.equal(await page.locator('[data-metric="ratio"]').textContent(), `${(billed / requests).toFixed(3)}x`);
  assert.equal(await page.locator("svg").count(), 4, "four charts, drawn inline");
});

test("the dashboard refreshes its figures in place, within its Content-Security-Policy", async (t) => {
  const context = await browser.newContext({ httpCredentials: { username: "admin", password: TOKEN } });
  t.after(() => context.close());
  const page = await context.newPage();
  const problems = [];
  page.on("console", (m) => problems.push(m.text()));
  page.on("pageerror", (e) => problems.push(String(e)));
  await page.goto(`${origin}/dashboard?refresh=1`);
  const before = Number((await page.locator('[data-metric="increments"]').textContent()).replaceAll(",", ""));
  assert.equal((await fetch(`${origin}/increment/home`, { method: "POST" })).status, 200);
  await page.waitForFunction((n) => document.querySelector('[data-metric="increments"]').textContent.replaceAll(",", "") === String(n), before + 1, { timeout: 10_000 });
  assert.deepEqual(problems, [], "no script error or CSP violation");
});
