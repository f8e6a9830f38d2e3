// Starts a gateway Worker in workerd (Miniflare) on a loopback port, with real WebSocket
// clients (`ws`) and RPC access to its objects from Node.
import { Miniflare } from "miniflare";
import path from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { COMPATIBILITY_DATE, bundleWorker } from "../dev/workerd.js";

const TEST_WORKER = fileURLToPath(new URL("./workers/gateway.js", import.meta.url));

/**
 * Starts `entry` (default: test/workers/gateway.js) with SQLite-backed group and replica
 * objects, listening on 127.0.0.1 (port chosen by the system).
 * @param {{entry?: string, persist?: string, bindings?: Record<string, string>, classes?: {group: string, replica: string}, alias?: Record<string, string>}} [options]
 */
export async function startGateway({ entry = TEST_WORKER, persist, bindings = {}, classes = { group: "TestGroup", replica: "TestReplica" }, alias } = {}) {
  const modules = await bundleWorker(entry, { alias });
  const mf = new Miniflare({
    compatibilityDate: COMPATIBILITY_DATE,
    cf: false,
    host: "127.0.0.1",
    port: 0,
    modulesRoot: path.dirname(modules[0].path),
    modules,
    durableObjects: {
      GATEWAY_GROUP: { className: classes.group, useSQLite: true },
      GATEWAY_REPLICA: { className: classes.replica, useSQLite: true },
    },
    bindings,
    ...(persist ? { durableObjectsPersist: persist } : {}),
  });
  let url;
  try {
    url = await mf.ready;
  } catch (error) {
    await mf.dispose().catch(() => {});
    throw error;
  }
  const clients = [];
  const groups = await mf.getDurableObjectNamespace("GATEWAY_GROUP");
  const replicas = await mf.getDurableObjectNamespace("GATEWAY_REPLICA");
  return {
    mf,
    url,
    /** The stub of group `name` (RPC from Node). */
    group: (name = "default") => groups.get(groups.idFromName(name)),
    /** The stub of replica `id`. */
    replica: (id) => replicas.get(replicas.idFromString(id)),
    /** Opens a client (or rejects with the HTTP status). */
    async connectRaw(request, { group = "default", path: p = "/connect" } = {}) {
      const target = new URL(p, url);
      target.protocol = "ws:";
      target.searchParams.set("group", group);
      if (request !== undefined) target.searchParams.set("request", request);
      const client = await Client.open(target.href);
      clients.push(client);
      return client;
    },
    /** Opens a client of the test Worker and waits for its welcome. */
    async connect(request, options) {
      const client = await this.connectRaw(request, options);
      client.welcome = await client.next((m) => m.type === "welcome");
      return client;
    },
    /** A plain HTTP request to the Worker. */
    async fetch(pathname, init = {}) {
      const res = await fetch(new URL(pathname, url), init);
      return { status: res.status, headers: res.headers, text: await res.text() };
    },
    async dispose() {
      for (const c of clients) c.ws.terminate();
      await mf.dispose();
    },
  };
}

/** A WebSocket client that keeps every JSON frame it receives and waits for frames by predicate. */
export class Client {
  constructor(ws) {
    this.ws = ws;
    this.frames = [];
    this.waiters = [];
    this.closed = new Promise((resolve) => ws.once("close", (code) => resolve(code)));
    ws.on("message", (data) => {
      const frame = JSON.parse(String(data));
      this.frames.push(frame);
      for (const w of [...this.waiters]) {
        if (w.pred(frame)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(frame);
        }
      }
    });
  }

  static open(href) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(href);
      const client = new Client(ws);
      ws.once("open", () => resolve(client));
      ws.once("unexpected-response", (_req, res) => {
        const err = new Error(`upgrade refused: ${res.statusCode}`);
        err.status = res.statusCode;
        reject(err);
        ws.terminate();
      });
      ws.once("error", reject);
    });
  }

  /** Frames received so far that match `pred`. */
  received(pred = () => true) {
    return this.frames.filter(pred);
  }

  /** The first frame (already received or still to come) matching `pred`. */
  next(pred, ms = 5000) {
    const have = this.frames.find(pred);
    if (have) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve };
      this.waiters.push(w);
      setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) {
          this.waiters.splice(i, 1);
          reject(new Error(`no matching frame within ${ms} ms; received ${JSON.stringify(this.frames)}`));
        }
      }, ms).unref();
    });
  }

  send(obj) {
    this.ws.send(JSON.stringify(obj));
  }

  /** Sends `{op, id, ...}` and waits for its `done` frame (the sender's report). */
  async call(op, body = {}) {
    const id = `${op}-${Math.random().toString(36).slice(2)}`;
    this.send({ op, id, ...body });
    return (await this.next((m) => m.type === "done" && m.id === id)).report;
  }

  close() {
    this.ws.close(1000, "bye");
    return this.closed;
  }
}

/** Plain data from an RPC result (Miniflare's proxies to plain objects). */
export const plain = async (p) => JSON.parse(JSON.stringify(await p, (_, v) => (typeof v === "bigint" ? Number(v) : v)));
