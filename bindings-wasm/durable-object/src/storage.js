// Durable Object storage for one engine machine: the snapshot (split into chunks when it is
// larger than one storage value), the single alarm, and counters of every billed write.

import { CounterError } from "./errors.js";

/** Largest chunk of a snapshot: below the 128 KiB value limit of key-value backed storage. */
export const CHUNK_BYTES = 120 * 1024;
/** Most chunks of one snapshot (one atomic `put` takes at most 128 keys). */
export const MAX_CHUNKS = 127;

const counters = new Map();

/**
 * Activity counters of one object, kept in the isolate's memory (so an object instance
 * the runtime replaces keeps counting; they restart from zero with the isolate).
 * @param {DurableObjectState} ctx the object's state
 * @param {string} group a name for this set of counters
 * @param {Record<string, number | boolean>} initial the counters and their initial values
 */
export function countersOf(ctx, group, initial) {
  const key = `${group}:${ctx.id.toString()}`;
  let c = counters.get(key);
  if (!c) {
    c = { ...initial };
    counters.set(key, c);
  }
  return c;
}

/**
 * Storage and alarm I/O of one Durable Object, counted.
 *
 * `io` counts what the object did in this isolate: `storageWrites` (keys put or deleted,
 * the billed unit), `storageWriteBytes`, `alarmWrites` (`setAlarm` calls, also billed),
 * `alarmsFired`.
 */
export class Persistence {
  /**
   * @param {DurableObjectState} ctx the object's state
   * @param {string} key storage key of the snapshot
   */
  constructor(ctx, key) {
    this.storage = ctx.storage;
    this.key = key;
    this.io = countersOf(ctx, "io", { storageWrites: 0, storageWriteBytes: 0, alarmWrites: 0, alarmsFired: 0 });
    /** Time of the alarm currently set, or null. */
    this.alarmAt = null;
    this.chunks = 0;
    this.committing = null;
    this.queued = null;
  }

  /**
   * Group commit: resolves once a snapshot taken after this call is durable. While one
   * commit is being synced, every caller joins the next one, so concurrent inputs share a
   * write and the group size follows the storage latency (no timers: a busy object's
   * timers can be starved by its stream of requests).
   * @param {() => Uint8Array | null} take the snapshot to write, or null when nothing changed
   * @returns {Promise<void>}
   */
  commit(take) {
    if (this.queued) return this.queued;
    const previous = this.committing;
    const run = (async () => {
      // Always yields first, so `queued` is set before it is cleared.
      await previous?.catch(() => {});
      this.queued = null;
      const bytes = take();
      if (bytes === null) return;
      const done = this.writeSnapshot(bytes).then(() => this.storage.sync());
      this.committing = done;
      try {
        await done;
      } finally {
        if (this.committing === done) this.committing = null;
      }
    })();
    this.queued = run;
    return run;
  }

  /**
   * The object's name. The runtime gives it (`ctx.id.name`) to an object reached through a
   * named stub, but not to one woken by its alarm; so the first named start stores it
   * (one write in the object's whole life) and a nameless start reads it back.
   * @param {string | undefined | null} given `ctx.id.name`
   * @param {(name: string) => boolean} valid whether a name is worth storing
   * @returns {Promise<string | null>}
   */
  async identify(given, valid) {
    const stored = await this.storage.get("name");
    if (typeof given === "string" && given.length > 0) {
      if (stored === undefined && valid(given)) await this.put("name", given);
      return given;
    }
    return typeof stored === "string" ? stored : null;
  }

  /** Reads the saved snapshot (or null) and the alarm currently set. */
  async load() {
    this.alarmAt = await this.storage.getAlarm();
    const head = await this.storage.get(this.key);
    if (head === undefined) return null;
    if (head instanceof Uint8Array) {
      this.chunks = 0;
      return head;
    }
    const keys = Array.from({ length: head.chunks }, (_, i) => `${this.key}:${i}`);
    const parts = await this.storage.get(keys);
    const bytes = new Uint8Array(head.length);
    let offset = 0;
    for (const k of keys) {
      const part = parts.get(k);
      if (!(part instanceof Uint8Array)) {
        throw new CounterError("DECODE_CORRUPT", `snapshot chunk ${k} is missing`, { key: k });
      }
      bytes.set(part, offset);
      offset += part.length;
    }
    this.chunks = head.chunks;
    return bytes;
  }

  /**
   * Writes a snapshot (one key when it fits in a value, else a header and chunks, in one
   * atomic put). The returned promise settles when the write reached the storage layer;
   * the runtime's output gate holds every reply and outgoing call until it is durable.
   * @param {Uint8Array} bytes
   */
  writeSnapshot(bytes) {
    const entries = {};
    let chunks = 0;
    if (bytes.length <= CHUNK_BYTES) {
      entries[this.key] = bytes;
    } else {
      chunks = Math.ceil(bytes.length / CHUNK_BYTES);
      if (chunks > MAX_CHUNKS) {
        throw new CounterError("SNAPSHOT_TOO_LARGE", `snapshot of ${bytes.length} bytes exceeds ${MAX_CHUNKS} chunks`, {
          bytes: bytes.length,
        });
      }
      entries[this.key] = { chunks, length: bytes.length };
      for (let i = 0; i < chunks; i++) {
        entries[`${this.key}:${i}`] = bytes.subarray(i * CHUNK_BYTES, Math.min(bytes.length, (i + 1) * CHUNK_BYTES));
      }
    }
    const stale = [];
    for (let i = chunks; i < this.chunks; i++) stale.push(`${this.key}:${i}`);
    this.chunks = chunks;
    const written = Object.keys(entries).length;
    this.io.storageWrites += written + stale.length;
    this.io.storageWriteBytes += bytes.length;
    const done = [this.storage.put(entries)];
    if (stale.length > 0) done.push(this.storage.delete(stale));
    return Promise.all(done);
  }

  /**
   * Puts one plain value (counted).
   * @param {string} key
   * @param {unknown} value
   */
  put(key, value) {
    this.io.storageWrites += 1;
    return this.storage.put(key, value);
  }

  /**
   * Makes sure an alarm fires no later than `deadline`. The alarm is moved only when the
   * deadline is earlier than the alarm already set (or none is set): every `setAlarm` is a
   * billed write, and an alarm that fires early is harmless (the engine's `handleTimeout`
   * is a no-op before a deadline, and the handler re-arms for the next one).
   * @param {number | null} deadline engine deadline in ms, or null
   */
  armFor(deadline) {
    if (deadline === null || deadline === undefined) return null;
    if (this.alarmAt !== null && this.alarmAt <= deadline) return null;
    this.alarmAt = deadline;
    this.io.alarmWrites += 1;
    return this.storage.setAlarm(deadline);
  }

  /** Records that the alarm fired: the runtime cleared it. */
  alarmFired() {
    this.alarmAt = null;
    this.io.alarmsFired += 1;
  }
}
