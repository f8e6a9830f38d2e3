// The Worker the shim tests run in workerd: the public counter routes (exactly what a user
// deploys) plus `/__test/*` routes that drive the objects' test hooks (deliver an alarm,
// make the global fail, read I/O counters). No test route forwards batches.
import { CounterClient, GlobalObject, ShardObject, counterWorker } from "../../src/index.js";

/** Short timers so the alarms drive every flush within a test's time. */
export const options = (env) => ({
  shardBinding: "COUNTER_SHARDS",
  globalBinding: "COUNTER_GLOBAL",
  shardCount: Number(env.SHARD_COUNT ?? 4),
  strategy: env.STRATEGY ?? "random",
  durability: env.DURABILITY ?? "durable",
  kvBinding: env.KV === "none" ? null : "COUNTER_KV",
  kvPrefix: "test",
  shard: {
    flushAfterRequests: Number(env.FLUSH_AFTER_REQUESTS ?? 100),
    flushAfterIdleMs: Number(env.FLUSH_AFTER_IDLE_MS ?? 60),
    flushMaxAgeMs: 2_000,
    ackTimeoutMs: Number(env.ACK_TIMEOUT_MS ?? 1_000),
    retryInitialMs: 20,
    retryMaxMs: 200,
  },
  global: {
    persistAfterWrites: 100,
    persistAfterIdleMs: 60,
    persistMaxAgeMs: 1_000,
    publishTimeoutMs: 1_000,
    retryInitialMs: 20,
    retryMaxMs: 200,
    ...(env.GLOBAL_MAX_KEYS ? { maxKeys: Number(env.GLOBAL_MAX_KEYS) } : {}),
  },
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The shard class with a hook to deliver its alarm on demand. */
export class TestShard extends ShardObject {
  static options = options;

  /** Runs the alarm handler, as the runtime does when the alarm fires. */
  async deliverAlarm() {
    await this.alarm({ retryCount: 0, isRetry: false });
    return this.view();
  }
}

/** The global class with hooks to fail or slow down batch calls. */
export class TestGlobal extends GlobalObject {
  static options = options;

  /**
   * The next `before` batch calls fail before being applied; the `after` ones after they
   * were applied and stored (the acknowledgement is lost).
   */
  async failBatches(before = 0, after = 0) {
    this.failBefore = before;
    this.failAfter = after;
    this.failed = 0;
  }

  async applyBatch(bytes) {
    const delay = Number(this.env.GLOBAL_DELAY_MS ?? 0);
    if (delay > 0) await sleep(delay);
    if (this.failBefore > 0) {
      this.failBefore -= 1;
      this.failed += 1;
      throw new Error("injected failure before apply");
    }
    const ack = await super.applyBatch(bytes);
    const ackDelay = Number(this.env.GLOBAL_ACK_DELAY_MS ?? 0);
    if (ackDelay > 0) await sleep(ackDelay);
    if (this.failAfter > 0) {
      this.failAfter -= 1;
      this.failed += 1;
      throw new Error("injected failure after apply");
    }
    return ack;
  }

  async deliverAlarm() {
    await this.alarm({ retryCount: 0, isRetry: false });
    return this.view();
  }

  async testState() {
    return { failed: this.failed ?? 0, ...(await this.stats()), view: await this.view() };
  }
}

const routes = counterWorker(options);

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (!url.pathname.startsWith("/__test/")) return routes.fetch(request, env);
    const client = new CounterClient(env, options);
    const body = request.method === "POST" ? await request.json().catch(() => ({})) : {};
    const parts = url.pathname.split("/").slice(2);
    const reply = (value) => new Response(JSON.stringify(value, (_, v) => (typeof v === "bigint" ? v.toString() : v)));
    switch (parts.join("/")) {
      case "global/fail":
        return reply(await client.global().failBatches(body.before ?? 0, body.after ?? 0));
      case "global/alarm":
        return reply(await client.global().deliverAlarm());
      case "global/state":
        return reply(await client.global().testState());
      case "global/publish":
        return reply(await client.global().publish());
      case "stats": {
        const shards = await Promise.all(Array.from({ length: client.options.shardCount }, (_, n) => client.shard(n).stats()));
        const views = await Promise.all(Array.from({ length: client.options.shardCount }, (_, n) => client.shard(n).view()));
        return reply({ shards, views, global: await client.global().testState() });
      }
      default:
        if (parts[0] === "shard" && parts[2] === "alarm") return reply(await client.shard(Number(parts[1])).deliverAlarm());
        if (parts[0] === "shard" && parts[2] === "view") return reply(await client.shard(Number(parts[1])).view());
        if (parts[0] === "increments-burst") {
          // Many concurrent increments from inside workerd (no HTTP per increment).
          const { n, name, shards, delta = 1 } = body;
          const started = Date.now();
          const results = await Promise.all(
            Array.from({ length: n }, (_, i) => (shards ? client.shard(i % shards).increment(name, delta) : client.increment(name, delta))),
          );
          return reply({ accepted: results.length, ms: Date.now() - started });
        }
        return new Response("no such test route", { status: 404 });
    }
  },
};
