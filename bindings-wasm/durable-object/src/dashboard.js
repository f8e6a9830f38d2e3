// The dashboard: what a sharded counter holds and what it cost, gathered from the objects
// by RPC (bounded fan-out) and drawn as a self-contained HTML page with inline SVG charts
// (no script or style from anywhere else). Served by the admin routes `GET /dashboard`
// and `GET /dashboard/data` (the same figures as JSON).

import { mapBounded } from "./client.js";

/** Most shards one dashboard page reads (one `view` and one `stats` call each). */
export const DASHBOARD_SHARDS = 64;
/** Counters listed by name (the largest totals). */
export const TOP_COUNTERS = 20;

const num = (v) => (typeof v === "bigint" ? v : BigInt(v ?? 0));
const narrow = (v) => (v >= -BigInt(Number.MAX_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
const io = (s) => Number(s?.storageWrites ?? 0) + Number(s?.alarmWrites ?? 0);

/**
 * The dashboard's figures: totals (the largest `TOP_COUNTERS` by magnitude, their number
 * and sum), the global's writes, and for the shards `start ..` (at most `DASHBOARD_SHARDS`
 * and `fanOutLimit`) their writes to the global, pending requests and I/O; and the run's
 * billed writes (storage and alarm writes of those shards and the global since their
 * isolate started) against one write per increment (what do-counter-sharding's shards
 * wrote).
 * @param {import("./client.js").CounterClient} client
 * @param {number} [start] first shard of the page
 */
export async function dashboardData(client, start = 0) {
  const page = client.page(start, DASHBOARD_SHARDS);
  const global = client.global();
  const [view, gstats, totals, shards] = await Promise.all([
    global.view(),
    global.stats(),
    global.counters(),
    mapBounded(page.end - page.start, client.options.fanOutConcurrency, async (i) => {
      const n = page.start + i;
      const stub = client.shard(n);
      const [v, s] = await Promise.all([stub.view(), stub.stats()]);
      return {
        shard: n,
        writes: Number(v.stats?.acks ?? 0),
        batches: Number(v.stats?.batches ?? 0),
        pendingRequests: Number(v.pendingRequests ?? 0),
        pendingKeys: v.pending?.length ?? 0,
        inFlight: v.inFlight !== null && v.inFlight !== undefined,
        increments: Number(s.increments ?? 0),
        storageWrites: Number(s.storageWrites ?? 0),
        alarmWrites: Number(s.alarmWrites ?? 0),
      };
    }),
  ]);
  const entries = Object.entries(totals);
  let sum = 0n;
  for (const [, total] of entries) sum += num(total);
  const top = entries
    .map(([name, total]) => ({ name, total: num(total) }))
    .sort((a, b) => {
      const ma = a.total < 0n ? -a.total : a.total;
      const mb = b.total < 0n ? -b.total : b.total;
      return ma === mb ? (a.name < b.name ? -1 : 1) : mb > ma ? 1 : -1;
    })
    .slice(0, TOP_COUNTERS)
    .map(({ name, total }) => ({ name, total: narrow(total) }));
  const shardWrites = shards.reduce((n, s) => n + s.storageWrites + s.alarmWrites, 0);
  const globalWrites = io(gstats);
  const increments = shards.reduce((n, s) => n + s.increments, 0);
  const billedWrites = shardWrites + globalWrites;
  return {
    shardCount: client.options.shardCount,
    durability: client.options.durability,
    page,
    totals: { counters: entries.length, sum: narrow(sum), top },
    global: {
      writes: Number(view.stats?.totalWrites ?? 0),
      distinctShards: Number(view.stats?.distinctShards ?? 0),
      publishes: Number(gstats.publishes ?? 0),
      publishedVersion: Number(view.publishedVersion ?? 0),
      storageWrites: Number(gstats.storageWrites ?? 0),
      alarmWrites: Number(gstats.alarmWrites ?? 0),
    },
    shards,
    run: {
      increments,
      shardWrites,
      globalWrites,
      billedWrites,
      oneWritePerIncrement: increments,
      ratio: increments === 0 ? null : billedWrites / increments,
    },
  };
}

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
/** Text made safe for HTML text and quoted attributes (counter names come from clients). */
export function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

const fmt = (v) => (typeof v === "number" ? v.toLocaleString("en-US") : String(v));

/**
 * A horizontal bar chart: one row per item, label left, bar, value right.
 * @param {Array<{label: string, value: number, attr?: string}>} items
 * @param {string} title accessible title
 */
function hbars(items, title, { color = "#3b82f6", width = 560 } = {}) {
  const row = 22;
  const labelW = 170;
  const valueW = 90;
  const barW = width - labelW - valueW - 10;
  const max = Math.max(1, ...items.map((i) => Math.abs(i.value)));
  const h = Math.max(row, items.length * row);
  const rows = items.map((item, i) => {
    const w = Math.max(item.value === 0 ? 0 : 1, Math.round((Math.abs(item.value) / max) * barW));
    const y = i * row;
    const label = item.label.length > 24 ? `${item.label.slice(0, 23)}…` : item.label;
    return (
      `<g transform="translate(0,${y})"><title>${escapeHtml(item.label)}: ${escapeHtml(fmt(item.value))}</title>` +
      `<text x="${labelW - 6}" y="15" text-anchor="end" class="lbl">${escapeHtml(label)}</text>` +
      `<rect x="${labelW}" y="4" width="${w}" height="14" rx="2" fill="${item.value < 0 ? "#ef4444" : color}"/>` +
      `<text x="${labelW + w + 6}" y="15" class="val"${item.attr ?? ""}>${escapeHtml(fmt(item.value))}</text></g>`
    );
  });
  const empty = items.length === 0 ? `<text x="8" y="15" class="lbl">nothing yet</text>` : "";
  return `<svg role="img" aria-label="${escapeHtml(title)}" width="${width}" height="${h}" viewBox="0 0 ${width} ${h}">${rows.join("")}${empty}</svg>`;
}

/**
 * A vertical bar chart over shards.
 * @param {Array<{shard: number, value: number}>} items
 */
function vbars(items, title, metric, { color = "#10b981", width = 560, height = 160 } = {}) {
  const pad = 24;
  const n = Math.max(1, items.length);
  const slot = (width - pad) / n;
  const barW = Math.max(2, Math.min(40, slot * 0.7));
  const max = Math.max(1, ...items.map((i) => i.value));
  const plotH = height - 2 * pad;
  const bars = items.map((item, i) => {
    const h = Math.round((item.value / max) * plotH);
    const x = pad + i * slot + (slot - barW) / 2;
    const label = n <= 16 || i % Math.ceil(n / 16) === 0 ? `<text x="${x + barW / 2}" y="${height - 6}" text-anchor="middle" class="lbl">${item.shard}</text>` : "";
    return (
      `<g><title>shard ${item.shard}: ${fmt(item.value)}</title>` +
      `<rect x="${x.toFixed(1)}" y="${pad + plotH - h}" width="${barW.toFixed(1)}" height="${h}" rx="2" fill="${color}"/>` +
      `<text x="${(x + barW / 2).toFixed(1)}" y="${pad + plotH - h - 4}" text-anchor="middle" class="val" data-${metric}="${item.shard}">${fmt(item.value)}</text>${label}</g>`
    );
  });
  return (
    `<svg role="img" aria-label="${escapeHtml(title)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
    `<line x1="${pad}" y1="${pad + plotH}" x2="${width}" y2="${pad + plotH}" stroke="#cbd5e1"/>${bars.join("")}</svg>`
  );
}

function tile(label, value, metric) {
  return `<div class="tile"><div class="k">${escapeHtml(label)}</div><div class="v" data-metric="${metric}">${escapeHtml(fmt(value))}</div></div>`;
}

/**
 * The dashboard page for `dashboardData`'s figures: self-contained HTML (inline styles
 * and SVG, one inline script that reloads the figures every `refresh` seconds; 0 turns it
 * off), guarded by a per-page nonce for the Content-Security-Policy. Every figure a test
 * or a script may read carries a `data-metric` attribute.
 * @param {Awaited<ReturnType<typeof dashboardData>>} data
 * @param {{basePath?: string, refresh?: number}} [options]
 * @returns {{html: string, nonce: string}}
 */
export function dashboardPage(data, { basePath = "", refresh = 10 } = {}) {
  const nonce = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  const { run, page } = data;
  const ratio = run.ratio === null ? "–" : `${run.ratio.toFixed(3)}x`;
  const shardsShown = page.end - page.start === data.shardCount ? `all ${data.shardCount}` : `${page.start}–${page.end - 1} of ${data.shardCount}`;
  const nav = [
    page.start > 0 ? `<a href="${escapeHtml(basePath)}/dashboard?start=${Math.max(0, page.start - DASHBOARD_SHARDS)}">previous shards</a>` : "",
    page.next !== null ? `<a href="${escapeHtml(basePath)}/dashboard?start=${page.next}">next shards</a>` : "",
  ].join(" ");
  const compare = hbars(
    [
      { label: "shardtally (billed)", value: run.billedWrites, attr: ' data-metric="billed-writes-bar"' },
      { label: "one write per increment", value: run.oneWritePerIncrement, attr: ' data-metric="baseline-writes-bar"' },
    ],
    "billed writes against one write per increment",
    { color: "#6366f1" },
  );
  const top = hbars(
    data.totals.top.map((c) => ({ label: c.name, value: Number(c.total), attr: ` data-counter="${escapeHtml(c.name)}"` })),
    "largest totals",
  );
  const writes = vbars(data.shards.map((s) => ({ shard: s.shard, value: s.writes })), "writes to the global per shard", "shard-writes");
  const pending = vbars(data.shards.map((s) => ({ shard: s.shard, value: s.pendingRequests })), "pending requests per shard", "shard-pending", { color: "#f59e0b" });
  const main =
    `<main>` +
    `<section class="tiles">` +
    tile("counters", data.totals.counters, "counters") +
    tile("sum of totals", data.totals.sum, "sum") +
    tile("increments (this run)", run.increments, "increments") +
    tile("billed writes", run.billedWrites, "billed-writes") +
    tile("one write per increment", run.oneWritePerIncrement, "baseline-writes") +
    tile("billed / one per increment", ratio, "ratio") +
    tile("global writes", data.global.writes, "global-writes") +
    tile("publishes", data.global.publishes, "publishes") +
    `</section>` +
    `<section><h2>Billed writes</h2><p>Storage and alarm writes of the shards (${escapeHtml(shardsShown)}) and the global since their isolates started: shards <span data-metric="shard-billed-writes">${fmt(run.shardWrites)}</span>, global <span data-metric="global-billed-writes">${fmt(run.globalWrites)}</span>; against one storage write per increment.</p>${compare}</section>` +
    `<section><h2>Largest totals</h2><p>${escapeHtml(fmt(data.totals.counters))} counters; the ${Math.min(TOP_COUNTERS, data.totals.counters)} largest by magnitude.</p>${top}</section>` +
    `<section><h2>Writes to the global per shard</h2><p>Batches acknowledged per shard (${escapeHtml(shardsShown)}). ${nav}</p>${writes}</section>` +
    `<section><h2>Pending per shard</h2><p>Requests accepted and not yet sent in a batch.</p>${pending}</section>` +
    `</main>`;
  const script =
    refresh > 0
      ? `<script nonce="${nonce}">setInterval(async()=>{try{const r=await fetch(location.href,{credentials:"same-origin",cache:"no-store"});if(!r.ok)return;const h=await r.text();const i=h.indexOf("<main>"),j=h.indexOf("</main>");if(i<0||j<0)return;const t=document.createElement("template");t.innerHTML=h.slice(i,j+7);document.querySelector("main").replaceWith(t.content.firstElementChild);document.getElementById("at").textContent=new Date().toLocaleTimeString();}catch{}},${refresh * 1000});</script>`
      : "";
  const html =
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">` +
    `<title>shardtally dashboard</title><style nonce="${nonce}">` +
    `body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#0f172a;background:#f8fafc}h1{font-size:20px;margin:0 0 4px}h2{font-size:15px;margin:0 0 6px}` +
    `main{display:grid;grid-template-columns:repeat(auto-fit,minmax(600px,1fr));gap:16px}section{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:12px 16px}` +
    `.tiles{grid-column:1/-1;display:flex;flex-wrap:wrap;gap:12px}.tile{min-width:120px}.k{color:#64748b;font-size:12px}.v{font-size:20px;font-weight:600}` +
    `.lbl{font-size:11px;fill:#475569}.val{font-size:11px;fill:#0f172a}p{color:#475569;margin:0 0 8px}a{color:#2563eb}` +
    `</style></head><body><h1>shardtally dashboard</h1><p>${escapeHtml(data.shardCount)} shards, ${escapeHtml(data.durability)} mode; updated <span id="at">${escapeHtml(new Date().toISOString())}</span>${refresh > 0 ? `, every ${refresh} s` : ""}.</p>` +
    `${main}${script}</body></html>`;
  return { html, nonce };
}
