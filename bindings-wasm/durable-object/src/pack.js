// A small machine's engine rows packed into one stored row (the `packed` storage layout of
// a global, `options.globalPackedRowBytes`). A SQLite row written is the billed unit
// whatever its size, and applying a batch changes a dozen of a small global's rows (its
// `meta`, the batch's totals and per-shard deltas, the dedup entry, a write-log record): in
// this layout the write is one row. The write log is the part of the state that grows with
// time, not with the counters, so its records leave the packed row in pages of
// `PAGE_RECORDS` (one more row per `PAGE_RECORDS` batches), and pages the ring has passed
// are deleted.
//
// The packed row holds the rows as the engine's journal names them (table, primary key,
// encoded value: each value carries its own CRC-32C envelope), so restoring feeds the same
// builder as the row layout does.

import { CounterError } from "./errors.js";

/** The table whose rows leave the packed row in pages: the global's write log. */
export const PAGED_TABLE = "writes";
/** Write-log records per page. */
export const PAGE_RECORDS = 32;

// "STPK" and the format's version.
const MAGIC = [0x53, 0x54, 0x50, 0x4b, 1];
const EMPTY = new Uint8Array(0);
const utf8 = new TextEncoder();
const text = new TextDecoder();

/** -1, 0 or 1: `a` against `b` in byte order (SQLite's order of BLOB keys). */
export function compareBytes(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** A map key for primary key bytes (one UTF-16 unit per byte). */
function keyString(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

function corrupt(what) {
  return new CounterError("DECODE_CORRUPT", `the packed state row is corrupt: ${what}`, {});
}

/** Reads the framing of a packed row or a page: u32 lengths, big-endian. */
class Reader {
  constructor(bytes) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.at = 0;
  }

  get done() {
    return this.at === this.bytes.length;
  }

  u8() {
    if (this.at + 1 > this.bytes.length) throw corrupt("truncated");
    return this.bytes[this.at++];
  }

  take(n) {
    if (this.at + n > this.bytes.length) throw corrupt("truncated");
    const out = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }

  /** A u32-length-prefixed byte string. */
  blob() {
    if (this.at + 4 > this.bytes.length) throw corrupt("truncated");
    const n = this.view.getUint32(this.at);
    this.at += 4;
    return this.take(n);
  }
}

/** Writes the framing (see `Reader`) into one buffer of a known size. */
class Writer {
  constructor(size) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
    this.at = 0;
  }

  raw(bytes) {
    this.bytes.set(bytes, this.at);
    this.at += bytes.length;
  }

  blob(bytes) {
    this.view.setUint32(this.at, bytes.length);
    this.at += 4;
    this.raw(bytes);
  }
}

/**
 * The rows of a small machine, mirrored in memory from its change journal, and encoded as
 * one value. Every table but `PAGED_TABLE` is in the packed value; that table's records are
 * in it until `PAGE_RECORDS` of them gathered, then they go out as one page.
 */
export class RowPack {
  constructor() {
    /** @type {Map<string, Map<string, {key: Uint8Array, value: Uint8Array}>>} table → key → row */
    this.tables = new Map();
    /** Paged records below this key are gone (the write log's ring passed them). */
    this.before = EMPTY;
  }

  /**
   * Applies the engine's row operations (`takeChanges()`), in order.
   * @param {Array<{op: string, table: string, key: Uint8Array, value: Uint8Array | null}>} ops
   * @returns {{pages: Array<{first: Uint8Array, last: Uint8Array, value: Uint8Array}>, trimmedBelow: Uint8Array | null, cleared: boolean}}
   *   the pages filled (to insert), the key below which stored pages are gone (or null), and
   *   whether the paged table was cleared (every stored page is gone)
   */
  apply(ops) {
    let trimmedBelow = null;
    let cleared = false;
    for (const { op, table, key, value } of ops) {
      let rows = this.tables.get(table);
      if (op === "put") {
        if (!rows) this.tables.set(table, (rows = new Map()));
        rows.set(keyString(key), { key, value });
      } else if (op === "delete") rows?.delete(keyString(key));
      else if (op === "clear") {
        this.tables.delete(table);
        if (table === PAGED_TABLE) {
          cleared = true;
          trimmedBelow = null;
          this.before = EMPTY;
        }
      } else if (op === "delete_below") {
        for (const [k, row] of rows ?? []) if (compareBytes(row.key, key) < 0) rows.delete(k);
        if (table === PAGED_TABLE && compareBytes(key, this.before) > 0) {
          this.before = key;
          trimmedBelow = key;
        }
      } else throw new CounterError("INVALID_ARGUMENT", `unknown row operation ${JSON.stringify(op)}`, { op });
    }
    return { pages: this.#pages(), trimmedBelow, cleared };
  }

  /** Moves the paged table's records out in pages of `PAGE_RECORDS`, once that many gathered. */
  #pages() {
    const rows = this.tables.get(PAGED_TABLE);
    if (!rows || rows.size < PAGE_RECORDS) return [];
    const sorted = [...rows.values()].sort((a, b) => compareBytes(a.key, b.key));
    const pages = [];
    let i = 0;
    for (; i + PAGE_RECORDS <= sorted.length; i += PAGE_RECORDS) {
      const records = sorted.slice(i, i + PAGE_RECORDS);
      pages.push({ first: records[0].key, last: records[records.length - 1].key, value: encodePage(records) });
    }
    rows.clear();
    for (const row of sorted.slice(i)) rows.set(keyString(row.key), row);
    return pages;
  }

  /** The packed value: magic and version, the paged table's lower bound, then every row. */
  encode() {
    const tables = [];
    let size = MAGIC.length + 4 + this.before.length;
    for (const [table, rows] of this.tables) {
      if (rows.size === 0) continue;
      const name = utf8.encode(table);
      if (name.length > 255) throw new CounterError("INVALID_ARGUMENT", `table name too long to pack: ${table}`, { table });
      tables.push([name, rows]);
      for (const { key, value } of rows.values()) size += 1 + name.length + 8 + key.length + value.length;
    }
    const w = new Writer(size);
    w.raw(MAGIC);
    w.blob(this.before);
    for (const [name, rows] of tables) {
      for (const { key, value } of rows.values()) {
        w.bytes[w.at++] = name.length;
        w.raw(name);
        w.blob(key);
        w.blob(value);
      }
    }
    return w.bytes;
  }

  /**
   * A packed value read back (`encode`).
   * @param {Uint8Array} bytes
   */
  static decode(bytes) {
    const r = new Reader(bytes);
    for (const b of MAGIC) if (r.u8() !== b) throw corrupt("unknown format");
    const pack = new RowPack();
    pack.before = r.blob().slice();
    while (!r.done) {
      const table = text.decode(r.take(r.u8()));
      const key = r.blob().slice();
      const value = r.blob().slice();
      let rows = pack.tables.get(table);
      if (!rows) pack.tables.set(table, (rows = new Map()));
      rows.set(keyString(key), { key, value });
    }
    return pack;
  }

  /**
   * Every row as `[table, value]` pairs (what a builder's `add` takes), the tables of
   * `first` first (in that order), then the others, then the records of `pages` (stored
   * page values, in key order) that the ring has not passed.
   * @param {string[]} first the builder's `readFirst()`
   * @param {Iterable<Uint8Array>} pages
   * @returns {Generator<Array<[string, Uint8Array]>>}
   */
  *pairs(first, pages) {
    const order = [...new Set([...first.filter((t) => this.tables.has(t)), ...this.tables.keys()])];
    for (const table of order) {
      const page = [...this.tables.get(table).values()].map(({ value }) => [table, value]);
      if (page.length > 0) yield page;
    }
    for (const value of pages) {
      const r = new Reader(value);
      const page = [];
      while (!r.done) {
        const key = r.blob();
        const record = r.blob();
        if (compareBytes(key, this.before) >= 0) page.push([PAGED_TABLE, record]);
      }
      if (page.length > 0) yield page;
    }
  }
}

/** A page of records: (key, value) pairs in key order. */
function encodePage(records) {
  const w = new Writer(records.reduce((n, { key, value }) => n + 8 + key.length + value.length, 0));
  for (const { key, value } of records) {
    w.blob(key);
    w.blob(value);
  }
  return w.bytes;
}
