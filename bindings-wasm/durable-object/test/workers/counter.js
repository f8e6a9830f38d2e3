// The Worker the shim tests run in workerd: the public counter routes (exactly what a user
// deploys) plus `/__test/*` routes that drive the objects' test hooks (deliver an alarm at a
// chosen time, make the global or storage fail, hold batches, read I/O counters) and call
// the objects' RPC methods. No test route forwards batches.
import { CounterClient, GlobalObject, ShardObject, counterWorker } from "../../src/index.js";
import { mapLimited } from "../../src/tree.js";
import { Shard } from "shardtally-wasm";

const allowAll = () => true;
const num = (value, fallback) => (value === undefined ? fallback : Number(value));

/** Short timers so the alarms drive every flush within a test's time; variables tune them. */
export const options = (env) => ({
  shardBinding: "COUNTER_SHARDS",
  globalBinding: "COUNTER_GLOBAL",
  shardCount: num(env.SHARD_COUNT, 4),
  fanIn: num(env.FAN_IN, 32),
  strategy: env.STRATEGY ?? "random",
  durability: env.DURABILITY ?? "durable",
  kvBinding: env.KV === "none" ? null : "COUNTER_KV",
  kvPrefix: "test",
  kvMaxKeys: num(env.KV_MAX_KEYS, 100_000),
  ...(env.SHARD_SNAPSHOT_ROW_BYTES ? { shardSnapshotRowBytes: Number(env.SHARD_SNAPSHOT_ROW_BYTES) } : {}),
  ...(env.GLOBAL_PACKED_ROW_BYTES ? { globalPackedRowBytes: Number(env.GLOBAL_PACKED_ROW_BYTES) } : {}),
  // Admin routes open: these tests are about counting (auth has its own tests).
  authorize: allowAll,
  shard: {
    flushAfterRequests: num(env.FLUSH_AFTER_REQUESTS, 100),
    flushAfterIdleMs: num(env.FLUSH_AFTER_IDLE_MS, 60),
    flushMaxAgeMs: num(env.FLUSH_MAX_AGE_MS, 2_000),
    ackTimeoutMs: num(env.ACK_TIMEOUT_MS, 1_000),
    retryInitialMs: num(env.RETRY_MS, 20),
    retryMaxMs: num(env.RETRY_MS, 200),
    ...(env.SHARD_MAX_PENDING_KEYS ? { maxPendingKeys: Number(env.SHARD_MAX_PENDING_KEYS) } : {}),
    ...(env.SHARD_MAX_INTERNED_KEYS ? { maxInternedKeys: Number(env.SHARD_MAX_INTERNED_KEYS) } : {}),
  },
  global: {
    persistAfterWrites: 100,
    persistAfterIdleMs: num(env.PERSIST_AFTER_IDLE_MS, 60),
    persistMaxAgeMs: num(env.PERSIST_MAX_AGE_MS, 1_000),
    publishTimeoutMs: 1_000,
    retryInitialMs: 20,
    retryMaxMs: 200,
    ...(env.PUBLISH_MODE ? { publishMode: env.PUBLISH_MODE } : {}),
    ...(env.GLOBAL_MAX_KEYS ? { maxKeys: Number(env.GLOBAL_MAX_KEYS) } : {}),
    ...(env.WRITE_LOG_CAPACITY ? { writeLogCapacity: Number(env.WRITE_LOG_CAPACITY) } : {}),
  },
  aggregator: {
    flushAfterRequests: num(env.AGG_FLUSH_AFTER_REQUESTS, 100),
    flushAfterIdleMs: num(env.AGG_FLUSH_AFTER_IDLE_MS, 60),
  },
});

/** A promise that never settles: a call "held" by the test until the runtime is disposed. */
const forever = () => new Promise(() => {});

/** Hooks shared by both test classes: a clock the test moves, failing writes. */
const hooks = (Base) =>
  class extends Base {
    static options = options;

    now() {
      return Date.now() + (this.skewMs ?? 0);
    }

    /**
     * Runs the alarm handler as the runtime does when the alarm fires, at `atMs` on the
     * object's clock when given (the clock then never goes back below it).
     */
    async deliverAlarm(atMs = null) {
      if (atMs !== null) this.skewMs = Math.max(this.skewMs ?? 0, atMs - Date.now());
      await this.alarm({ retryCount: 0, isRetry: false });
      return this.view();
    }

    /** The write transaction after `after` more good ones fails (and rolls back). */
    async failWrites(after = 0) {
      this.store.failAfter = after;
    }

    /**
     * Stored engine rows per table (`snapshot` or `packed`: the state as one row; `pages`:
     * a packed global's write-log pages).
     */
    async storedRows() {
      const out = {};
      for (const { k, n } of this.ctx.storage.sql.exec("SELECT k, count(*) AS n FROM shardtally_state GROUP BY k")) out[k] = n;
      for (const { n } of this.ctx.storage.sql.exec("SELECT count(*) AS n FROM shardtally_pages")) if (n > 0) out.pages = n;
      for (const { tbl, n } of this.ctx.storage.sql.exec("SELECT tbl, count(*) AS n FROM shardtally_rows GROUP BY tbl")) out[tbl] = n;
      for (const { tbl, n } of this.ctx.storage.sql.exec("SELECT tbl, count(*) AS n FROM shardtally_chunks GROUP BY tbl")) out[`${tbl} (pieces)`] = n;
      return out;
    }

    /** Forgets the bound settings stored with the state (as an earlier version stored none). */
    async forgetBounds() {
      this.ctx.storage.sql.exec("DELETE FROM shardtally_meta WHERE k = 'bounds'");
    }
  };

/** The shard class with test hooks. */
export class TestShard extends hooks(ShardObject) {
  /** While on, every reset notice fails (as if the shard could not be reached). */
  async refuseNotices(on = true) {
    this.refusing = on;
  }

  async applyNotice(bytes, keys) {
    if (this.refusing) throw new Error("injected: notice refused");
    return super.applyNotice(bytes, keys);
  }

  /**
   * Replaces the stored state by what an earlier version of the shim stored: one engine
   * snapshot through the key-value API (pending `entries` of a shard life `incarnation`).
   */
  async seedLegacy(incarnation, entries) {
    const engine = new Shard({ shard: this.index, incarnation, flushAfterRequests: 0 });
    engine.increments(entries, Date.now());
    for (const table of ["shardtally_rows", "shardtally_state", "shardtally_pages", "shardtally_meta"]) this.ctx.storage.sql.exec(`DELETE FROM ${table}`);
    await this.ctx.storage.put({ name: this.name, shard: engine.snapshot() });
  }

  /** Cuts a batch and sends it, without waiting for the answer. */
  async cut() {
    this.flush().catch(() => {});
    return this.view();
  }

  /** Whether the key-value API still holds an earlier version's snapshot. */
  async legacyKeys() {
    return [...(await this.ctx.storage.list()).keys()];
  }
}

/** The global class with hooks to fail, hold or slow down batch calls. */
export class TestGlobal extends hooks(GlobalObject) {
  /**
   * The next `before` batch calls fail before being applied; the `after` ones after they
   * were applied and stored (the acknowledgement is lost).
   */
  async failBatches(before = 0, after = 0) {
    this.failBefore = before;
    this.failAfter = after;
    this.failed = 0;
  }

  /**
   * From now on batch calls never answer: `"before"` they are applied, `"after"` they were
   * applied and stored; `null` stops holding.
   */
  async holdBatches(mode = null) {
    this.hold = mode;
  }

  async applyBatch(bytes) {
    this.received = (this.received ?? 0) + 1;
    // Held from the start of the runtime (GLOBAL_HOLD), or from the test's call on.
    const hold = this.hold !== undefined ? this.hold : (this.env.GLOBAL_HOLD ?? null);
    if (hold === "before") await forever();
    if (this.failBefore > 0) {
      this.failBefore -= 1;
      this.failed += 1;
      throw new Error("injected failure before apply");
    }
    const ack = await super.applyBatch(bytes);
    if (hold === "after") await forever();
    if (this.failAfter > 0) {
      this.failAfter -= 1;
      this.failed += 1;
      throw new Error("injected failure after apply");
    }
    return ack;
  }

  async testState() {
    return { failed: this.failed ?? 0, received: this.received ?? 0, ...(await this.stats()), view: await this.view() };
  }
}

const routes = counterWorker(options);

const reply = (value) => new Response(JSON.stringify(value ?? null, (_, v) => (typeof v === "bigint" ? v.toString() : v)));

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (!url.pathname.startsWith("/__test/")) return routes.fetch(request, env, ctx);
    const client = new CounterClient(env, options);
    const body = request.method === "POST" ? await request.json().catch(() => ({})) : {};
    const parts = url.pathname.split("/").slice(2).map(decodeURIComponent);
    try {
      return await testRoute(client, env, parts, body);
    } catch (error) {
      return new Response(JSON.stringify({ error: error?.code ?? null, message: String(error?.message ?? error) }), { status: 500 });
    }
  },
};

async function testRoute(client, env, parts, body) {
  const node = (name) => env.COUNTER_GLOBAL.getByName(name);
  switch (parts.join("/")) {
    case "global/fail":
      return reply(await client.global().failBatches(body.before ?? 0, body.after ?? 0));
    case "global/hold":
      return reply(await client.global().holdBatches(body.mode ?? null));
    case "global/alarm":
      return reply(await client.global().deliverAlarm(body.atMs ?? null));
    case "global/state":
      return reply(await client.global().testState());
    case "global/publish":
      return reply(await client.global().publish());
    case "global/fail-writes":
      return reply(await client.global().failWrites(body.after ?? 0));
    case "global/rows":
      return reply(await client.global().storedRows());
    case "settle":
      return reply(await client.global().settle());
    case "live":
      return reply(await client.global().counters());
    case "published":
      return reply(await client.global().published(body));
    case "shard-writes":
      return reply(await client.global().shardWrites());
    case "stats": {
      const n = client.options.shardCount;
      const shards = await mapLimited([...Array(n).keys()], 16, (i) => client.shard(i).stats());
      const views = await mapLimited([...Array(n).keys()], 16, (i) => client.shard(i).view());
      return reply({ shards, views, global: await client.global().testState() });
    }
    case "each-shard": {
      // One increment on each of shards 0..shards-1, by RPC (32 at a time).
      const { shards, name, delta = 1 } = body;
      const results = await mapLimited([...Array(shards).keys()], 32, (i) => client.shard(i).increment(name, delta));
      return reply({ accepted: results.length });
    }
    case "increments-burst": {
      // Many concurrent increments from inside workerd (no HTTP per increment), straight
      // to the shards by RPC (`shards`: spread over shards 0..shards-1) or through the client.
      const { n, name, shards, delta = 1 } = body;
      const settled = await Promise.allSettled(
        Array.from({ length: n }, (_, i) => (shards ? client.shard(i % shards).increment(name, delta) : client.increment(name, delta))),
      );
      const failed = settled.filter((s) => s.status === "rejected").map((s) => s.reason?.code ?? String(s.reason));
      return reply({ accepted: n - failed.length, failed });
    }
    default:
      if (parts[0] === "reset") return reply(await client.reset(parts[1]));
      if (parts[0] === "node" && parts[2] === "view") return reply(await node(parts[1]).view());
      if (parts[0] === "node" && parts[2] === "stats") return reply(await node(parts[1]).stats());
      if (parts[0] === "shard") {
        const shard = client.shard(Number(parts[1]));
        switch (parts[2]) {
          case "alarm":
            return reply(await shard.deliverAlarm(body.atMs ?? null));
          case "view":
            return reply(await shard.view());
          case "stats":
            return reply(await shard.stats());
          case "flush":
            return reply(await shard.flush());
          case "cut":
            return reply(await shard.cut());
          case "settle":
            return reply(await shard.settle());
          case "fail-writes":
            return reply(await shard.failWrites(body.after ?? 0));
          case "forget-bounds":
            return reply(await shard.forgetBounds());
          case "rows":
            return reply(await shard.storedRows());
          case "increment":
            return reply(await shard.increment(body.name, body.delta ?? 1));
          case "increments":
            return reply(await shard.increments(body.entries));
          case "coalesced":
            return reply(await shard.incrementCoalesced(body.entries, body.requests));
          case "refuse-notices":
            return reply(await shard.refuseNotices(body.on ?? true));
          case "seed-legacy":
            return reply(await shard.seedLegacy(body.incarnation, body.entries));
          case "legacy-keys":
            return reply(await shard.legacyKeys());
        }
      }
      return new Response("no such test route", { status: 404 });
  }
}
