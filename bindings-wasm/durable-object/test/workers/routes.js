// The Worker of the route and authorization tests: `counterWorker` with an `authorize`
// hook chosen by the ADMIN variable, bounds from variables, and timers long enough that
// nothing flushes unless a test asks. `/__test/*` reads what the objects hold by RPC.
import { CounterClient, GlobalObject, ShardObject, counterWorker } from "../../src/index.js";

/** What the `token` hook was asked: one line per admin request. */
const asked = [];

/**
 * The `authorize` hooks, by the ADMIN variable: `open` (every admin request allowed),
 * `off` (no hook: admin routes are 404), `refuse` (403), `token` (`Authorization: Bearer
 * test-admin`; the dashboard answers 401 with a login challenge otherwise), `throws` (the
 * hook fails: refused with 500).
 */
const ADMIN = {
  open: () => true,
  off: null,
  refuse: async () => false,
  token: async (request, route, env) => {
    asked.push({ name: route.name, method: route.method, pattern: route.pattern, params: route.params, env: typeof env });
    if (request.headers.get("authorization") === "Bearer test-admin") return true;
    if (route.name === "dashboard") return new Response("login required", { status: 401, headers: { "www-authenticate": 'Basic realm="test"' } });
    return false;
  },
  throws: () => {
    throw new Error("the hook failed");
  },
};

const num = (value, fallback) => (value === undefined ? fallback : Number(value));

export const options = (env) => ({
  shardCount: num(env.SHARD_COUNT, 4),
  strategy: env.STRATEGY ?? "hash",
  durability: env.DURABILITY ?? "durable",
  kvBinding: null,
  authorize: ADMIN[env.ADMIN ?? "open"],
  allowName: env.ALLOW_PREFIX ? (name) => name.startsWith(env.ALLOW_PREFIX) : null,
  maxNameBytes: num(env.MAX_NAME_BYTES, 256),
  maxBodyBytes: num(env.MAX_BODY_BYTES, 64 * 1024),
  fanOutLimit: num(env.FAN_OUT_LIMIT, 256),
  shard: { flushAfterRequests: 0, flushAfterIdleMs: 600_000, flushMaxAgeMs: 600_000 },
  global: { persistAfterWrites: 1, persistAfterIdleMs: 600_000, persistMaxAgeMs: 600_000 },
});

export class RouteShard extends ShardObject {
  static options = options;
}
export class RouteGlobal extends GlobalObject {
  static options = options;
}

const routes = counterWorker(options);
const reply = (value) => new Response(JSON.stringify(value, (_, v) => (typeof v === "bigint" ? v.toString() : v)));

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (!url.pathname.startsWith("/__test/")) return routes.fetch(request, env, ctx);
    const client = new CounterClient(env, options);
    const parts = url.pathname.split("/").slice(2);
    if (parts[0] === "asked") return reply(asked.splice(0));
    if (parts[0] === "endless-body") {
      // A request whose body never ends, made inside the runtime (its own streams): how
      // much of it the routes read before refusing it.
      let pulled = 0;
      const body = new ReadableStream({
        pull(controller) {
          pulled += 16 * 1024;
          controller.enqueue(new Uint8Array(16 * 1024).fill(0x20));
        },
      });
      const refused = await routes.fetch(new Request(new URL("/increments", url), { method: "POST", body, duplex: "half" }), env, ctx);
      return reply({ status: refused.status, body: await refused.json(), pulled });
    }
    if (parts[0] === "live") return reply(await client.liveCounters());
    if (parts[0] === "shard") {
      const stub = client.shard(Number(parts[1]));
      if (parts[2] === "view") return reply(await stub.view());
      if (parts[2] === "stats") return reply(await stub.stats());
    }
    if (parts[0] === "global" && parts[1] === "stats") return reply(await client.global().stats());
    return new Response("no such test route", { status: 404 });
  },
};
