// The public JavaScript API of shardtally, shared by the Node package (`shardtally`, a napi-rs
// addon) and the WebAssembly package (`shardtally-wasm`). One source: each package's build
// copies it (bindings-js/scripts/copy.mjs), adding the export of `makeApi` as CommonJS or as
// an ES module, and its entry calls `makeApi(native)` with its native half.
//
// The native half takes only primitives and typed arrays made here. Every object of the
// caller's (options, entries, arrays, outputs passed back, typed arrays) is read in this file
// before any native call, so an exception thrown by the caller's own code (a getter, a Proxy
// trap, an iterator) propagates with every machine untouched. Types: index.d.ts.

function makeApi(native) {
  const MAX_SAFE = Number.MAX_SAFE_INTEGER
  const MAX_SAFE_BIG = BigInt(MAX_SAFE)
  // Shard room values pack the request room above 32 bits of key room (shardtally_api::js).
  const KEY_ROOM_SPAN = 4294967296
  const U32 = 'an integer in 0..=4294967295'
  const U64 = 'an integer in 0..=18446744073709551615'
  // Marks the private constructor call of `restore`.
  const WRAP = Symbol('shardtally.wrap')

  /**
   * The error every shardtally call throws: `code` is stable, `message` is the engine's text,
   * the offending values are extra properties (never replacing the `name`, `message` or
   * `stack` of an Error: the unknown name of CONFIG_UNKNOWN_SETTING is in the message), and
   * `rejectsBatch` is core's verdict for an error of `Global.handleBatch` (the batch can
   * never be applied).
   */
  class ShardtallyError extends Error {
    constructor(message, code, fields) {
      super(message)
      this.rejectsBatch = false
      for (const k in fields) if (k !== 'name' && k !== 'message' && k !== 'stack') this[k] = fields[k]
      this.code = code
    }
  }
  Object.defineProperty(ShardtallyError.prototype, 'name', { value: 'ShardtallyError', writable: true, configurable: true })

  /** An integer column value: a `number` when safe (the columns of bigints hold unsafe ones). */
  const int = (v) => (v >= -MAX_SAFE_BIG && v <= MAX_SAFE_BIG ? Number(v) : v)

  // Column names as internalized strings (a property key of an object), the same each time:
  // a native half makes new strings for every list, and object literals with computed keys
  // are many times slower with those.
  const columnNames = new Map()
  function columnName(s) {
    let name = columnNames.get(s)
    if (name === undefined) columnNames.set(s, (name = Object.keys({ [s]: 0 })[0]))
    return name
  }

  /** Keyed lists cross packed (shardtally_api::js::pack): `[{ key, <column>: value }]` again. */
  function entries(joined, lens, columns) {
    const names = []
    const cols = []
    for (let c = 0; c < columns.length; c += 2) {
      names.push(columnName(columns[c]))
      cols.push(columns[c + 1] instanceof Float64Array ? columns[c + 1] : Array.from(columns[c + 1], int))
    }
    const [n0, n1] = names
    const [c0, c1] = cols
    const out = new Array(lens.length)
    let at = 0
    for (let i = 0; i < lens.length; i++) {
      const key = joined.slice(at, (at += lens[i]))
      // Object literals for the usual one or two columns: much faster than adding properties.
      if (cols.length === 1) out[i] = { key, [n0]: c0[i] }
      else if (cols.length === 2) out[i] = { key, [n0]: c0[i], [n1]: c1[i] }
      else {
        const e = { key }
        for (let c = 0; c < cols.length; c++) e[names[c]] = cols[c][i]
        out[i] = e
      }
    }
    return out
  }

  native.setup(ShardtallyError, entries)

  // ----- arguments: type checks here, value checks in the engine (shardtally_api::js) -----

  /** A wrong argument, as the engine words it (the message comes from shardtally-api). */
  function fail(code, argument, expected, value) {
    return native.argumentError(code, argument, expected, render(value))
  }

  /** A value of the wrong type, for an error message. */
  function render(v) {
    switch (typeof v) {
      case 'string':
        return JSON.stringify(v)
      case 'bigint':
        return `${v}n`
      case 'number':
      case 'boolean':
      case 'undefined':
        return String(v)
      case 'object':
        return v === null ? 'null' : Array.isArray(v) ? 'an array' : 'an object'
      default:
        return `a ${typeof v}`
    }
  }

  function time(v) {
    if (typeof v === 'number') return v
    throw fail('INVALID_TIME', 'nowMs', '', v)
  }

  function delta(v) {
    if (typeof v === 'number' || typeof v === 'bigint') return v
    throw fail('INVALID_DELTA', 'delta', '', v)
  }

  /** A key: a well-formed string (a lone surrogate is not UTF-8), checked per key. */
  function key(v) {
    if (typeof v !== 'string') throw fail('INVALID_ARGUMENT', 'key', 'a string', v)
    if (!v.isWellFormed()) throw fail('INVALID_KEY', 'key', '', v)
    return v
  }

  function u32(v, argument) {
    if (typeof v === 'number') return v
    throw fail('INVALID_ARGUMENT', argument, U32, v)
  }

  function u64(v, argument) {
    if (typeof v === 'number' || typeof v === 'bigint') return v
    throw fail('INVALID_ARGUMENT', argument, U64, v)
  }

  /** A fresh view of a typed array: the native side never touches the caller's object. */
  function view(v, Type, argument, expected) {
    if (!(v instanceof Type)) throw fail('INVALID_ARGUMENT', argument, expected, v)
    return new Type(v.buffer, v.byteOffset, v.length)
  }

  function bytes(v, argument) {
    return view(v, Uint8Array, argument, 'a Uint8Array')
  }

  /** A message: its bytes, or an output object carrying them (a batch, an ack). */
  function message(v, argument) {
    if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array)) {
      const b = v.bytes
      if (b instanceof Uint8Array) return bytes(b, argument)
    }
    return bytes(v, argument)
  }

  /**
   * An options object as `[names, values]` for the engine, which matches the names
   * (camelCase) and rejects unknown ones naming the closest. `undefined` values are dropped;
   * a nested plain object (a tiered global's `upstream`) becomes nested `[names, values]`.
   */
  function options(o, argument = 'options') {
    const names = []
    const values = []
    if (o === undefined || o === null) return [names, values]
    if (typeof o !== 'object' || Array.isArray(o) || ArrayBuffer.isView(o)) throw fail('INVALID_ARGUMENT', argument, 'an options object', o)
    for (const name of Object.keys(o)) {
      const v = o[name]
      if (v === undefined) continue
      names.push(name)
      values.push(setting(v))
    }
    return [names, values]
  }

  function setting(v) {
    switch (typeof v) {
      case 'number':
      case 'bigint':
      case 'string':
      case 'boolean':
        return v
      case 'object': {
        if (v === null) return null
        const proto = Object.getPrototypeOf(v)
        if (proto === Object.prototype || proto === null) return options(v)
        return { other: Array.isArray(v) ? 'array' : 'object' }
      }
      default:
        return { other: typeof v }
    }
  }

  /** Multi-key increments as `[joined keys, UTF-16 lengths, deltas]`, every entry read once. */
  function pack(input) {
    let keys
    let values
    if (Array.isArray(input)) {
      keys = new Array(input.length)
      values = new Array(input.length)
      for (let i = 0; i < keys.length; i++) {
        const pair = input[i]
        if (!Array.isArray(pair) || pair.length !== 2) throw fail('INVALID_ARGUMENT', 'entries[i]', 'a [key, delta] pair', pair)
        keys[i] = pair[0]
        values[i] = pair[1]
      }
    } else if (input instanceof Map) {
      keys = []
      values = []
      for (const pair of input) {
        keys.push(pair[0])
        values.push(pair[1])
      }
    } else if (input !== null && typeof input === 'object' && !ArrayBuffer.isView(input)) {
      keys = Object.keys(input)
      values = new Array(keys.length)
      for (let i = 0; i < keys.length; i++) values[i] = input[keys[i]]
    } else {
      throw fail('INVALID_ARGUMENT', 'entries', 'an object of key → delta, a Map or an array of [key, delta] pairs', input)
    }
    const lens = new Uint32Array(keys.length)
    let joined = ''
    let big = false
    for (let i = 0; i < keys.length; i++) {
      const k = key(keys[i])
      joined += k
      lens[i] = k.length
      if (typeof delta(values[i]) === 'bigint') big = true
    }
    return [joined, lens, big ? values : Float64Array.from(values)]
  }

  /** Interned key ids: a `Uint32Array`, or numbers (range-checked by the engine). */
  function ids(v) {
    if (v instanceof Uint32Array) return view(v, Uint32Array, 'ids', '')
    if (!Array.isArray(v)) throw fail('INVALID_ARGUMENT', 'ids', 'a Uint32Array or an array of integers', v)
    const out = new Float64Array(v.length)
    for (let i = 0; i < out.length; i++) out[i] = u32(v[i], 'ids[i]')
    return out
  }

  /** Deltas: a `Float64Array`, a `BigInt64Array`, or numbers and bigints. */
  function deltas(v) {
    if (v instanceof Float64Array) return view(v, Float64Array, 'deltas', '')
    if (v instanceof BigInt64Array) return view(v, BigInt64Array, 'deltas', '')
    if (!Array.isArray(v)) throw fail('INVALID_ARGUMENT', 'deltas', 'a Float64Array, a BigInt64Array or an array of numbers or bigints', v)
    const out = new Array(v.length)
    let big = false
    for (let i = 0; i < out.length; i++) if (typeof (out[i] = delta(v[i])) === 'bigint') big = true
    return big ? out : Float64Array.from(out)
  }

  /** UTF-8 length of a string (an upper bound for strings with lone surrogates). */
  function utf8Length(s) {
    let n = 0
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i)
      if (c < 0x80) n += 1
      else if (c < 0x800) n += 2
      else if (c >= 0xd800 && c < 0xdc00) {
        n += 4
        i++
      } else n += 3
    }
    return n
  }

  /**
   * A shard: buffers deltas per key and ships them to the global as batches.
   *
   * Single-key `increment` calls are collected in a JavaScript `Map` while that provably
   * changes nothing observable, and handed to the native shard in one call (`apply`) before
   * anything that could see the difference:
   *
   * - only increments at the same `nowMs` as the previous native increment are buffered (it
   *   already fired whatever idle or max-age flush was due then);
   * - the native shard says how many more requests may be buffered without reaching
   *   `flushAfterRequests` (none while draining, unbounded while a batch is in flight) and
   *   how many new keys fit under `maxPendingKeys` (core's `coalescing_room`), and stops
   *   buffering when pending magnitudes come near the 64-bit limit;
   * - each buffered key's running sum stays a safe integer;
   * - the key is a well-formed string of at most `maxKeyBytes` UTF-8 bytes, the delta a
   *   safe-integer number.
   *
   * Anything else (a new time, a bigint delta, a bad argument, the request that reaches the
   * threshold) goes to the native shard after the buffer, so errors are thrown by the call
   * that caused them and flushes happen on the exact request. Every other input first hands
   * the buffer over, and so does every view buffered increments change. `pollOutput` and
   * `pollTimeout` remember the native answer until the next native input.
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

    constructor(opts) {
      const n = opts === WRAP ? arguments[1] : new native.Shard(...options(opts))
      this.#n = n
      this.#maxKeyBytes = n.maxKeyBytes()
      // A UTF-16 code unit never takes more than 3 UTF-8 bytes.
      this.#maxKeyUnits = Math.floor(this.#maxKeyBytes / 3)
    }

    static restore(snapshot, opts) {
      const b = bytes(snapshot, 'snapshot')
      return new Shard(WRAP, native.Shard.restore(b, ...options(opts)))
    }

    increment(k, d, nowMs) {
      if (nowMs === this.#now && typeof k === 'string' && typeof d === 'number' && this.#count < this.#requestRoom) {
        const units = k.length
        if (units !== 0 && Number.isSafeInteger(d) && (units <= this.#maxKeyUnits || utf8Length(k) <= this.#maxKeyBytes)) {
          const buffer = this.#buffer
          const slot = buffer.get(k)
          if (slot === undefined) {
            if (buffer.size < this.#keyRoom && k.isWellFormed()) {
              buffer.set(k, { sum: d })
              this.#count++
              return
            }
          } else {
            const sum = slot.sum + d
            if (sum <= MAX_SAFE && sum >= -MAX_SAFE) {
              slot.sum = sum
              this.#count++
              return
            }
          }
        }
      }
      const s = key(k)
      const v = delta(d)
      const t = time(nowMs)
      this.#sync()
      this.#outputs = true
      this.#timeout = undefined
      const room = this.#n.increment(s, v, t)
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
      for (const [k, slot] of buffer) {
        joined += k
        lens[i] = k.length
        sums[i++] = slot.sum
      }
      buffer.clear()
      this.#count = 0
      this.#requestRoom = 0
      this.#timeout = undefined
      this.#setRoom(this.#n.apply(joined, lens, sums, count, this.#now))
    }

    /** The native shard for an input other than `increment`: the buffer handed over first. */
    #input() {
      this.#sync()
      this.#now = NaN
      this.#outputs = true
      this.#timeout = undefined
      return this.#n
    }

    /** The native shard for a view of state that buffered increments change. */
    #view() {
      this.#sync()
      return this.#n
    }

    increments(input, nowMs) {
      const [joined, lens, ds] = pack(input)
      const t = time(nowMs)
      this.#input().increments(joined, lens, ds, t)
    }
    intern(k) {
      const s = key(k)
      return this.#input().intern(s)
    }
    incrementId(id, d, nowMs) {
      const i = u32(id, 'id')
      const v = delta(d)
      const t = time(nowMs)
      this.#input().incrementId(i, v, t)
    }
    incrementIds(i, d, nowMs) {
      const is = ids(i)
      const ds = deltas(d)
      const t = time(nowMs)
      this.#input().incrementIds(is, ds, t)
    }
    flush(nowMs) {
      const t = time(nowMs)
      return this.#input().flush(t)
    }
    drain(nowMs) {
      const t = time(nowMs)
      return this.#input().drain(t)
    }
    handleAck(ack, nowMs) {
      const b = message(ack, 'ack')
      const t = time(nowMs)
      return this.#input().handleAck(b, t)
    }
    handleFailure(seq, nowMs) {
      const n = u64(seq, 'seq')
      const t = time(nowMs)
      return this.#input().handleFailure(n, t)
    }
    handleRejection(seq, nowMs) {
      const n = u64(seq, 'seq')
      const t = time(nowMs)
      return this.#input().handleRejection(n, t)
    }
    handleTimeout(nowMs) {
      const t = time(nowMs)
      this.#input().handleTimeout(t)
    }
    pollOutput() {
      if (!this.#outputs) return null
      const out = this.#n.pollOutput()
      if (out === null) this.#outputs = false
      return out
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
    pendingDelta(k) {
      const s = key(k)
      return this.#view().pendingDelta(s)
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
      return this.#n.keyOf(u32(id, 'id'))
    }
    stats() {
      return this.#view().stats()
    }
  }

  /** The global aggregator: applies batches exactly once, keeps the totals, publishes them. */
  class Global {
    #n
    constructor(opts) {
      this.#n = opts === WRAP ? arguments[1] : new native.Global(...options(opts))
    }
    static restore(snapshot, opts) {
      const b = bytes(snapshot, 'snapshot')
      return new Global(WRAP, native.Global.restore(b, ...options(opts)))
    }
    handleBatch(batch, nowMs) {
      return this.#n.handleBatch(message(batch, 'batch'), time(nowMs))
    }
    reset(k, nowMs) {
      return this.#n.reset(key(k), time(nowMs))
    }
    publish(nowMs) {
      return this.#n.publish(time(nowMs))
    }
    handlePublishAck(version, nowMs) {
      return this.#n.handlePublishAck(u64(version, 'version'), time(nowMs))
    }
    handlePublishFailure(version, nowMs) {
      return this.#n.handlePublishFailure(u64(version, 'version'), time(nowMs))
    }
    handleUpstreamAck(ack, nowMs) {
      return this.#n.handleUpstreamAck(message(ack, 'ack'), time(nowMs))
    }
    handleUpstreamFailure(seq, nowMs) {
      return this.#n.handleUpstreamFailure(u64(seq, 'seq'), time(nowMs))
    }
    flushUpstream(nowMs) {
      return this.#n.flushUpstream(time(nowMs))
    }
    handleTimeout(nowMs) {
      this.#n.handleTimeout(time(nowMs))
    }
    pollOutput() {
      return this.#n.pollOutput()
    }
    pollTimeout() {
      return this.#n.pollTimeout()
    }
    takeStateChanged() {
      return this.#n.takeStateChanged()
    }
    snapshot() {
      return this.#n.snapshot()
    }
    nextDeadline() {
      return this.#n.nextDeadline()
    }
    stats() {
      return this.#n.stats()
    }
    total(k) {
      return this.#n.total(key(k))
    }
    totals() {
      return this.#n.totals()
    }
    keyGeneration(k) {
      return this.#n.keyGeneration(key(k))
    }
    generation() {
      return this.#n.generation()
    }
    writeLog() {
      return this.#n.writeLog()
    }
    shardWrites() {
      return this.#n.shardWrites()
    }
    publishedVersion() {
      return this.#n.publishedVersion()
    }
    inFlightPublish() {
      return this.#n.inFlightPublish()
    }
    lastSeq(shard, incarnation) {
      return this.#n.lastSeq(u32(shard, 'shard'), u64(incarnation, 'incarnation'))
    }
    hasUpstream() {
      return this.#n.hasUpstream()
    }
  }

  /** Picks the shard for each increment and tracks shards being drained. */
  class Router {
    #n
    constructor(opts) {
      this.#n = opts === WRAP ? arguments[1] : new native.Router(...options(opts))
    }
    static restore(snapshot) {
      return new Router(WRAP, native.Router.restore(bytes(snapshot, 'snapshot')))
    }
    route(k) {
      return this.#n.route(key(k))
    }
    setShardCount(count) {
      return this.#n.setShardCount(u32(count, 'count'))
    }
    draining() {
      return this.#n.draining()
    }
    markDrained(shard) {
      return this.#n.markDrained(u32(shard, 'shard'))
    }
    shardCount() {
      return this.#n.shardCount()
    }
    strategy() {
      return this.#n.strategy()
    }
    pinnedShard() {
      return this.#n.pinnedShard()
    }
    snapshot() {
      return this.#n.snapshot()
    }
  }

  /** The stable 64-bit hash of a key (FNV-1a then a mixer), the same in every runtime. */
  function keyHash(k) {
    return native.keyHash(key(k))
  }

  /** Jump consistent hash: the bucket in `0 .. buckets` of a 64-bit hash. */
  function jumpHash(hash, buckets) {
    return native.jumpHash(u64(hash, 'hash'), u32(buckets, 'buckets'))
  }

  return { Shard, Global, Router, ShardtallyError, keyHash, jumpHash }
}
