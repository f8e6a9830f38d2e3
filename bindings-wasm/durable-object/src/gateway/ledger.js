// The group's durable ledger: the gateway machine's snapshot in Durable Object storage
// (split into chunks when it is larger than one value), the object's name, the single
// alarm, and counters of every billed write.

import { GatewayError } from "./errors.js";

/** Largest chunk: below the 128 KiB value limit of key-value backed storage. */
export const CHUNK_BYTES = 120 * 1024;
/** Most chunks of one ledger (one atomic `put` takes at most 128 keys, one is the head). */
export const MAX_CHUNKS = 127;

/**
 * Storage and alarm I/O of one group object.
 *
 * `io` counts what the object did since it started: `storageWrites` (keys put or deleted,
 * the billed unit), `storageWriteBytes`, `alarmWrites` (`setAlarm` calls, also billed),
 * `alarmsFired`.
 */
export class Ledger {
  /**
   * @param {DurableObjectStorage} storage
   * @param {string} [key] storage key of the snapshot (chunks are `<key>:<i>`)
   */
  constructor(storage, key = "ledger") {
    this.storage = storage;
    this.key = key;
    this.io = { storageWrites: 0, storageWriteBytes: 0, alarmWrites: 0, alarmsFired: 0 };
    /** Time of the alarm currently set, or null. */
    this.alarmAt = null;
    this.chunks = 0;
  }

  /**
   * The object's name: the runtime gives it (`ctx.id.name`) to an object reached by name,
   * not to one woken by its alarm, so the first named start stores it (one write in the
   * object's life) and a nameless start reads it back.
   * @param {string | undefined} given
   * @returns {Promise<string | null>}
   */
  async name(given) {
    const stored = await this.storage.get("name");
    if (typeof given === "string" && given.length > 0) {
      if (stored !== given) {
        await this.storage.put("name", given);
        this.count(1, given.length);
      }
      return given;
    }
    return typeof stored === "string" ? stored : null;
  }

  /** The stored snapshot, or null; reads the alarm currently set too. */
  async load() {
    this.alarmAt = await this.storage.getAlarm();
    const head = await this.storage.get(this.key);
    if (head === undefined) return null;
    if (head instanceof Uint8Array) return head;
    const keys = Array.from({ length: head.chunks }, (_, i) => `${this.key}:${i}`);
    const parts = await this.storage.get(keys);
    const bytes = new Uint8Array(head.length);
    let offset = 0;
    for (const k of keys) {
      const part = parts.get(k);
      if (!(part instanceof Uint8Array)) throw new GatewayError("LEDGER_CORRUPT", `ledger chunk ${k} is missing`, { key: k });
      bytes.set(part, offset);
      offset += part.length;
    }
    this.chunks = head.chunks;
    return bytes;
  }

  /**
   * Writes a snapshot atomically: the chunks, the head and the deletion of chunks an older,
   * longer snapshot left behind are issued without an await between them, which the runtime
   * commits as one write.
   * @param {Uint8Array} bytes
   */
  async save(bytes) {
    const chunks = Math.ceil(bytes.length / CHUNK_BYTES);
    if (chunks > MAX_CHUNKS) {
      throw new GatewayError("LEDGER_TOO_LARGE", `the gateway ledger has ${bytes.length} bytes, more than ${MAX_CHUNKS * CHUNK_BYTES}`, {
        length: bytes.length,
        limit: MAX_CHUNKS * CHUNK_BYTES,
      });
    }
    const kept = chunks <= 1 ? 0 : chunks;
    const stale = [];
    for (let i = kept; i < this.chunks; i++) stale.push(`${this.key}:${i}`);
    let written;
    if (kept === 0) {
      written = this.storage.put(this.key, bytes);
      this.count(1, bytes.length);
    } else {
      // Copies, not views: a stored view would carry its whole buffer.
      const entries = { [this.key]: { chunks, length: bytes.length } };
      for (let i = 0; i < chunks; i++) entries[`${this.key}:${i}`] = bytes.slice(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES);
      written = this.storage.put(entries);
      this.count(chunks + 1, bytes.length);
    }
    const deleted = stale.length > 0 ? this.storage.delete(stale) : null;
    this.count(stale.length, 0);
    this.chunks = kept;
    await Promise.all([written, deleted]);
  }

  /**
   * Arms the alarm for deadline `at` when it is earlier than the alarm set (each
   * `setAlarm` is a billed write); a later deadline keeps the earlier alarm, which fires,
   * finds nothing due and re-arms.
   * @param {number | null} at
   */
  async armFor(at) {
    if (at === null || at === undefined) return;
    const when = Number(at);
    if (this.alarmAt !== null && this.alarmAt <= when) return;
    this.alarmAt = when;
    this.io.alarmWrites += 1;
    await this.storage.setAlarm(when);
  }

  /** The alarm fired: none is set any more. */
  fired() {
    this.alarmAt = null;
    this.io.alarmsFired += 1;
  }

  count(keys, bytes) {
    this.io.storageWrites += keys;
    this.io.storageWriteBytes += bytes;
  }
}
