// A Worker serving a sharded counter with the do-counter-sharding routes:
//   public:  POST /increment/:name   POST /increments   GET /counters   GET /global/counters
//   admin:   POST /global/reset/:name   GET /global/writes   GET /global/shardWrites
//            GET /global/shards   GET /shard/:n/counters   POST /shard/:n/write
//            GET /dashboard   GET /dashboard/data
// Admin routes need the ADMIN_TOKEN secret (`npx wrangler secret put ADMIN_TOKEN`), sent as
// `Authorization: Bearer <token>` or as the password of HTTP Basic auth (what a browser
// asks for when it opens /dashboard). Without the secret they are off (404).
// Settings come from `vars` in wrangler.jsonc (all optional).
import { GlobalObject, ShardObject, counterWorker } from "shardtally-durable-object";

const num = (value, fallback) => (value === undefined || value === "" ? fallback : Number(value));
const utf8 = new TextEncoder();

/** The token of an `Authorization` header: `Bearer <token>`, or Basic auth's password. */
function presented(request) {
  const header = request.headers.get("authorization") ?? "";
  const space = header.indexOf(" ");
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === "bearer") return value;
  if (scheme === "basic") {
    try {
      const decoded = atob(value);
      return decoded.slice(decoded.indexOf(":") + 1);
    } catch {
      return null;
    }
  }
  return null;
}

/**
 * Whether two secrets are equal, in time that depends on neither: both are hashed to 32
 * bytes, then compared with the runtime's constant-time comparison.
 */
async function sameSecret(a, b) {
  const [x, y] = await Promise.all([a, b].map((s) => crypto.subtle.digest("SHA-256", utf8.encode(s))));
  return crypto.subtle.timingSafeEqual(x, y);
}

/**
 * The `authorize` hook: an admin request is allowed when it presents ADMIN_TOKEN. A browser
 * opening the dashboard without it is asked to log in (any user name, the token as password).
 * @param {Request} request
 * @param {{name: string}} route
 * @param {{ADMIN_TOKEN?: string}} env
 */
export async function authorize(request, route, env) {
  const token = presented(request);
  if (token !== null && env.ADMIN_TOKEN && (await sameSecret(token, env.ADMIN_TOKEN))) return true;
  if (route.name === "dashboard") {
    return new Response("log in with the admin token as password\n", {
      status: 401,
      headers: { "www-authenticate": 'Basic realm="shardtally admin", charset="UTF-8"' },
    });
  }
  return false;
}

/** One options object for the shard class, the global class and the routes. */
export const options = (env) => ({
  shardBinding: "COUNTER_SHARDS",
  globalBinding: "COUNTER_GLOBAL",
  shardCount: num(env.SHARD_COUNT, 4),
  strategy: env.STRATEGY || "random",
  durability: env.DURABILITY || "durable",
  kvBinding: env.COUNTER_KV ? "COUNTER_KV" : null,
  kvPrefix: "counters",
  // Admin routes only with a secret to check them against.
  authorize: env.ADMIN_TOKEN ? authorize : null,
  maxNameBytes: num(env.MAX_NAME_BYTES, 128),
  shard: {
    flushAfterRequests: num(env.FLUSH_AFTER_REQUESTS, 100),
    flushAfterIdleMs: num(env.FLUSH_AFTER_IDLE_MS, 5_000),
    flushMaxAgeMs: num(env.FLUSH_MAX_AGE_MS, 60_000),
  },
  global: {
    persistAfterWrites: num(env.PUBLISH_AFTER_WRITES, 100),
    persistAfterIdleMs: num(env.PUBLISH_AFTER_IDLE_MS, 5_000),
    persistMaxAgeMs: num(env.PUBLISH_MAX_AGE_MS, 60_000),
  },
});

/** Shard objects: named `shard:<n>` by the routes; buffer increments, flush by alarm. */
export class CounterShard extends ShardObject {
  static options = options;
}

/** The global object (named `global`): exact totals, write log, publishes. */
export class CounterGlobal extends GlobalObject {
  static options = options;
}

export default counterWorker(options);
