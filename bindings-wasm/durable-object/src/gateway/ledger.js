// The group's durable ledger: the gateway engine's rows in the object's SQLite database
// (`ctx.storage.sql`), written from its change journal (`takeChanges()`) in one transaction
// per change, so a connect or a close writes a few rows whatever the number of request
// ids; the single alarm; counters of every billed write. A ledger an earlier version stored
// as one snapshot through the key-value API is moved into the table once.

import { GatewayError } from "./errors.js";

/**
 * The one table: `(tbl, k) → v` as the journal's `RowOp`s name them — tables `meta`,
 * `replicas`, `connections`, `sticky`, `reservations`, `creations`, `gossips`,
 * `gossip_answers`; `k` the row's primary key bytes, `v` the encoded row. `WITHOUT ROWID`:
 * an insert, replace or delete is one row written (`cursor.rowsWritten`).
 */
const SCHEMA = "CREATE TABLE IF NOT EXISTS gateway_rows (tbl TEXT NOT NULL, k BLOB NOT NULL, v BLOB NOT NULL, PRIMARY KEY (tbl, k)) WITHOUT ROWID";

const OPS = {
  put: "INSERT OR REPLACE INTO gateway_rows (tbl, k, v) VALUES (?, ?, ?)",
  delete: "DELETE FROM gateway_rows WHERE tbl = ? AND k = ?",
  clear: "DELETE FROM gateway_rows WHERE tbl = ?",
  delete_below: "DELETE FROM gateway_rows WHERE tbl = ? AND k < ?",
};

/** Key of an earlier version's snapshot (chunks were `ledger:<i>`) and of its stored name. */
const LEGACY_KEY = "ledger";
const LEGACY_NAME = "name";

/**
 * Storage and alarm I/O of one group object.
 *
 * `io` counts what the object did since it started: `storageWrites` (rows written, the
 * billed unit of SQLite-backed objects), `storageWriteBytes` (keys and values written),
 * `storageTransactions`, `alarmWrites` (`setAlarm` calls, also billed), `alarmsFired`.
 */
export class Ledger {
  /**
   * @param {DurableObjectStorage} storage the object's storage (SQLite-backed)
   */
  constructor(storage) {
    this.storage = storage;
    this.sql = storage.sql;
    try {
      this.sql.exec(SCHEMA);
    } catch (error) {
      throw new GatewayError(
        "SQLITE_REQUIRED",
        `the group object keeps its ledger in SQLite: declare the class in "new_sqlite_classes" (${String(error?.message ?? error)})`,
        {},
      );
    }
    this.io = { storageWrites: 0, storageWriteBytes: 0, storageTransactions: 0, alarmWrites: 0, alarmsFired: 0 };
    /** Time of the alarm currently set, or null. */
    this.alarmAt = null;
    /** Test hook: the next write fails after its first statement (nothing of it is stored). */
    this.failNextWrite = false;
  }

  /** Reads the alarm currently set. */
  async loadAlarm() {
    this.alarmAt = await this.storage.getAlarm();
  }

  /** Every stored row as `[table, value]`: what `Gateway.fromRows` takes. */
  pairs() {
    const out = [];
    for (const { tbl, v } of this.sql.exec("SELECT tbl, v FROM gateway_rows")) out.push([tbl, new Uint8Array(v)]);
    return out;
  }

  /** Rows stored and their bytes (keys and values). */
  size() {
    const { rows, bytes } = this.sql.exec("SELECT count(*) AS rows, coalesce(sum(length(k) + length(v)), 0) AS bytes FROM gateway_rows").one();
    return { rows, bytes };
  }

  /**
   * Applies the engine's row operations (`takeChanges()`, or `rows()` to seed the table) in
   * one transaction: all of them or, when it throws, none.
   * @param {Array<{op: string, table: string, key: Uint8Array, value: Uint8Array | null}>} ops
   */
  write(ops) {
    if (ops.length === 0) return;
    let rows = 0;
    let bytes = 0;
    this.storage.transactionSync(() => {
      for (const { op, table, key, value } of ops) {
        const args = op === "put" ? [table, key, value] : op === "clear" ? [table] : [table, key];
        rows += this.sql.exec(OPS[op], ...args).rowsWritten;
        bytes += op === "put" ? table.length + key.length + value.length : 0;
        if (this.failNextWrite) {
          this.failNextWrite = false;
          throw new GatewayError("STORAGE_FAILED", "injected storage failure", {});
        }
      }
    });
    this.io.storageWrites += rows;
    this.io.storageWriteBytes += bytes;
    this.io.storageTransactions += 1;
  }

  /**
   * The snapshot an earlier version of this host stored through the key-value API (one
   * value, or a head and chunks), with the keys it used, or null.
   * @returns {Promise<{bytes: Uint8Array, keys: string[]} | null>}
   */
  async legacy() {
    const head = await this.storage.get(LEGACY_KEY);
    if (head === undefined) return null;
    if (head instanceof Uint8Array) return { bytes: head, keys: [LEGACY_KEY, LEGACY_NAME] };
    const keys = Array.from({ length: head.chunks }, (_, i) => `${LEGACY_KEY}:${i}`);
    const parts = await this.storage.get(keys);
    const bytes = new Uint8Array(head.length);
    let offset = 0;
    for (const k of keys) {
      const part = parts.get(k);
      if (!(part instanceof Uint8Array)) throw new GatewayError("LEDGER_CORRUPT", `ledger chunk ${k} is missing`, { key: k });
      bytes.set(part, offset);
      offset += part.length;
    }
    return { bytes, keys: [LEGACY_KEY, LEGACY_NAME, ...keys] };
  }

  /** Removes an earlier version's key-value entries once their content is in the table. */
  async dropLegacy(keys) {
    await this.storage.delete(keys);
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
}
