// The Worker the gateway tests run in workerd: the gateway exactly as a user deploys it
// (gatewayWorker), with test hooks on the objects that the tests call by RPC from Node:
// a group restart, a failing write, a ledger of an earlier version, gossip failures, an
// error-then-close, hook counts.
import { GroupObject, ReplicaObject, gatewayWorker } from "../../src/gateway/index.js";
import { Gateway } from "../../src/gateway/engine.js";

export const options = (env) => ({
  gateway: {
    limit: Number(env.LIMIT ?? 3),
    reservationTtlMs: Number(env.RESERVATION_TTL_MS ?? 10_000),
    gossipTimeoutMs: Number(env.GOSSIP_TIMEOUT_MS ?? 5_000),
  },
  maxMessageBytes: 1024,
});

export class TestGroup extends GroupObject {
  static options = options;

  /** Throws this instance away (as an eviction or a crash does); the next call starts a new one from storage. */
  async restart() {
    this.ctx.abort("test restart");
  }

  /** The next ledger write fails (after its first statement: nothing of it is stored). */
  async failNextWrite() {
    this.ledger.failNextWrite = true;
  }

  /**
   * Stores this group's state as an earlier version of the host did — the engine's
   * snapshot through the key-value API under `ledger` (a head and 120 KiB chunks when
   * larger), its name under `name` — with `requests` request ids routed (ids padded to
   * `idBytes`), and no rows. Returns the snapshot's size and its chunks.
   */
  async storeLegacy(requests, idBytes = 16) {
    const engine = new Gateway({ ...this.constructor.options(this.env).gateway, group: this.group });
    const now = Date.now();
    for (let i = 0; i < requests; i++) {
      const route = engine.route(`${i}`.padStart(idBytes, "r"), now);
      if (route.type === "pending") engine.handleReplicaCreated(route.creation, this.env.GATEWAY_REPLICA.newUniqueId().toString(), now);
    }
    const bytes = engine.snapshot();
    const CHUNK = 120 * 1024;
    const chunks = Math.ceil(bytes.length / CHUNK);
    this.ctx.storage.sql.exec("DELETE FROM gateway_rows");
    if (chunks <= 1) await this.ctx.storage.put("ledger", bytes);
    else {
      const entries = { ledger: { chunks, length: bytes.length } };
      for (let i = 0; i < chunks; i++) entries[`ledger:${i}`] = bytes.slice(i * CHUNK, (i + 1) * CHUNK);
      await this.ctx.storage.put(entries);
    }
    await this.ctx.storage.put("name", this.group);
    return { bytes: bytes.length, chunks: chunks <= 1 ? 0 : chunks, requestIds: engine.requestIds() };
  }

  /** Keys of the key-value API in this object's storage. */
  async keyValueKeys() {
    return [...(await this.ctx.storage.list()).keys()];
  }

  /** Runs the alarm handler now, as the runtime does when the alarm fires. */
  async deliverAlarm() {
    await this.alarm();
    return this.view();
  }
}

/** Replica instances started per replica id, in this isolate (survives evictions). */
const instances = new Map();

/**
 * A replica that answers frames `{op, ...}`: `broadcast` / `emit` `{text, self}`, `whisper`
 * `{to, text}`, `users` (a gossip), and tells the sender how far its message went.
 */
export class TestReplica extends ReplicaObject {
  static options = options;

  constructor(ctx, env) {
    super(ctx, env);
    // Instances of this replica in this isolate: a second one means the first was evicted.
    instances.set(this.id, (instances.get(this.id) ?? 0) + 1);
  }
  hooks = { onopen: 0, onmessage: 0, onclose: 0 };
  failGossip = false;
  gossipDelayMs = 0;

  onopen(socket) {
    this.hooks.onopen += 1;
    socket.send({ type: "welcome", replica: this.id, connection: socket.connection, request: socket.request });
  }

  async onmessage(socket, data) {
    this.hooks.onmessage += 1;
    const msg = JSON.parse(data);
    const out = { type: "msg", kind: msg.op, from: socket.request, text: msg.text };
    let report;
    if (msg.op === "broadcast") report = await socket.broadcast(out, msg.self === true);
    else if (msg.op === "emit") report = await socket.emit(out, msg.self === true);
    else if (msg.op === "whisper") report = await socket.whisper(msg.to, out);
    else if (msg.op === "users") report = await this.gossip({ ask: "users" });
    socket.send({ type: "done", op: msg.op, id: msg.id, report, instance: instances.get(this.id), from: socket.request, connection: socket.connection });
  }

  onclose() {
    this.hooks.onclose += 1;
  }

  async ongossip(message) {
    if (this.failGossip) throw new Error("injected gossip failure");
    if (this.gossipDelayMs > 0) await new Promise((r) => setTimeout(r, this.gossipDelayMs));
    return { users: this.sockets().map((s) => s.request), asked: message.ask };
  }

  async setGossipFailure(on) {
    this.failGossip = on;
  }

  async setGossipDelay(ms) {
    this.gossipDelayMs = ms;
  }

  async testHooks() {
    return { ...this.hooks };
  }

  /** The runtime reports an error and then a close for the socket of `request` (DOG counted both). */
  async errorThenClose(request) {
    const ws = this.ctx.getWebSockets().find((w) => w.deserializeAttachment()?.r === request);
    await this.webSocketError(ws, new Error("connection reset"));
    await this.webSocketClose(ws, 1006, "", false);
    return this.stats();
  }
}

export default gatewayWorker(options);
