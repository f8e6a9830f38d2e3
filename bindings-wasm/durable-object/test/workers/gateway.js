// The Worker the gateway tests run in workerd: the gateway exactly as a user deploys it
// (gatewayWorker), with test hooks on the objects that the tests call by RPC from Node:
// a group restart, gossip failures, an error-then-close, hook counts.
import { GroupObject, ReplicaObject, gatewayWorker } from "../../src/gateway/index.js";
import { Ledger } from "../../src/gateway/ledger.js";

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

  /**
   * Saves `sizes` (in bytes) one after another through a Ledger under its own key in this
   * object's storage, reading each back; returns what was read and the keys left.
   */
  async ledgerRoundTrips(sizes) {
    const out = [];
    for (const size of sizes) {
      const bytes = new Uint8Array(size);
      for (let i = 0; i < size; i++) bytes[i] = (i * 7 + size) & 255;
      const ledger = new Ledger(this.ctx.storage, "probe");
      await ledger.load();
      try {
        await ledger.save(bytes);
      } catch (error) {
        out.push({ size, error: error.code });
        continue;
      }
      const back = await new Ledger(this.ctx.storage, "probe").load();
      const same = back !== null && back.length === size && back.every((b, i) => b === bytes[i]);
      const keys = [...(await this.ctx.storage.list({ prefix: "probe" })).keys()];
      out.push({ size, same, keys, writes: ledger.io.storageWrites });
    }
    return out;
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
