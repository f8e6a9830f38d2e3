// The replica Durable Object users extend: accepts WebSockets on the Hibernation API, tells
// its group about opens and closes, and carries out the group's message plans by RPC.

import { DurableObject } from "cloudflare:workers";
import { GatewayError, gatewayErrorResponse } from "./errors.js";
import { fanout } from "./fanout.js";
import { gatewayOptionsFor, namespaceOf } from "./options.js";
import { GROUP_HEADER, REQUEST_HEADER, checkFrame, checkUpgrade, requireRequestId, toFrame } from "./upgrade.js";

/**
 * One client connection as user hooks see it (DOG's `Socket`). Its identity lives in the
 * socket's attachment, so it survives hibernation.
 */
export class GatewaySocket {
  #host;
  #ws;
  #att;

  constructor(host, ws, att) {
    this.#host = host;
    this.#ws = ws;
    this.#att = att;
  }

  /** This connection's id (unique per socket). */
  get connection() {
    return this.#att.c;
  }

  /** The client's request id (DOG's `uid`): the identity the group keeps sticky. */
  get request() {
    return this.#att.r;
  }

  /** The group's name. */
  get group() {
    return this.#att.g;
  }

  /** The id of the replica holding this socket. */
  get replica() {
    return this.#host.id;
  }

  /** Sends to this socket only (objects as JSON). */
  send(data) {
    this.#ws.send(toFrame(data));
  }

  /**
   * Closes this socket and frees its slot now (the close the client echoes later is a
   * counted no-op).
   * @param {number} [code]
   * @param {string} [reason]
   */
  async close(code = 1000, reason = "") {
    try {
      this.#ws.close(code, reason);
    } catch {
      // already closing
    }
    await this.#host.end(this.#ws, { code, reason, wasClean: true });
  }

  /**
   * Sends to every socket of this replica (DOG's `emit`), the sender too with
   * `includeSender`.
   * @returns {Promise<DeliveryReport>}
   */
  emit(data, includeSender = false) {
    return this.#host.send("emit", this, data, includeSender === true);
  }

  /** Sends to every socket of the group, on every replica (the sender too with `includeSender`). */
  broadcast(data, includeSender = false) {
    return this.#host.send("broadcast", this, data, includeSender === true);
  }

  /**
   * Sends to the sockets of request id `target`, on the one replica holding them; an unknown
   * target or the sender's own request id reaches nobody (DOG sent to every peer).
   */
  whisper(target, data) {
    return this.#host.send("whisper", this, data, target);
  }
}

/**
 * @typedef {{replicas: number, sockets: number, failed: string[]}} DeliveryReport
 * How far a message went: replicas asked, sockets it was sent to, replicas whose delivery
 * failed.
 */

/**
 * A replica of a group (DOG's `Replica`). Extend it, give the subclass the same static
 * `options` as the group class, bind it, and define any of the hooks:
 *
 * ```js
 * export class Room extends ReplicaObject {
 *   static options = options;
 *   onopen(socket) {}
 *   async onmessage(socket, data) { await socket.broadcast(data); }
 *   onclose(socket, { code, reason, wasClean }) {}
 *   ongossip(message) { return this.sockets().map((s) => s.request); }
 * }
 * ```
 *
 * Sockets are accepted with the WebSocket Hibernation API: an idle replica is evicted and
 * its sockets stay open; a socket's identity (group, request id, connection id) is its
 * attachment. A frame larger than `maxMessageBytes` closes its socket (1009). `onclose`
 * runs once per connection even when the runtime reports both an error and a close, before
 * the group frees the slot (so it can still `broadcast` that the user left); the group
 * frees one slot (the engine ignores the second close).
 *
 * The replica's RPC methods (`deliver`, `answerGossip`, `connections`) are internal; its
 * `fetch` only accepts the upgrades the gateway Worker forwards.
 */
export class ReplicaObject extends DurableObject {
  /** Sockets whose end is being (or was) handled, and that handling. */
  #ending = new WeakMap();
  #host;

  /**
   * @param {DurableObjectState} ctx
   * @param {object} env
   */
  constructor(ctx, env) {
    super(ctx, env);
    this.options = gatewayOptionsFor(this.constructor.options, env);
    /** This replica's id (what the group knows it by). */
    this.id = ctx.id.toString();
    /** Activity counters since this object started (in memory). */
    this.counters = {
      opened: 0,
      refused: 0,
      closed: 0,
      duplicateCloseEvents: 0,
      messages: 0,
      oversized: 0,
      plans: 0,
      deliverCalls: 0,
      deliveryFailures: 0,
      framesSent: 0,
      gossipAnswers: 0,
      groupCalls: 0,
      reports: 0,
      hookErrors: 0,
    };
    this.#host = {
      id: this.id,
      end: (ws, info) => this.#end(ws, info),
      send: (kind, socket, data, arg) => this.#send(kind, socket, data, arg),
    };
  }

  // ----- for subclasses -----

  /** Every open socket of this replica (a socket whose close is being handled is not listed). */
  sockets() {
    const out = [];
    for (const ws of this.ctx.getWebSockets()) {
      const att = this.#attachment(ws);
      if (att !== null && !this.#ending.has(ws)) out.push(new GatewaySocket(this.#host, ws, att));
    }
    return out;
  }

  /**
   * Asks every other replica of the group (their `ongossip`) and resolves with their
   * replies in peer order; peers that threw are in `failed`, peers that did not answer by
   * the group's `gossipTimeoutMs` in `missing` — one failing peer never fails the gossip.
   * @param {unknown} message a JSON value of at most `maxMessageBytes`
   * @param {string} [group] the group (default: the group of this replica's sockets)
   * @returns {Promise<{replies: Array<{replica: string, value: unknown}>, failed: string[], missing: string[]}>}
   */
  async gossip(message, group = this.#groupOfSockets()) {
    checkFrame(JSON.stringify(message ?? null), this.options.maxMessageBytes);
    return this.#callGroup(group, (g) => g.gossip(this.id, message));
  }

  // ----- the runtime's entry points -----

  /**
   * The upgrade the gateway Worker forwards (after routing): DOG's checks (405 / 426 / 400),
   * then the group records the connection (503 when the replica has no room), then the
   * socket is accepted for hibernation and `onopen` runs.
   * @param {Request} request
   */
  async fetch(request) {
    let group;
    let req;
    try {
      checkUpgrade(request);
      group = request.headers.get(GROUP_HEADER);
      req = requireRequestId(request.headers.get(REQUEST_HEADER));
      if (!group) throw new GatewayError("NOT_FOUND", "replicas only accept connections the gateway Worker routed", {});
    } catch (error) {
      return gatewayErrorResponse(error);
    }
    const connection = crypto.randomUUID();
    try {
      await this.#callGroup(group, (g) => g.opened(this.id, connection, req));
    } catch (error) {
      this.counters.refused += 1;
      return gatewayErrorResponse(error);
    }
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    const att = { g: group, r: req, c: connection };
    try {
      this.ctx.acceptWebSocket(server);
      server.serializeAttachment(att);
    } catch (error) {
      // The runtime refused the socket: the group must not keep counting it.
      await this.#tellClosed(att);
      throw error;
    }
    this.counters.opened += 1;
    // Not awaited: the client gets its 101 at once; frames sent meanwhile are queued.
    this.#hook("onopen", new GatewaySocket(this.#host, server, att));
    return new Response(null, { status: 101, webSocket: client });
  }

  /** A frame from a client: bounded, then `onmessage(socket, data)`. */
  async webSocketMessage(ws, data) {
    const att = this.#attachment(ws);
    if (att === null || this.#ending.has(ws)) return;
    const socket = new GatewaySocket(this.#host, ws, att);
    try {
      checkFrame(data, this.options.maxMessageBytes);
    } catch {
      this.counters.oversized += 1;
      await socket.close(1009, "message too big");
      return;
    }
    this.counters.messages += 1;
    await this.#hook("onmessage", socket, data);
  }

  /** The client closed: the group frees the slot, `onclose` runs (once per connection). */
  async webSocketClose(ws, code, reason, wasClean) {
    try {
      // Completes the closing handshake (with 1000 for codes that cannot be sent, such as 1005 and 1006).
      ws.close(sendable(code) ? code : 1000, reason);
    } catch {
      // already closed
    }
    await this.#end(ws, { code, reason, wasClean });
  }

  /** The socket failed: as a close; a close that follows is a counted no-op. */
  async webSocketError(ws, error) {
    await this.#end(ws, { code: 1006, reason: String(error?.message ?? error ?? ""), wasClean: false, error });
  }

  // ----- internal RPC (the group and other replicas) -----

  /**
   * Internal: sends `data` to this replica's sockets of `group` in `audience` (a part of a
   * plan the group made). Returns how many sockets it was sent to.
   */
  async deliver(group, audience, data) {
    this.counters.deliverCalls += 1;
    checkFrame(data, this.options.maxMessageBytes);
    return this.#deliverLocal(group, audience, data);
  }

  /** Internal: a peer's gossip question; the answer of `ongossip(message)`. */
  async answerGossip(group, message) {
    this.counters.gossipAnswers += 1;
    if (typeof this.ongossip !== "function") {
      throw new GatewayError("NO_GOSSIP_HANDLER", "this replica defines no ongossip", { replica: this.id });
    }
    return this.ongossip(message, { group });
  }

  /** Internal: this replica's open connections of `group` as `[connection, request]` pairs (the group's reconciliation). */
  async connections(group) {
    this.counters.reports += 1;
    return this.#connections(group);
  }

  /** Activity counters of this replica since it started, and its open sockets. */
  async stats() {
    return { replica: this.id, sockets: this.ctx.getWebSockets().length, ...this.counters };
  }

  // ----- internals -----

  #attachment(ws) {
    try {
      const att = ws.deserializeAttachment();
      return att && typeof att.c === "string" ? att : null;
    } catch {
      return null;
    }
  }

  #connections(group) {
    const out = [];
    for (const ws of this.ctx.getWebSockets()) {
      const att = this.#attachment(ws);
      if (att !== null && att.g === group && !this.#ending.has(ws)) out.push([att.c, att.r]);
    }
    return out;
  }

  #groupOfSockets() {
    for (const ws of this.ctx.getWebSockets()) {
      const att = this.#attachment(ws);
      if (att !== null) return att.g;
    }
    throw new GatewayError("NOT_CONNECTED", "this replica has no socket, so no group to gossip in", { replica: this.id });
  }

  /**
   * Calls the group. When it does not know this replica (a group that lost its ledger),
   * the replica reports its open connections — which adds it back — and calls once more.
   */
  async #callGroup(group, call) {
    const ns = namespaceOf(this.env, this.options.groupBinding);
    const stub = ns.get(ns.idFromName(group));
    this.counters.groupCalls += 1;
    try {
      return await call(stub);
    } catch (error) {
      if (error?.code !== "UNKNOWN_REPLICA") throw error;
      this.counters.groupCalls += 2;
      await stub.report(this.id, this.#connections(group));
      return call(stub);
    }
  }

  /**
   * The end of a connection (close, error, or a close from this side). The first event runs
   * `onclose` — while the group still counts the connection, so the hook can broadcast —
   * and then tells the group; a later event of the same socket waits for it and tells the
   * group again, which the engine ignores (one slot per connection).
   */
  async #end(ws, info) {
    const att = this.#attachment(ws);
    if (att === null) return;
    const running = this.#ending.get(ws);
    if (running !== undefined) {
      this.counters.duplicateCloseEvents += 1;
      await running;
      await this.#tellClosed(att);
      return;
    }
    const ending = (async () => {
      this.counters.closed += 1;
      await this.#hook("onclose", new GatewaySocket(this.#host, ws, att), info);
      await this.#tellClosed(att);
    })();
    this.#ending.set(ws, ending);
    await ending;
  }

  async #tellClosed(att) {
    try {
      await this.#callGroup(att.g, (g) => g.closed(this.id, att.c));
    } catch (error) {
      console.error(`shardtally gateway: telling group ${att.g} about a close failed: ${error?.message ?? error}`);
    }
  }

  /** Runs a user hook; an error in it is logged and counted, never thrown at the runtime. */
  async #hook(name, ...args) {
    if (typeof this[name] !== "function") return;
    try {
      await this[name](...args);
    } catch (error) {
      this.counters.hookErrors += 1;
      console.error(`shardtally gateway: ${name} threw: ${error?.stack ?? error}`);
    }
  }

  /** Carries out `emit` / `broadcast` / `whisper` of `socket`: the group plans, replicas deliver. */
  async #send(kind, socket, data, arg) {
    const frame = toFrame(data);
    checkFrame(frame, this.options.maxMessageBytes);
    this.counters.plans += 1;
    const plan = await this.#callGroup(socket.group, (g) => g.plan(kind, this.id, socket.connection, arg));
    const ns = namespaceOf(this.env, this.options.replicaBinding);
    const outcomes = await fanout(plan, this.options.maxConcurrency, (d) =>
      d.replica === this.id ? this.#deliverLocal(socket.group, d.audience, frame) : ns.get(ns.idFromString(d.replica)).deliver(socket.group, d.audience, frame),
    );
    const report = { replicas: plan.length, sockets: 0, failed: [] };
    outcomes.forEach((o, i) => {
      if (o.ok) report.sockets += o.value;
      else report.failed.push(plan[i].replica);
    });
    this.counters.deliveryFailures += report.failed.length;
    return report;
  }

  #deliverLocal(group, audience, frame) {
    let sent = 0;
    for (const ws of this.ctx.getWebSockets()) {
      const att = this.#attachment(ws);
      if (att === null || att.g !== group || this.#ending.has(ws)) continue;
      if (audience.type === "all_except" && att.c === audience.connection) continue;
      if (audience.type === "request" && att.r !== audience.request) continue;
      try {
        ws.send(frame);
        sent += 1;
      } catch {
        // closing: its close event frees the slot
      }
    }
    this.counters.framesSent += sent;
    return sent;
  }
}

/** Whether a close code may be sent in a close frame (RFC 6455 section 7.4). */
function sendable(code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}
