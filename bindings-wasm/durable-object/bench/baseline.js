// The baseline of the load script: a minimal pair of objects doing per increment what
// do-counter-sharding did. The Worker forwards each `POST /increment/:counter` request to
// a random shard object's `fetch` (bench/worker.js); the shard puts its whole counter map
// in storage on every increment and sends it to the global after 100 requests (or 5 s
// without one, by setTimeout); the global stores its counters and a write-log entry per write, and a
// snapshot to KV after 100 writes. Writes are counted the way the shim counts them.
import { DurableObject } from "cloudflare:workers";
import { countersOf } from "../src/storage.js";

export class BaselineShard extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.io = countersOf(ctx, "baseline", { storageWrites: 0, alarmWrites: 0, globalCalls: 0 });
    this.requests = 0;
    ctx.blockConcurrencyWhile(async () => {
      this.counters = (await ctx.storage.get("counters")) ?? {};
    });
  }

  /**
   * do-counter-sharding's shard route: `POST /increment/:counter` with an optional JSON
   * number body, reached by the Worker through `stub.fetch(request)`.
   */
  async fetch(request) {
    const url = new URL(request.url);
    const match = /^\/(?:[^/]+\/)?increment\/([^/]+)$/.exec(url.pathname);
    if (request.method !== "POST" || !match) return new Response("nothing", { status: 400 });
    let value = 1;
    const body = await request.text();
    if (body) {
      try {
        value = JSON.parse(body);
      } catch {
        return new Response("Invalid json.", { status: 400 });
      }
      if (typeof value !== "number") return new Response("[body] must be a number.", { status: 400 });
    }
    await this.increment(decodeURIComponent(match[1]), value);
    return new Response(request.headers.get("shardName") ?? "");
  }

  async increment(name, delta = 1) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.writeToGlobal("afterNoRequest"), 5_000);
    this.counters[name] = (this.counters[name] ?? 0) + delta;
    this.requests += 1;
    if (this.requests >= 100) {
      clearTimeout(this.timer);
      await this.writeToGlobal("exceedMaxRequest");
    } else {
      this.ctx.storage.put("counters", this.counters);
      this.io.storageWrites += 1;
    }
    return { shard: 0 };
  }

  async writeToGlobal(event) {
    const held = this.counters;
    this.counters = {};
    this.requests = 0;
    this.ctx.storage.deleteAll();
    this.io.storageWrites += 1;
    this.io.globalCalls += 1;
    try {
      const global = this.env.BASELINE_GLOBAL.getByName("global");
      await global.write({ counters: held, shardName: this.ctx.id.name, event, timestamp: Date.now() });
    } catch {
      for (const [k, v] of Object.entries(held)) this.counters[k] = (this.counters[k] ?? 0) + v;
      this.ctx.storage.put("counters", this.counters);
      this.io.storageWrites += 1;
    }
  }

  async stats() {
    return { ...this.io, pending: Object.values(this.counters).reduce((a, b) => a + b, 0) };
  }
}

export class BaselineGlobal extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.io = countersOf(ctx, "baseline", { storageWrites: 0, alarmWrites: 0, kvWrites: 0, publishes: 0 });
    this.writes = 0;
    ctx.blockConcurrencyWhile(async () => {
      this.counters = (await ctx.storage.get("counters")) ?? {};
    });
  }

  async write(info) {
    for (const [k, v] of Object.entries(info.counters)) this.counters[k] = (this.counters[k] ?? 0) + v;
    this.writes += 1;
    this.ctx.storage.put("counters", this.counters);
    this.ctx.storage.put(`writes~${info.timestamp}~${crypto.randomUUID()}`, info);
    this.io.storageWrites += 2;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.writeToKV("afterNoRequest"), 5_000);
    if (this.writes > 100) {
      clearTimeout(this.timer);
      this.writeToKV("exceedMaxRequest");
    }
    return "Global saved.";
  }

  writeToKV(event) {
    this.env.BENCH_KV.put("baseline~counters", JSON.stringify(this.counters));
    this.ctx.storage.put(`writes~${Date.now()}~${crypto.randomUUID()}`, { cmd: "writeToKV", event, counters: this.counters });
    this.io.kvWrites += 1;
    this.io.storageWrites += 1;
    this.io.publishes += 1;
    this.writes = 0;
  }

  async counters_() {
    return this.counters;
  }

  async stats() {
    return { ...this.io, counters: this.counters };
  }
}
