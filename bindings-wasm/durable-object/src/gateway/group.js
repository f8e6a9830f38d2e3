// The group Durable Object: holds the engine's `Gateway` (DOG's Group), persists its ledger
// (the engine's rows, from its change journal), creates replicas when the engine asks,
// answers the Worker's routes and the replicas' opens, closes, reports, message plans and
// gossips — all by RPC.

import { DurableObject } from "cloudflare:workers";
import { Gateway } from "./engine.js";
import { GatewayError } from "./errors.js";
import { fanout } from "./fanout.js";
import { Ledger } from "./ledger.js";
import { gatewayOptionsFor, namespaceOf } from "./options.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A group of replicas (DOG's `Group`). Extend it, give the subclass a static `options` (the
 * object the replica class and the Worker use) and bind it in `wrangler.jsonc`:
 *
 * ```js
 * export class Lobby extends GroupObject { static options = options; }
 * ```
 *
 * The group's name is its object name (`getByName(group)`). Every decision — which replica,
 * when to create one, whether a close frees a slot, who receives a message, when a
 * reservation lapses — is the engine's; this class carries out its outputs:
 * - **Ledger**: after every input that changed the engine's state, the rows that changed
 *   (`takeChanges()`) are written to the object's SQLite database in one transaction before
 *   the answer leaves — a route, a connect or a close is a few rows whatever the number of
 *   request ids. A restarted group rebuilds the engine from its rows (`Gateway.fromRows`)
 *   and asks every replica it knows for its open connections (`handleReport`), so counts
 *   match the sockets that survived and new clients join existing replicas instead of
 *   fragmenting the cluster. A write that fails rolls the engine back to the stored rows
 *   (the input is refused).
 * - **Replicas**: created with the replica namespace's `newUniqueId()`; introductions need
 *   no message (every plan comes from the group, which knows every replica) and retired
 *   replicas have nothing to release.
 * - **Alarm**: one, at the engine's `pollTimeout()`, re-armed only when that deadline moves
 *   earlier (each `setAlarm` is a billed write); an early or repeated alarm is a no-op.
 *
 * Its RPC methods are internal (the Worker and the replicas call them); no client path
 * reaches them.
 */
export class GroupObject extends DurableObject {
  /**
   * @param {DurableObjectState} ctx
   * @param {object} env
   */
  constructor(ctx, env) {
    super(ctx, env);
    this.options = gatewayOptionsFor(this.constructor.options, env);
    /** @type {Ledger | null} */
    this.ledger = null;
    /** @type {import("shardtally-wasm").Gateway | null} */
    this.engine = null;
    this.group = null;
    /** Gossips waiting for their result, by id. */
    this.waiting = new Map();
    this.host = {
      restored: false,
      reconciled: 0,
      reconcileFailures: 0,
      created: 0,
      introductions: 0,
      retired: 0,
      creationsExpired: 0,
      plans: 0,
      gossips: 0,
      gossipCalls: 0,
      migrated: false,
      rollbacks: 0,
    };
    /** Why the engine could not be built (an invalid group name or setting), if it could not. */
    this.loadError = null;
    ctx.blockConcurrencyWhile(() =>
      this.#load().catch((error) => {
        this.engine = null;
        this.loadError = error;
      }),
    );
  }

  async #load() {
    this.ledger = new Ledger(this.ctx.storage);
    const given = this.ctx.id.name;
    // An invalid group name (or setting) fails here, before anything is stored.
    if (typeof given === "string" && given.length > 0) new Gateway({ ...this.options.gateway, group: given });
    await this.ledger.loadAlarm();
    const pairs = this.ledger.pairs();
    if (pairs.length > 0) {
      this.engine = Gateway.fromRows(pairs, this.options.gateway);
    } else {
      const legacy = await this.ledger.legacy();
      if (legacy !== null) {
        // An earlier version's ledger (one snapshot through the key-value API): its rows
        // go to the table, the old keys away.
        this.engine = Gateway.restore(legacy.bytes, this.options.gateway);
        this.ledger.write(this.engine.rows());
        await this.ledger.dropLegacy(legacy.keys);
        this.host.migrated = true;
      }
    }
    if (this.engine === null) {
      // Nothing stored: a new group (its first rows are written with its first input), or
      // a nameless start (an alarm) of an object that never stored anything.
      if (typeof given !== "string" || given.length === 0) return;
      this.group = given;
      this.engine = new Gateway({ ...this.options.gateway, group: given });
      return;
    }
    this.group = this.engine.group();
    this.host.restored = true;
    await this.#reconcile();
    this.#drain(Date.now());
    await this.#commit();
  }

  /** A restored ledger learns every replica's open connections (sockets may have died with the runtime). */
  async #reconcile() {
    const ids = this.engine.replicas().map((r) => r.id);
    const reports = await fanout(ids, this.options.maxConcurrency, (id) => this.#replica(id).connections(this.group));
    reports.forEach((report, i) => {
      if (!report.ok) {
        this.host.reconcileFailures += 1;
        return;
      }
      try {
        this.engine.handleReport(this.group, ids[i], report.value, Date.now());
        this.host.reconciled += 1;
      } catch {
        this.host.reconcileFailures += 1;
      }
    });
  }

  #ready() {
    if (this.loadError !== null) throw this.loadError;
    if (this.engine === null) {
      throw new GatewayError("WRONG_OBJECT_NAME", "a group object must be reached by name (getByName(group))", { objectName: this.group });
    }
    return this.engine;
  }

  #replica(id) {
    const ns = namespaceOf(this.env, this.options.replicaBinding);
    return ns.get(ns.idFromString(id));
  }

  /**
   * Carries out the engine's outputs. Returns the replicas created, by creation id.
   * @param {number} now
   */
  #drain(now) {
    const created = new Map();
    const engine = this.engine;
    for (let out = engine.pollOutput(); out !== null && out !== undefined; out = engine.pollOutput()) {
      switch (out.type) {
        case "create_replica": {
          const id = namespaceOf(this.env, this.options.replicaBinding).newUniqueId().toString();
          created.set(String(out.creation), engine.handleReplicaCreated(out.creation, id, now).replica);
          this.host.created += 1;
          break;
        }
        case "introduce":
          this.host.introductions += 1;
          break;
        case "retire":
          this.host.retired += 1;
          break;
        case "creation_expired":
          this.host.creationsExpired += 1;
          break;
        case "gossip_done": {
          const resolve = this.waiting.get(String(out.gossip));
          this.waiting.delete(String(out.gossip));
          resolve?.(out);
          break;
        }
      }
    }
    return created;
  }

  /**
   * Writes the rows that changed (one transaction; nothing when nothing changed) and arms
   * the alarm. A write that fails stores nothing: the engine goes back to the stored rows
   * and the error is thrown (the input is refused).
   */
  async #commit() {
    const ops = this.engine.takeChanges();
    this.engine.takeStateChanged();
    try {
      this.ledger.write(ops);
    } catch (error) {
      this.#rollback();
      throw error;
    }
    await this.ledger.armFor(this.engine.pollTimeout());
  }

  /** The engine as stored: every input since the last good write is undone. */
  #rollback() {
    this.host.rollbacks += 1;
    const pairs = this.ledger.pairs();
    this.engine = pairs.length > 0 ? Gateway.fromRows(pairs, this.options.gateway) : new Gateway({ ...this.options.gateway, group: this.group });
    // Gossips in flight were not stored: their callers get the error too.
    for (const resolve of this.waiting.values()) resolve(null);
    this.waiting.clear();
  }

  /**
   * Internal (the Worker): picks the replica for request id `request` and reserves a slot
   * there (`reservationTtlMs`); creates a replica when every one is full.
   * @param {string} request
   * @returns {Promise<{replica: string, reason: "sticky" | "current" | "least_loaded" | "created"}>}
   */
  async route(request) {
    const engine = this.#ready();
    const now = Date.now();
    const route = engine.route(request, now);
    const created = this.#drain(now);
    let replica;
    let reason;
    if (route.type === "replica") {
      ({ replica, reason } = route);
    } else {
      replica = created.get(String(route.creation)) ?? engine.sticky(request);
      reason = "created";
    }
    await this.#commit();
    return { replica, reason };
  }

  /**
   * Internal (a replica): connection `connection` of `request` opened there. Throws the
   * engine's REPLICA_FULL when it has no reserved and no free slot (the replica refuses the
   * socket).
   * @returns {Promise<"reserved" | "unreserved" | "already_open">}
   */
  async opened(replica, connection, request) {
    const outcome = this.#ready().handleConnect(this.group, replica, connection, request, Date.now());
    await this.#commit();
    return outcome.type;
  }

  /**
   * Internal (a replica): a connection closed or failed. Idempotent: `true` the first time,
   * `false` for a second event of the same connection (DOG counted both).
   * @returns {Promise<boolean>}
   */
  async closed(replica, connection) {
    const wasOpen = this.#ready().handleClose(this.group, replica, connection, Date.now());
    await this.#commit();
    return wasOpen;
  }

  /**
   * Internal (a replica): its open connections as `[connection, request]` pairs; replaces
   * the group's view of that replica and adds a replica the group does not know.
   * @param {string} replica
   * @param {Array<[string, string]>} connections
   */
  async report(replica, connections) {
    this.#ready().handleReport(this.group, replica, connections, Date.now());
    await this.#commit();
  }

  /**
   * Internal (a replica): who receives a message of `sender` (a connection on `replica`).
   * `emit` and `broadcast` take `includeSender`, `whisper` the target request id.
   * @param {"emit" | "broadcast" | "whisper"} kind
   * @returns {Promise<import("shardtally-wasm").Delivery[]>}
   */
  async plan(kind, replica, sender, arg) {
    const engine = this.#ready();
    this.host.plans += 1;
    switch (kind) {
      case "emit":
        return engine.emit(this.group, replica, sender, arg === true);
      case "broadcast":
        return engine.broadcast(this.group, replica, sender, arg === true);
      case "whisper":
        return engine.whisper(this.group, replica, sender, arg);
      default:
        throw new GatewayError("INVALID_ARGUMENT", `unknown message kind ${JSON.stringify(kind)}`, { kind });
    }
  }

  /**
   * Internal (a replica): asks every other replica (`ongossip`), at most `maxConcurrency`
   * at a time, and answers with their replies in peer order. A peer that throws (or answers
   * more than `maxGossipReplyBytes` of JSON) is named in `failed`; peers that had not
   * answered at the deadline (`gossipTimeoutMs`) in `missing`.
   * @param {string} replica the asking replica
   * @param {unknown} message
   * @returns {Promise<{replies: Array<{replica: string, value: unknown}>, failed: string[], missing: string[]}>}
   */
  async gossip(replica, message) {
    const now = Date.now();
    const plan = this.#ready().gossip(this.group, replica, now);
    this.host.gossips += 1;
    const key = String(plan.gossip);
    const done = new Promise((resolve) => this.waiting.set(key, resolve));
    this.#drain(now);
    const timer = setTimeout(
      () => {
        this.engine.handleTimeout(Date.now());
        this.#drain(Date.now());
      },
      Math.max(0, Number(plan.deadline) - now) + 1,
    );
    fanout(plan.peers, this.options.maxConcurrency, async (peer) => {
      if (!this.waiting.has(key)) return; // finished (deadline) before this peer was asked
      this.host.gossipCalls += 1;
      let bytes;
      try {
        const value = await this.#replica(peer).answerGossip(this.group, message);
        bytes = encoder.encode(JSON.stringify(value ?? null));
      } catch {
        bytes = null;
      }
      const at = Date.now();
      try {
        if (bytes === null) this.engine.handleGossipFailure(this.group, plan.gossip, peer, at);
        else this.engine.handleGossipReply(this.group, plan.gossip, peer, bytes, at);
      } catch {
        // PAYLOAD_TOO_LARGE: the answer does not fit the engine's bound.
        this.engine.handleGossipFailure(this.group, plan.gossip, peer, at);
      }
      this.#drain(at);
    });
    const result = await done;
    clearTimeout(timer);
    if (result === null) throw new GatewayError("STORAGE_FAILED", "the group's ledger could not be written: the gossip was abandoned", {});
    await this.#commit();
    return {
      replies: result.replies.map(({ peer, payload }) => ({ replica: peer, value: JSON.parse(decoder.decode(payload)) })),
      failed: result.failed,
      missing: result.missing,
    };
  }

  /** The group's replicas, counts, reservations, deadlines, engine statistics and storage I/O. */
  async view() {
    const engine = this.#ready();
    const ledger = this.ledger.size();
    return {
      group: this.group,
      replicas: engine.replicas(),
      current: engine.current(),
      requestIds: engine.requestIds(),
      reservations: engine.reservations().length,
      nextDeadline: engine.nextDeadline(),
      alarmAt: this.ledger.alarmAt,
      stats: engine.stats(),
      host: { ...this.host },
      io: { ...this.ledger.io, databaseBytes: this.ctx.storage.sql.databaseSize, ledgerRows: ledger.rows, ledgerBytes: ledger.bytes },
    };
  }

  /**
   * Alarm handler: fires due deadlines (lapsed reservations, gossip deadlines, idle
   * retirements). Safe to deliver twice or early.
   */
  async alarm() {
    this.ledger?.fired();
    if (this.engine === null) return;
    const now = Date.now();
    this.engine.handleTimeout(now);
    this.#drain(now);
    await this.#commit();
  }
}
