// Runs the example Worker locally in workerd (Miniflare), sends a burst of increments over
// several shards, lets the shards' alarms flush them, and prints the totals and what the
// run cost in storage writes, alarms and shard -> global calls, next to what
// do-counter-sharding's design would have written for the same traffic.
//
//   node bindings-wasm/example/demo.mjs [increments] [concurrency]
//   DURABILITY=buffered node bindings-wasm/example/demo.mjs     # the other durability mode
//   node bindings-wasm/example/demo.mjs --serve                 # then keep serving the dashboard
//
// Short idle timers (300 ms instead of 5 s) keep the run quick; everything else is the
// configuration in wrangler.jsonc.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SHIM = path.join(HERE, "..", "durable-object");
const SERVE = process.argv.includes("--serve");
const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const TOTAL = Number(args[0] ?? 2000);
const CONCURRENCY = Number(args[1] ?? 64);
const NAMES = ["home", "pricing", "docs", "signup"];

const out = (line = "") => process.stdout.write(`${line}\n`);

// Setup on first use: the wasm package and the shim's npm dependencies.
if (!existsSync(path.join(SHIM, "node_modules", "miniflare")) || !existsSync(path.join(SHIM, "..", "pkg", "shardtally_wasm_bg.wasm"))) {
  out("setting up (builds the wasm package, npm install in bindings-wasm/durable-object) ...");
  execFileSync("sh", [path.join(SHIM, "scripts", "setup.sh")], { stdio: "inherit" });
}
const { startWorker } = await import(path.join(SHIM, "dev", "workerd.js"));

/** wrangler.jsonc without its comments. */
function readJsonc(file) {
  const text = readFileSync(file, "utf8");
  let json = "";
  for (let i = 0, inString = false; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      json += c;
      if (c === "\\") json += text[++i];
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      json += c;
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      json += "\n";
    } else {
      json += c;
    }
  }
  return JSON.parse(json);
}

const config = readJsonc(path.join(HERE, "wrangler.jsonc"));
const sqliteClasses = new Set(config.migrations.flatMap((m) => m.new_sqlite_classes ?? []));
const durableObjects = Object.fromEntries(
  config.durable_objects.bindings.map((b) => [b.name, { className: b.class_name, useSQLite: sqliteClasses.has(b.class_name) }]),
);
// The secret a deployment sets with `wrangler secret put ADMIN_TOKEN`: admin routes need it.
const ADMIN_TOKEN = randomBytes(18).toString("base64url");
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const vars = {
  ...config.vars,
  DURABILITY: process.env.DURABILITY || config.vars.DURABILITY,
  FLUSH_AFTER_IDLE_MS: "300",
  PUBLISH_AFTER_IDLE_MS: "300",
  ADMIN_TOKEN,
};
const shardCount = Number(vars.SHARD_COUNT);

out(`shardtally Durable Object demo: ${TOTAL} increments of ${NAMES.length} counters over ${shardCount} shards`);
out(`workerd via Miniflare; ${vars.DURABILITY} mode; flush after ${vars.FLUSH_AFTER_REQUESTS} requests or 300 ms idle`);
const worker = await startWorker({
  entry: path.join(HERE, config.main),
  durableObjects,
  kvNamespaces: ["COUNTER_KV"],
  bindings: vars,
  alias: { "shardtally-durable-object": path.join(SHIM, "src", "index.js") },
});

try {
  // 1. The burst, CONCURRENCY requests at a time, with a progress line.
  const expected = Object.fromEntries(NAMES.map((n) => [n, 0]));
  let sent = 0;
  let failed = 0;
  const started = Date.now();
  // A live line on a terminal; a line per quarter of the burst otherwise.
  const tty = Boolean(process.stdout.isTTY);
  let reported = 0;
  const progress = (last = false) => {
    const s = (Date.now() - started) / 1000;
    const line = `  sent ${String(sent).padStart(String(TOTAL).length)}/${TOTAL}  ${Math.round(sent / Math.max(s, 0.001))} req/s`;
    if (tty) process.stdout.write(`\r${line}${last ? "\n" : ""}`);
    else if (last || sent >= reported + TOTAL / 4) {
      reported = sent;
      process.stdout.write(`${line}\n`);
    }
  };
  const timer = setInterval(progress, 100);
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (sent < TOTAL) {
        const name = NAMES[sent % NAMES.length];
        sent += 1;
        const res = await worker.mf.dispatchFetch(`http://demo/increment/${name}`, { method: "POST" });
        await res.arrayBuffer();
        if (res.status === 200) expected[name] += 1;
        else failed += 1;
      }
    }),
  );
  clearInterval(timer);
  progress(true);
  out(`  ${TOTAL - failed} accepted, ${failed} failed, in ${Date.now() - started} ms`);

  // 2. Nothing is flushed by hand: wait for the shards' alarms and the global's publish.
  process.stdout.write("  waiting for the alarms to flush the shards and publish");
  const waitStart = Date.now();
  let published;
  for (;;) {
    const shards = await (await worker.mf.dispatchFetch("http://demo/global/shards", { headers: admin })).json();
    published = await (await worker.mf.dispatchFetch("http://demo/counters")).json();
    const idle = shards.every((s) => Object.keys(s).length === 0);
    if (idle && NAMES.every((n) => published[n] === expected[n])) break;
    if (Date.now() - waitStart > 30_000) throw new Error("the flushes did not complete within 30 s");
    process.stdout.write(".");
    await new Promise((r) => setTimeout(r, 200));
  }
  out(` done after ${Date.now() - waitStart} ms`);

  // 3. The figures: every object's I/O counters (RPC through Miniflare).
  const live = await (await worker.mf.dispatchFetch("http://demo/global/counters")).json();
  const shardNs = await worker.mf.getDurableObjectNamespace("COUNTER_SHARDS");
  const globalNs = await worker.mf.getDurableObjectNamespace("COUNTER_GLOBAL");
  const plain = async (p) => JSON.parse(JSON.stringify(await p));
  const shardStats = await Promise.all(Array.from({ length: shardCount }, (_, n) => plain(shardNs.get(shardNs.idFromName(`shard:${n}`)).stats())));
  const globalStats = await plain(globalNs.get(globalNs.idFromName("global")).stats());

  out();
  out("totals");
  for (const name of NAMES) {
    const ok = live[name] === expected[name] && published[name] === expected[name];
    out(`  ${name.padEnd(8)} sent ${String(expected[name]).padStart(6)}  global ${String(live[name]).padStart(6)}  published ${String(published[name]).padStart(6)}  ${ok ? "exact" : "MISMATCH"}`);
  }
  const sum = (f) => shardStats.reduce((n, s) => n + f(s), 0);
  const accepted = TOTAL - failed;
  const shardWrites = sum((s) => s.storageWrites);
  const shardAlarms = sum((s) => s.alarmWrites);
  const calls = sum((s) => s.globalCalls);
  const ours = shardWrites + globalStats.storageWrites + shardAlarms + globalStats.alarmWrites;
  const theirs = accepted + globalStats.publishes;
  out();
  out("cost of the run");
  out(`  storage writes   shards ${shardWrites}, global ${globalStats.storageWrites}`);
  out(`  alarms set       shards ${shardAlarms}, global ${globalStats.alarmWrites} (fired: ${sum((s) => s.alarmsFired)} + ${globalStats.alarmsFired})`);
  out(`  shard -> global  ${calls} RPC calls (${sum((s) => s.globalFailures)} failed), ${globalStats.batches} batches applied, ${globalStats.publishes} publishes`);
  out(`  billed writes    ${ours} (storage + alarms)`);
  out();
  out("do-counter-sharding's design for the same traffic");
  out(`  1 storage write per increment + 1 full snapshot per publish = ${accepted} + ${globalStats.publishes} = ${theirs} writes`);
  const how =
    vars.DURABILITY === "buffered"
      ? "buffered mode: a shard writes once per flush"
      : "durable mode: increments arriving while a write is made durable share the next one";
  out(`  shardtally: ${ours} writes = ${(ours / theirs).toFixed(3)}x (${how})`);
  out(`  alarms: about one per idle period per busy object (${vars.FLUSH_AFTER_IDLE_MS} ms here, 5 s by default)`);
  // 4. What the dashboard shows (GET /dashboard/data: the figures of GET /dashboard).
  const unauthorized = await worker.mf.dispatchFetch("http://demo/dashboard/data");
  await unauthorized.arrayBuffer();
  const dashboard = await (await worker.mf.dispatchFetch("http://demo/dashboard/data", { headers: admin })).json();
  out();
  out(`dashboard (admin route: ${unauthorized.status} without the token)`);
  out(`  ${dashboard.totals.counters} counters, sum ${dashboard.totals.sum}; ${dashboard.run.increments} increments`);
  out(`  billed writes ${dashboard.run.billedWrites} against ${dashboard.run.oneWritePerIncrement} at one per increment (${dashboard.run.ratio.toFixed(3)}x)`);
  const allExact = NAMES.every((n) => live[n] === expected[n] && published[n] === expected[n]);
  out();
  out(allExact ? "all totals exact" : "TOTALS DIFFER");
  process.exitCode = allExact ? 0 : 1;
  if (SERVE) {
    const url = await worker.mf.ready;
    out();
    out(`serving on ${url.origin}; open ${url.origin}/dashboard and log in with any user name and the password`);
    out(`  ${ADMIN_TOKEN}`);
    out("(Ctrl-C stops)");
    await new Promise((resolve) => process.once("SIGINT", resolve));
  }
} finally {
  await worker.dispose();
}
