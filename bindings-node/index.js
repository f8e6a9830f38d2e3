'use strict'
// The CommonJS entry of `shardtally` (index.mjs re-exports it for `import`).
//
// `Global`, `Router`, `keyHash` and `jumpHash` are the native ones. `Shard` wraps the native
// shard to make per-call `increment` cheap: see "Hot path" in README.md. Every error is a
// `ShardtallyError` with a stable `code`. Types: index.d.ts (generated from src/*.rs).

const native = require('./binding.js')

/**
 * The error every shardtally call throws: `code` is stable, `message` is core's text, and
 * the offending values are extra properties. `rejectsBatch` is core's verdict for an engine
 * error (from `Global.handleBatch`: the batch can never be applied, so the shard reports it
 * with `handleRejection`); `false` for the binding's argument errors unless `fields` says
 * otherwise. Constructed like the WebAssembly package's class:
 * `new ShardtallyError(message, code?, fields?)`.
 */
class ShardtallyError extends Error {
  constructor(message, code, fields) {
    super(message)
    this.rejectsBatch = false
    if (fields) Object.assign(this, fields)
    this.code = code
  }
}
Object.defineProperty(ShardtallyError.prototype, 'name', { value: 'ShardtallyError', writable: true, configurable: true })
native._setErrorClass(ShardtallyError)

const NativeShard = native.Shard
const MAX_SAFE = Number.MAX_SAFE_INTEGER
// The native room value packs the request room above 32 bits of key room.
const KEY_ROOM_SPAN = 4294967296
// Marks the private constructor call of `Shard.restore`.
const WRAP = Symbol('shardtally.wrap')

/**
 * A shard: buffers deltas per key and ships them to the global as batches.
 *
 * Same methods and behaviour as the native class (see index.d.ts). Single-key `increment`
 * calls are collected in a JavaScript `Map` while that provably changes nothing
 * observable, and handed to the native shard in one call before anything that could see
 * the difference:
 *
 * - only increments at the same `nowMs` as the previous native increment are buffered
 *   (the previous native call already fired whatever idle or max-age flush was due then);
 * - the native shard says how many more requests may be buffered without reaching
 *   `flushAfterRequests` (none while draining, unbounded while a batch is in flight, when
 *   increments never flush) and how many new keys fit under `maxPendingKeys`;
 * - each buffered key's running sum stays a safe integer, and the native side stops
 *   buffering once pending magnitudes could come near the 64-bit limit, so no buffered
 *   increment could have failed with OVERFLOW;
 * - the key is a well-formed string of at most `maxKeyBytes` UTF-8 bytes, the delta a
 *   safe-integer number.
 *
 * Anything else (a new time, a bigint delta, a bad argument, the request that reaches the
 * threshold) goes straight to the native shard after the buffer, so errors are thrown by
 * the call that caused them and flushes happen on the exact request. Every other method
 * first hands the buffer over, except `pollOutput`, `pollTimeout`, `nextDeadline`,
 * `inFlight`, `shardRef`, `generation` and `isDraining`, whose answers buffered increments
 * cannot change. For the same reason `pollOutput` and `pollTimeout` remember the native
 * answer until the next native input, so a run loop that polls after every increment stays
 * in JavaScript.
 */
class Shard {
  #n
  #buffer = new Map()
  #count = 0
  #now = NaN
  #requestRoom = 0
  #keyRoom = 0
  #maxKeyBytes = 0
  #maxKeyUnits = 0
  // Whether the native shard may hold outputs, and its last `pollTimeout()` answer
  // (`undefined`: ask again); both reset by every native input.
  #outputs = true
  #timeout = undefined

  constructor(options) {
    const n = options === WRAP ? arguments[1] : new NativeShard(options)
    this.#n = n
    this.#maxKeyBytes = n._maxKeyBytes()
    // A UTF-16 code unit never takes more than 3 UTF-8 bytes.
    this.#maxKeyUnits = Math.floor(this.#maxKeyBytes / 3)
  }

  static restore(snapshot, options) {
    return new Shard(WRAP, NativeShard.restore(snapshot, options))
  }

  increment(key, delta, nowMs) {
    if (nowMs === this.#now && typeof key === 'string' && typeof delta === 'number' && this.#count < this.#requestRoom) {
      const units = key.length
      if (units !== 0 && Number.isSafeInteger(delta) && (units <= this.#maxKeyUnits || Buffer.byteLength(key, 'utf8') <= this.#maxKeyBytes)) {
        const buffer = this.#buffer
        const slot = buffer.get(key)
        if (slot === undefined) {
          if (buffer.size < this.#keyRoom && key.isWellFormed()) {
            buffer.set(key, { sum: delta })
            this.#count++
            return
          }
        } else {
          const sum = slot.sum + delta
          if (sum <= MAX_SAFE && sum >= -MAX_SAFE) {
            slot.sum = sum
            this.#count++
            return
          }
        }
      }
    }
    this.#sync()
    this.#outputs = true
    this.#timeout = undefined
    const room = this.#n._increment(key, delta, nowMs)
    this.#now = nowMs
    this.#setRoom(room)
  }

  #setRoom(room) {
    this.#requestRoom = Math.floor(room / KEY_ROOM_SPAN)
    this.#keyRoom = room % KEY_ROOM_SPAN
  }

  /** Hands the buffered increments to the native shard. */
  #sync() {
    const count = this.#count
    if (count === 0) return
    const buffer = this.#buffer
    const lens = new Uint32Array(buffer.size)
    const sums = new Float64Array(buffer.size)
    let joined = ''
    let i = 0
    for (const [key, slot] of buffer) {
      joined += key
      lens[i] = key.length
      sums[i] = slot.sum
      i++
    }
    buffer.clear()
    this.#count = 0
    this.#requestRoom = 0
    this.#timeout = undefined
    this.#setRoom(this.#n._apply(joined, lens, sums, count, this.#now))
  }

  /** The native shard for an input other than `increment`: buffer handed over first. */
  #input() {
    this.#sync()
    this.#now = NaN
    this.#outputs = true
    this.#timeout = undefined
    return this.#n
  }

  /** The native shard for a view of state buffered increments change. */
  #view() {
    this.#sync()
    return this.#n
  }

  increments(entries, nowMs) {
    // A `Map` is read as its `[key, delta]` pairs, as by the WebAssembly package.
    if (entries instanceof Map) entries = Array.from(entries)
    const n = this.#input()
    const packed = pack(entries)
    return packed === null ? n.increments(entries, nowMs) : n._incrementsPacked(packed.joined, packed.lens, packed.deltas, nowMs)
  }
  intern(key) {
    return this.#input().intern(key)
  }
  incrementId(id, delta, nowMs) {
    return this.#input().incrementId(id, delta, nowMs)
  }
  incrementIds(ids, deltas, nowMs) {
    return this.#input().incrementIds(ids, deltas, nowMs)
  }
  flush(nowMs) {
    return this.#input().flush(nowMs)
  }
  drain(nowMs) {
    return this.#input().drain(nowMs)
  }
  handleAck(ack, nowMs) {
    return this.#input().handleAck(ack, nowMs)
  }
  handleFailure(seq, nowMs) {
    return this.#input().handleFailure(seq, nowMs)
  }
  handleRejection(seq, nowMs) {
    return this.#input().handleRejection(seq, nowMs)
  }
  handleTimeout(nowMs) {
    return this.#input().handleTimeout(nowMs)
  }
  pollOutput() {
    if (!this.#outputs) return null
    const out = this.#n._pollOutputPacked()
    if (out === null) {
      this.#outputs = false
      return null
    }
    return unpackBatch('batch', out)
  }
  pollTimeout() {
    if (this.#timeout === undefined) this.#timeout = this.#n.pollTimeout()
    return this.#timeout
  }
  takeStateChanged() {
    return this.#view().takeStateChanged()
  }
  snapshot() {
    return this.#view().snapshot()
  }
  shardRef() {
    return this.#n.shardRef()
  }
  pending() {
    return this.#view().pending()
  }
  pendingDelta(key) {
    return this.#view().pendingDelta(key)
  }
  pendingRequests() {
    return this.#view().pendingRequests()
  }
  pendingKeys() {
    return this.#view().pendingKeys()
  }
  inFlight() {
    return this.#n.inFlight()
  }
  nextDeadline() {
    return this.#n.nextDeadline()
  }
  generation() {
    return this.#n.generation()
  }
  isDraining() {
    return this.#n.isDraining()
  }
  isDrained() {
    return this.#view().isDrained()
  }
  keyOf(id) {
    return this.#view().keyOf(id)
  }
  stats() {
    return this.#view().stats()
  }
}

/**
 * Large outputs cross from native code in a compact form (`src/packed.rs`): the keys as one
 * string with their lengths, the values as a `Float64Array` (or ready-made `entries` when a
 * value is beyond 2^53 - 1). These build the documented plain objects from it.
 */
function unpackBatch(type, p) {
  let entries = p.entries
  if (entries === undefined) {
    const { joined, lens, generations, values } = p
    entries = new Array(lens.length)
    let at = 0
    for (let i = 0; i < lens.length; i++) {
      const end = at + lens[i]
      entries[i] = { key: joined.slice(at, end), generation: generations[i], delta: values[i] }
      at = end
    }
  }
  return { type, bytes: p.bytes, shard: p.shard, incarnation: p.incarnation, seq: p.seq, reason: p.reason, entries }
}

function unpackPublish(p) {
  let entries = p.entries
  if (entries === undefined) {
    const { joined, lens, values } = p
    entries = new Array(lens.length)
    let at = 0
    for (let i = 0; i < lens.length; i++) {
      const end = at + lens[i]
      entries[i] = { key: joined.slice(at, end), total: values[i] }
      at = end
    }
  }
  return { type: 'publish', version: p.version, mode: p.mode, reason: p.reason, entries }
}

// `Global` is the native class; only its `pollOutput` is replaced, by the compact path.
Object.defineProperty(native.Global.prototype, 'pollOutput', {
  value: function pollOutput() {
    const out = this._pollOutputPacked()
    if (out === null) return null
    return out.type === 'publish' ? unpackPublish(out) : unpackBatch('forward', out)
  },
  writable: true,
  configurable: true,
})

/**
 * `increments` entries as one string of keys, their lengths and the deltas, when every key
 * is a well-formed string and every delta a safe-integer number; `null` otherwise (the
 * native `increments` then reads the entries itself and reports what is wrong).
 */
function pack(entries) {
  let keys
  let values
  if (Array.isArray(entries)) {
    keys = new Array(entries.length)
    values = new Array(entries.length)
    for (let i = 0; i < entries.length; i++) {
      const pair = entries[i]
      if (!Array.isArray(pair) || pair.length !== 2) return null
      keys[i] = pair[0]
      values[i] = pair[1]
    }
  } else if (entries !== null && typeof entries === 'object' && !ArrayBuffer.isView(entries)) {
    keys = Object.keys(entries)
    values = new Array(keys.length)
    for (let i = 0; i < keys.length; i++) values[i] = entries[keys[i]]
  } else {
    return null
  }
  const lens = new Uint32Array(keys.length)
  const deltas = new Float64Array(keys.length)
  let joined = ''
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]
    const delta = values[i]
    if (typeof key !== 'string' || !key.isWellFormed() || !Number.isSafeInteger(delta)) return null
    joined += key
    lens[i] = key.length
    deltas[i] = delta
  }
  return { joined, lens, deltas }
}

// One assignment per name, so Node's ESM loader sees them as named exports too.
exports.Shard = Shard
exports.Global = native.Global
exports.Router = native.Router
exports.ShardtallyError = ShardtallyError
exports.keyHash = native.keyHash
exports.jumpHash = native.jumpHash
exports.__napiBindingTarget = native.__napiBindingTarget
