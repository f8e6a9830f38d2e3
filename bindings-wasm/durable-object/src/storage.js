// Durable Object storage of one engine machine, in the object's SQLite database
// (`ctx.storage.sql`): the engine's rows, written op by op from its change journal
// (`takeChanges()`), so a write costs what changed and not the whole state; the shim's own
// values; a global's published totals and the children it knows. Plus the single alarm and
// counters of every billed write.

import { CounterError } from "./errors.js";
import { RowPack } from "./pack.js";

/**
 * Tables. Every table is `WITHOUT ROWID` (one b-tree: an insert, replace or delete of a row
 * is one row written, measured with `cursor.rowsWritten`).
 * - `shardtally_rows`: the engine's rows, `(tbl, k) → v` as the journal's `RowOp`s name them
 *   (`meta`, `pending`, `totals`, `upstream.meta`, ...; `k` the row's primary key bytes, `v`
 *   the encoded row).
 * - `shardtally_meta`: the shim's values as JSON (`name`, `parent`, `bounds`, `published`, ...).
 * - `shardtally_published`: a global's last published totals, one row per counter (`total`
 *   an INTEGER, or TEXT beyond 2^53 - 1).
 * - `shardtally_children`: the shard lives (and aggregator lives) a global was told of, by
 *   engine shard index, with the object name to reach them.
 * - `shardtally_chunks`: values above `CHUNK_BYTES` (a batch in flight, a publish), in
 *   pieces: a Durable Object's SQLite refuses values over 2 MB (`SQLITE_TOOBIG`). Their row
 *   in `shardtally_rows` has an empty value.
 * - `shardtally_state`: a small machine's whole state as one row instead of its rows in
 *   `shardtally_rows` — never both: a shard's snapshot (`k = 'snapshot'`, see
 *   `options.shardSnapshotRowBytes`) or a global's packed rows (`k = 'packed'`, pack.js, see
 *   `options.globalPackedRowBytes`).
 * - `shardtally_pages`: a packed global's write-log records in pages (`k` the first record's
 *   key, `last` the last one's, `v` the page; pack.js).
 */
const SCHEMA = [
  "CREATE TABLE IF NOT EXISTS shardtally_rows (tbl TEXT NOT NULL, k BLOB NOT NULL, v BLOB NOT NULL, PRIMARY KEY (tbl, k)) WITHOUT ROWID",
  "CREATE TABLE IF NOT EXISTS shardtally_meta (k TEXT NOT NULL PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID",
  "CREATE TABLE IF NOT EXISTS shardtally_published (k TEXT NOT NULL PRIMARY KEY, total) WITHOUT ROWID",
  "CREATE TABLE IF NOT EXISTS shardtally_children (shard INTEGER NOT NULL PRIMARY KEY, incarnation INTEGER NOT NULL, name TEXT NOT NULL) WITHOUT ROWID",
  "CREATE TABLE IF NOT EXISTS shardtally_chunks (tbl TEXT NOT NULL, k BLOB NOT NULL, i INTEGER NOT NULL, v BLOB NOT NULL, PRIMARY KEY (tbl, k, i)) WITHOUT ROWID",
  "CREATE TABLE IF NOT EXISTS shardtally_state (k TEXT NOT NULL PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID",
  "CREATE TABLE IF NOT EXISTS shardtally_pages (k BLOB NOT NULL PRIMARY KEY, last BLOB NOT NULL, v BLOB NOT NULL) WITHOUT ROWID",
];

/** Largest value stored in one row; larger ones go in pieces of this size. */
export const CHUNK_BYTES = 1 << 20;
/**
 * The engine tables whose single row can grow with the data (a batch's entries, a
 * publish's totals): only their values are ever split.
 */
const GROWING = new Set(["in_flight", "publish", "upstream.in_flight"]);
const CHUNK_PUT = "INSERT INTO shardtally_chunks (tbl, k, i, v) VALUES (?, ?, ?, ?)";
const CHUNK_DELETE = "DELETE FROM shardtally_chunks WHERE tbl = ? AND k = ?";
const EMPTY = new Uint8Array(0);

const OPS = {
  put: "INSERT OR REPLACE INTO shardtally_rows (tbl, k, v) VALUES (?, ?, ?)",
  delete: "DELETE FROM shardtally_rows WHERE tbl = ? AND k = ?",
  clear: "DELETE FROM shardtally_rows WHERE tbl = ?",
  delete_below: "DELETE FROM shardtally_rows WHERE tbl = ? AND k < ?",
};

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Rows per page when reading every row back (see `engineRowPages`; a page's hex stays far below 2 MB). */
const READ_PAGE = 4_096;

/** Bytes from an upper-case hex string (SQLite's `hex()`). */
function fromHex(hex) {
  const out = new Uint8Array(hex.length >>> 1);
  for (let i = 0, j = 0; i < out.length; i++, j += 2) {
    const hi = hex.charCodeAt(j);
    const lo = hex.charCodeAt(j + 1);
    out[i] = ((hi > 64 ? hi - 55 : hi - 48) << 4) | (lo > 64 ? lo - 55 : lo - 48);
  }
  return out;
}

const counters = new Map();

/**
 * Activity counters of one object, kept in the isolate's memory (so an object instance
 * the runtime replaces keeps counting; they restart from zero with the isolate).
 * @param {DurableObjectState} ctx the object's state
 * @param {string} group a name for this set of counters
 * @param {Record<string, unknown>} initial the counters and their initial values
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
 * The statements of one write, applied in one transaction: engine row ops, shim values,
 * published totals and children.
 */
export class Writes {
  constructor() {
    /** @type {Array<[string, unknown[], number]>} statement, arguments, bytes written */
    this.statements = [];
  }

  /** Whether there is nothing to write. */
  get empty() {
    return this.statements.length === 0;
  }

  /**
   * The engine's row operations (`takeChanges()`), in order.
   * @param {Array<{op: string, table: string, key: Uint8Array, value: Uint8Array | null}>} ops
   */
  rows(ops) {
    for (const { op, table, key, value } of ops) {
      const growing = GROWING.has(table);
      if (growing && op !== "delete_below") this.statements.push([CHUNK_DELETE, [table, key], 0]);
      if (op === "put" && growing && value.length > CHUNK_BYTES) {
        this.statements.push([OPS.put, [table, key, EMPTY], table.length + key.length]);
        for (let i = 0, at = 0; at < value.length; i++, at += CHUNK_BYTES) {
          const piece = value.slice(at, at + CHUNK_BYTES);
          this.statements.push([CHUNK_PUT, [table, key, i, piece], piece.length + 8]);
        }
      } else if (op === "put") this.statements.push([OPS.put, [table, key, value], table.length + key.length + value.length]);
      else if (op === "clear") this.statements.push([OPS.clear, [table], 0]);
      else this.statements.push([OPS[op], [table, key], 0]);
    }
    return this;
  }

  /**
   * The machine's whole state as one row (its snapshot), in place of its engine rows: with
   * `replacingRows`, every engine row goes (the state was stored as rows until now).
   * @param {Uint8Array} bytes
   * @param {boolean} replacingRows
   */
  snapshot(bytes, replacingRows) {
    if (replacingRows) this.dropRows();
    this.statements.push(["INSERT OR REPLACE INTO shardtally_state (k, v) VALUES ('snapshot', ?)", [bytes], 8 + bytes.length]);
    return this;
  }

  /** Every engine row goes (the state is stored as one row from this write on). */
  dropRows() {
    this.statements.push(["DELETE FROM shardtally_rows", [], 0]);
    this.statements.push(["DELETE FROM shardtally_chunks", [], 0]);
    return this;
  }

  /**
   * A packed global's write (pack.js): the pages its write log filled, the pages the ring
   * passed deleted (`trimmedBelow`: every page whose last record is below it; `cleared`:
   * every page), and the packed row.
   * @param {Uint8Array} bytes the packed row (`RowPack.encode()`)
   * @param {{pages: Array<{first: Uint8Array, last: Uint8Array, value: Uint8Array}>, trimmedBelow: Uint8Array | null, cleared: boolean}} paged
   */
  packed(bytes, { pages, trimmedBelow, cleared }) {
    if (cleared) this.statements.push(["DELETE FROM shardtally_pages", [], 0]);
    if (trimmedBelow !== null) this.statements.push(["DELETE FROM shardtally_pages WHERE last < ?", [trimmedBelow], 0]);
    for (const { first, last, value } of pages) {
      this.statements.push(["INSERT OR REPLACE INTO shardtally_pages (k, last, v) VALUES (?, ?, ?)", [first, last, value], first.length + last.length + value.length]);
    }
    this.statements.push(["INSERT OR REPLACE INTO shardtally_state (k, v) VALUES ('packed', ?)", [bytes], 6 + bytes.length]);
    return this;
  }

  /** The packed row and its pages go (the state is stored as engine rows from this write on). */
  dropPacked() {
    this.statements.push(["DELETE FROM shardtally_state WHERE k = 'packed'", [], 0]);
    this.statements.push(["DELETE FROM shardtally_pages", [], 0]);
    return this;
  }

  /** The snapshot row goes (the state is stored as engine rows from this write on). */
  dropSnapshot() {
    this.statements.push(["DELETE FROM shardtally_state WHERE k = 'snapshot'", [], 0]);
    return this;
  }

  /** A shim value (JSON). */
  value(name, value) {
    const json = JSON.stringify(value);
    this.statements.push(["INSERT OR REPLACE INTO shardtally_meta (k, v) VALUES (?, ?)", [name, json], name.length + json.length]);
    return this;
  }

  /**
   * Published totals, upserted (a `changes` publish carries only what changed; a `full` one
   * every counter).
   * @param {Array<{key: string, total: number | bigint}>} entries
   */
  published(entries) {
    for (const { key, total } of entries) {
      const v = typeof total === "bigint" ? (total >= -MAX_SAFE && total <= MAX_SAFE ? Number(total) : total.toString()) : total;
      this.statements.push(["INSERT OR REPLACE INTO shardtally_published (k, total) VALUES (?, ?)", [key, v], key.length + 8]);
    }
    return this;
  }

  /** A child life (shard index, incarnation, object name). */
  child(shard, incarnation, name) {
    this.statements.push(["INSERT OR REPLACE INTO shardtally_children (shard, incarnation, name) VALUES (?, ?, ?)", [shard, incarnation, name], 16 + name.length]);
    return this;
  }
}

/**
 * The SQLite storage of one Durable Object, its alarm, and counts of what it writes.
 *
 * `io` counts what the object did in this isolate: `storageWrites` (rows written, the billed
 * unit of SQLite-backed objects, from `cursor.rowsWritten`), `storageWriteBytes` (keys and
 * values written), `storageTransactions`, `alarmWrites` (`setAlarm` calls, also billed),
 * `alarmsFired`.
 */
export class Storage {
  /**
   * @param {DurableObjectState} ctx the object's state
   */
  constructor(ctx) {
    this.ctx = ctx;
    this.storage = ctx.storage;
    this.sql = ctx.storage.sql;
    try {
      // One transaction: one commit for a new object's tables.
      ctx.storage.transactionSync(() => {
        for (const statement of SCHEMA) this.sql.exec(statement);
      });
    } catch (error) {
      throw new CounterError(
        "SQLITE_REQUIRED",
        `the counter objects keep their state in SQLite: declare the class in "new_sqlite_classes" (${String(error?.message ?? error)})`,
        {},
      );
    }
    this.io = countersOf(ctx, "io", { storageWrites: 0, storageWriteBytes: 0, storageTransactions: 0, alarmWrites: 0, alarmsFired: 0 });
    /** Time of the alarm currently set, or null. */
    this.alarmAt = null;
    this.committing = null;
    this.queued = null;
    /** Test hook: the write transaction after this many more fails (null: none fails). */
    this.failAfter = null;
    /** The object's name, to store with the next write (see `identify`). */
    this.unstoredName = null;
  }

  /**
   * A shim value, or undefined.
   * @param {string} name
   */
  value(name) {
    const row = this.sql.exec("SELECT v FROM shardtally_meta WHERE k = ?", name).toArray()[0];
    return row === undefined ? undefined : JSON.parse(row.v);
  }

  /**
   * The object's name. The runtime gives it (`ctx.id.name`) to an object reached through a
   * named stub, but not to one woken by its alarm; so it is stored with the object's first
   * write (one row in the object's whole life: an object that never writes has nothing an
   * alarm could wake) and a nameless start reads it back.
   * @param {string | undefined | null} given `ctx.id.name`
   * @param {(name: string) => boolean} valid whether a name is worth storing
   * @returns {Promise<string | null>}
   */
  async identify(given, valid) {
    let stored = this.value("name");
    if (stored === undefined) {
      // Written by an earlier version of the shim, through the key-value API: moved here.
      const legacy = await this.storage.get("name");
      if (typeof legacy === "string" && valid(legacy)) {
        this.write(new Writes().value("name", legacy));
        await this.storage.delete("name");
        stored = legacy;
      }
    }
    if (typeof given === "string" && given.length > 0) {
      if (stored !== given && valid(given)) this.unstoredName = given;
      return given;
    }
    return typeof stored === "string" ? stored : null;
  }

  /** Whether any engine row is stored. */
  hasEngineRows() {
    return this.sql.exec("SELECT 1 FROM shardtally_rows LIMIT 1").toArray().length > 0;
  }

  /** Whether the engine's state is stored (as rows, or as one snapshot or packed row). */
  hasEngineState() {
    return this.hasEngineRows() || this.sql.exec("SELECT 1 FROM shardtally_state LIMIT 1").toArray().length > 0;
  }

  /** How many engine rows are stored. */
  engineRowCount() {
    return this.sql.exec("SELECT count(*) AS n FROM shardtally_rows").one().n;
  }

  /**
   * Whether at most `n` engine rows are stored outside table `except` (reads at most n + 1).
   * @param {number} n
   * @param {string} except
   */
  engineRowsAtMost(n, except) {
    return this.sql.exec("SELECT count(*) AS n FROM (SELECT 1 FROM shardtally_rows WHERE tbl != ? LIMIT ?)", except, n + 1).one().n <= n;
  }

  /** The state stored as packed rows (`Writes.packed`), without its pages, or null. */
  storedPack() {
    const row = this.sql.exec("SELECT v FROM shardtally_state WHERE k = 'packed'").toArray()[0];
    return row === undefined ? null : RowPack.decode(new Uint8Array(row.v));
  }

  /** The state stored as one row (`Writes.snapshot`), or null. */
  storedSnapshot() {
    const row = this.sql.exec("SELECT v FROM shardtally_state WHERE k = 'snapshot'").toArray()[0];
    return row === undefined ? null : new Uint8Array(row.v);
  }

  /**
   * Every stored engine row as `[table, value]` (what a builder's `add` takes), split values
   * joined (or the rows of the packed row and its pages), a page of at most `pageRows` at a time, so memory holds one page, never every
   * row. The tables of `first` come first, in that order (the builder's `readFirst()`: then
   * no row waits in the builder for another), then every other table.
   *
   * A page is one query over a range of the primary key (`tbl = ? AND k > last key`, the
   * index's order), answered as one hex string and a list of lengths: each value is a view
   * into one buffer per page. Rows read one by one would each cost a result array and a
   * buffer of their own (a million rows: about 50 MB more of the process's memory, and 40%
   * more time).
   * @param {string[]} [first]
   * @param {number} [pageRows]
   * @returns {Generator<Array<[string, Uint8Array]>>}
   */
  *engineRowPages(first = [], pageRows = READ_PAGE) {
    const pack = this.storedPack();
    if (pack !== null) {
      const pages = this.sql.exec("SELECT v FROM shardtally_pages ORDER BY k").toArray();
      yield* pack.pairs(first, pages.map((p) => new Uint8Array(p.v)));
      return;
    }
    const tables = [...new Set(first)];
    // The other tables, by name: each found by one index lookup.
    const next = (after) => this.sql.exec("SELECT min(tbl) AS t FROM shardtally_rows WHERE tbl > ?", after).one().t;
    for (let t = next(""); t !== null; t = next(t)) if (!tables.includes(t)) tables.push(t);
    for (const table of tables) {
      let last = null;
      for (;;) {
        const { page, end } = this.#rowPage(table, last, pageRows);
        if (page.length > 0) yield page;
        if (page.length < pageRows) break;
        last = end;
      }
    }
    for (const { tbl, k } of this.sql.exec("SELECT tbl, k FROM shardtally_rows WHERE length(v) = 0").toArray()) {
      const pieces = this.sql.exec("SELECT v FROM shardtally_chunks WHERE tbl = ? AND k = ? ORDER BY i", tbl, k).toArray().map((r) => new Uint8Array(r.v));
      const value = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of pieces) {
        value.set(p, at);
        at += p.length;
      }
      yield [[tbl, value]];
    }
  }

  /**
   * One page of `table`'s rows after key `last` (null: from the first), as `[table, value]`
   * pairs, and the page's last key.
   * @returns {{page: Array<[string, Uint8Array]>, end: ArrayBuffer | null}}
   */
  #rowPage(table, last, limit) {
    const after = last === null ? "" : "AND k > ?";
    const args = last === null ? [table, limit] : [table, last, limit];
    const rows = `SELECT k, v FROM shardtally_rows WHERE tbl = ? ${after} AND length(v) > 0 ORDER BY k LIMIT ?`;
    let answer;
    try {
      answer = this.sql.exec(`SELECT group_concat(hex(v), '') AS hex, group_concat(length(v)) AS lens, max(k) AS end, count(*) AS n FROM (${rows})`, ...args).one();
    } catch {
      // The page's hex is above SQLite's largest string (2 MB; rows of large values): the
      // same rows one by one.
      const page = [];
      let end = null;
      for (const [k, v] of this.sql.exec(rows, ...args).raw()) {
        page.push([table, new Uint8Array(v)]);
        end = k;
      }
      return { page, end };
    }
    const page = new Array(answer.n);
    if (answer.n === 0) return { page, end: null };
    const bytes = fromHex(answer.hex);
    let at = 0;
    let i = 0;
    for (const len of answer.lens.split(",")) {
      const next = at + Number(len);
      page[i++] = [table, bytes.subarray(at, next)];
      at = next;
    }
    return { page, end: answer.end };
  }

  /**
   * Rebuilds an engine machine from the stored rows, page by page, the tables its builder
   * reads first (`readFirst()`) first.
   * @template M
   * @param {{add(rows: Array<[string, Uint8Array]>): void, finish(): M}} builder a `GlobalBuilder` or `ShardBuilder`
   * @param {string[]} first the builder class's `readFirst()`
   * @returns {M}
   */
  rebuild(builder, first) {
    for (const page of this.engineRowPages(first)) builder.add(page);
    return builder.finish();
  }

  /**
   * The children a global was told of: engine shard index → `{incarnation, name}`.
   * @returns {Map<number, {incarnation: number, name: string}>}
   */
  children() {
    const out = new Map();
    for (const { shard, incarnation, name } of this.sql.exec("SELECT shard, incarnation, name FROM shardtally_children")) {
      out.set(shard, { incarnation, name });
    }
    return out;
  }

  /**
   * Published totals in key order, after `after` (exclusive), at most `limit`.
   * @returns {{counters: Record<string, number | bigint>, next: string | null}}
   */
  publishedPage(after, limit) {
    const counters = {};
    let last = null;
    let n = 0;
    const cursor =
      after === null
        ? this.sql.exec("SELECT k, total FROM shardtally_published ORDER BY k LIMIT ?", limit + 1)
        : this.sql.exec("SELECT k, total FROM shardtally_published WHERE k > ? ORDER BY k LIMIT ?", after, limit + 1);
    for (const { k, total } of cursor) {
      if (n === limit) return { counters, next: last };
      counters[k] = typeof total === "string" ? BigInt(total) : total;
      last = k;
      n += 1;
    }
    return { counters, next: null };
  }

  /** Number of published counters. */
  publishedCount() {
    return this.sql.exec("SELECT count(*) AS n FROM shardtally_published").one().n;
  }

  /**
   * Applies one write in one transaction (all of it or nothing), counting rows and bytes.
   * Synchronous: the runtime's output gate holds every reply and outgoing call until the
   * write is durable. Throws when the write failed (nothing of it is stored).
   * @param {Writes} writes
   */
  write(writes) {
    if (writes.empty) return;
    if (this.unstoredName !== null) writes.value("name", this.unstoredName);
    let rows = 0;
    let bytes = 0;
    this.storage.transactionSync(() => {
      let left = this.failAfter === null ? -1 : this.failAfter--;
      for (const [statement, args, size] of writes.statements) {
        rows += this.sql.exec(statement, ...args).rowsWritten;
        bytes += size;
        if (left === 0) {
          // After a first statement, so the transaction has something to roll back.
          this.failAfter = null;
          throw new CounterError("STORAGE_FAILED", "injected storage failure", {});
        }
        left = -1;
      }
    });
    this.io.storageWrites += rows;
    this.io.storageWriteBytes += bytes;
    this.io.storageTransactions += 1;
    this.unstoredName = null;
  }

  /**
   * Group commit: resolves once a write collected after this call is durable. While one
   * commit is being synced, every caller joins the next one, so concurrent inputs share a
   * write (no timers: a busy object's timers can be starved by its stream of requests).
   * @param {() => Writes | null} collect what to write now (null or empty: nothing)
   * @param {(error: unknown) => void} failed called once when the write failed (before its callers see the error)
   * @param {() => void} [written] called once the write is applied (before it is durable: the
   *   output gate holds what it sends until it is)
   * @returns {Promise<void>}
   */
  commit(collect, failed, written) {
    if (this.queued) return this.queued;
    const previous = this.committing;
    const run = (async () => {
      // Always yields first, so `queued` is set before it is cleared.
      await previous?.catch(() => {});
      this.queued = null;
      const writes = collect();
      if (!writes || writes.empty) return;
      try {
        this.write(writes);
      } catch (error) {
        failed(error);
        throw error;
      }
      written?.();
      const done = this.storage.sync();
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
   * A snapshot an earlier version of the shim stored through the key-value API (one value,
   * or a header and chunks), or null.
   * @param {string} key `shard` or `global`
   * @returns {Promise<{bytes: Uint8Array, keys: string[]} | null>}
   */
  async legacySnapshot(key) {
    const head = await this.storage.get(key);
    if (head === undefined) return null;
    if (head instanceof Uint8Array) return { bytes: head, keys: [key] };
    const keys = Array.from({ length: head.chunks }, (_, i) => `${key}:${i}`);
    const parts = await this.storage.get(keys);
    const bytes = new Uint8Array(head.length);
    let offset = 0;
    for (const k of keys) {
      const part = parts.get(k);
      if (!(part instanceof Uint8Array)) throw new CounterError("DECODE_CORRUPT", `snapshot chunk ${k} is missing`, { key: k });
      bytes.set(part, offset);
      offset += part.length;
    }
    return { bytes, keys: [key, ...keys] };
  }

  /** Removes key-value entries of an earlier version once their content is in the tables. */
  async dropLegacy(keys) {
    await this.storage.delete(keys);
  }

  /** Reads the alarm currently set. */
  async loadAlarm() {
    this.alarmAt = await this.storage.getAlarm();
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
