// The public JavaScript API of shardtally, shared by the Node package (`shardtally`, a napi-rs
// addon) and the WebAssembly package (`shardtally-wasm`). One source: each package's build
// copies it (bindings-js/scripts/copy.mjs), adding the package's exports, one per name of the
// object `makeApi(native)` returns (the list at its end is the one list of public names): as
// CommonJS over the addon, or as an ES module whose entries load the wasm module their own way.
//
// The native half takes only primitives and typed arrays made here. Every object of the
// caller's (options, entries, arrays, outputs passed back, typed arrays) is read in this file
// before any native call, so an exception thrown by the caller's own code (a getter, a Proxy
// trap, an iterator) propagates with every machine untouched. Types: index.d.ts.

function makeApi(native) {
  const MAX_SAFE = Number.MAX_SAFE_INTEGER
  const MAX_SAFE_BIG = BigInt(MAX_SAFE)
  // See `Shard#direct`.
  const DIRECT_CALLS = 1 << 20
  // Shard room values pack the request room above 32 bits of key room (shardtally_api::js).
  const KEY_ROOM_SPAN = 4294967296
  const U32_RANGE = 'an integer in 0..=4294967295'
  const U64_RANGE = 'an integer in 0..=18446744073709551615'
  // Marks the private constructor call of `restore`.
  const WRAP = Symbol('shardtally.wrap')
  // A packed length meaning "no value" (`js::row_ops`).
  const NONE = 4294967295
  const EMPTY = new Uint8Array(0)

  /**
   * The error every shardtally call throws: `code` is stable, `message` is the engine's text,
   * the offending values are extra properties (`fields`, copied onto it), and `rejectsBatch`
   * is core's verdict for an error of `Global.handleBatch` (the batch can never be applied).
   */
  class ShardtallyError extends Error {
    constructor(message, code, fields) {
      super(message)
      this.rejectsBatch = false
      Object.assign(this, fields)
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

  /**
   * Storage operations cross packed (the natives' `js::row_ops`): `[{ op, table, key, value }]`
   * again, each key and value a `Uint8Array` of its own (`value` null but for `put`).
   */
  function rowOps(names, lens, data) {
    const out = new Array(lens.length / 4)
    let at = 0
    let pos = 0
    for (let i = 0, j = 0; i < out.length; i++, j += 4) {
      const op = names.slice(at, (at += lens[j]))
      const table = names.slice(at, (at += lens[j + 1]))
      const key = data.slice(pos, (pos += lens[j + 2]))
      const value = lens[j + 3] === NONE ? null : data.slice(pos, (pos += lens[j + 3]))
      out[i] = { op, table, key, value }
    }
    return out
  }

  native.setup(ShardtallyError, entries, rowOps)

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
    throw fail('INVALID_ARGUMENT', argument, U32_RANGE, v)
  }

  function u64(v, argument) {
    if (typeof v === 'number' || typeof v === 'bigint') return v
    throw fail('INVALID_ARGUMENT', argument, U64_RANGE, v)
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

  /** A string the caller chooses (an id, a name, a day, a period): well-formed, parsed by the engine. */
  function str(v, argument) {
    if (typeof v !== 'string') throw fail('INVALID_ARGUMENT', argument, 'a string', v)
    if (!v.isWellFormed()) throw fail('INVALID_ARGUMENT', argument, 'a well-formed string (no lone surrogates)', v)
    return v
  }

  function bool(v, argument) {
    if (typeof v === 'boolean') return v
    throw fail('INVALID_ARGUMENT', argument, 'a boolean', v)
  }

  /** An array of the caller's, read index by index (no iterator, no `map` of theirs). */
  function list(v, argument, expected) {
    if (!Array.isArray(v)) throw fail('INVALID_ARGUMENT', argument, expected, v)
    return v
  }

  /** Byte strings as one `Uint8Array`. */
  function concat(parts) {
    // One part (a page of one large row): no copy.
    if (parts.length === 1) return parts[0]
    let size = 0
    for (const p of parts) size += p.length
    const out = new Uint8Array(size)
    let at = 0
    for (const p of parts) {
      out.set(p, at)
      at += p.length
    }
    return out
  }

  /** Stored `[table, value]` pairs as `[tables joined, [table length, value length]…, values]`. */
  function storedPairs(v) {
    const pairs = list(v, 'pairs', 'an array of [table, Uint8Array] pairs')
    const lens = new Uint32Array(2 * pairs.length)
    const values = new Array(pairs.length)
    let tables = ''
    for (let i = 0; i < pairs.length; i++) {
      const pair = pairs[i]
      if (!Array.isArray(pair) || pair.length !== 2) throw fail('INVALID_ARGUMENT', 'pairs[i]', 'a [table, Uint8Array] pair', pair)
      const table = str(pair[0], 'table')
      values[i] = bytes(pair[1], 'value')
      tables += table
      lens[2 * i] = table.length
      lens[2 * i + 1] = values[i].length
    }
    return [tables, lens, concat(values)]
  }

  /** Byte strings as `[joined, lengths]`. */
  function byteStrings(v, argument) {
    const rows = list(v, argument, 'an array of Uint8Arrays')
    const parts = new Array(rows.length)
    for (let i = 0; i < rows.length; i++) parts[i] = bytes(rows[i], `${argument}[i]`)
    return [concat(parts), Uint32Array.from(parts, (p) => p.length)]
  }

  /** Stored buckets rows (`raw`, `daily`, `meta`) packed: `[type, day and key joined, lengths, counts, meta bytes]`. */
  function bucketsRows(v) {
    const rows = list(v, 'rows', 'an array of buckets rows')
    const lens = new Uint32Array(4 * rows.length)
    const counts = new Array(rows.length)
    const blobs = new Array(rows.length)
    let joined = ''
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]
      if (row === null || typeof row !== 'object') throw fail('INVALID_ARGUMENT', 'rows[i]', 'a buckets row', row)
      const type = row.type
      let [day, k, count, blob] = ['', '', 0, EMPTY]
      if (type === 'raw' || type === 'daily') {
        day = str(row.day, 'day')
        k = key(row.key)
        count = delta(type === 'raw' ? row.count : row.total)
      } else if (type === 'meta') blob = bytes(row.bytes, 'bytes')
      else throw fail('INVALID_ARGUMENT', 'rows[i].type', "'raw', 'daily' or 'meta'", type)
      joined += type + day + k
      lens.set([type.length, day.length, k.length, blob.length], 4 * i)
      counts[i] = count
      blobs[i] = blob
    }
    return [joined, lens, deltas(counts), concat(blobs)]
  }

  /** A gateway report's `[connection, request]` pairs, packed as keys. */
  function idPairs(v) {
    const pairs = list(v, 'connections', 'an array of [connection, request] pairs')
    const lens = new Uint32Array(2 * pairs.length)
    let joined = ''
    for (let i = 0; i < pairs.length; i++) {
      const pair = pairs[i]
      if (!Array.isArray(pair) || pair.length !== 2) throw fail('INVALID_ARGUMENT', 'connections[i]', 'a [connection, request] pair', pair)
      const connection = str(pair[0], 'connection')
      const request = str(pair[1], 'request')
      joined += connection + request
      lens[2 * i] = connection.length
      lens[2 * i + 1] = request.length
    }
    return [joined, lens]
  }

  /**
   * A shard: buffers deltas per key and ships them to the global as batches.
   *
   * Single-key `increment` calls are collected in a JavaScript `Map` while that provably
   * changes nothing observable, and handed to the native shard in one call (the native
   * `incrementsCoalesced`, the public method's) before anything that could see the
   * difference:
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
    // The key of each id interned through (or used with) this object, by id.
    #idKeys = []
    // Scratch of `#absorb`: each entry's buffer slot (or undefined) and delta.
    #held = []
    #deltas = []
    // `incrementId` calls left to make directly: `DIRECT_CALLS` when a hand-over carried
    // almost only distinct keys (buffering then costs a new buffer entry per increment, more
    // than a direct call), then buffering is tried again.
    #direct = 0
    // The arrays `#sync` hands over (reused).
    #lens = new Uint32Array(16)
    #sums = new Float64Array(16)
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

    static fromRows(pairs, opts) {
      const p = storedPairs(pairs)
      return new Shard(WRAP, native.Shard.fromRows(...p, ...options(opts)))
    }

    increment(k, d, nowMs) {
      if (nowMs === this.#now && typeof k === 'string' && typeof d === 'number' && this.#count < this.#requestRoom) {
        if (Number.isSafeInteger(d) && this.#keyFits(k)) {
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

    /**
     * `increments` of a plain object into the buffer, when each entry could go there as
     * `increment` would put it: every entry is read and checked before any is added, and
     * the call counts as one request. Otherwise false (the engine takes the call).
     */
    #absorb(input, nowMs) {
      if (nowMs !== this.#now || this.#count >= this.#requestRoom) return false
      if (input === null || typeof input !== 'object' || Array.isArray(input) || input instanceof Map || ArrayBuffer.isView(input)) return false
      const keys = Object.keys(input)
      const n = keys.length
      if (n === 0) return false
      const buffer = this.#buffer
      const held = this.#held
      const ds = this.#deltas
      try {
        let fresh = 0
        for (let i = 0; i < n; i++) {
          const k = keys[i]
          const d = input[k]
          if (typeof d !== 'number' || !Number.isSafeInteger(d) || !this.#keyFits(k)) return false
          const slot = buffer.get(k)
          if (slot === undefined) {
            if (!k.isWellFormed()) return false
            fresh++
          } else {
            const sum = slot.sum + d
            if (sum > MAX_SAFE || sum < -MAX_SAFE) return false
          }
          held[i] = slot
          ds[i] = d
        }
        if (buffer.size + fresh > this.#keyRoom) return false
        for (let i = 0; i < n; i++) {
          const slot = held[i]
          if (slot === undefined) buffer.set(keys[i], { sum: ds[i] })
          else slot.sum += ds[i]
        }
        this.#count++
        return true
      } finally {
        // Keeps the arrays' length (changing it costs more than the whole call); drops the
        // slots they hold.
        for (let i = 0; i < n; i++) held[i] = undefined
      }
    }

    /** A key the buffer may hold: not empty, within `maxKeyBytes` (well-formedness aside). */
    #keyFits(k) {
      const units = k.length
      // A UTF-16 code unit never takes more than 3 UTF-8 bytes: most keys need no count.
      return units !== 0 && (units <= this.#maxKeyUnits || utf8Length(k) <= this.#maxKeyBytes)
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
      const n = buffer.size
      // The hand-over's arrays are kept for the next one (grown as needed): no new buffers
      // for the garbage collector at every hand-over.
      if (this.#lens.length < n) {
        this.#lens = new Uint32Array(Math.max(n, 2 * this.#lens.length))
        this.#sums = new Float64Array(this.#lens.length)
      }
      const lens = this.#lens
      const sums = this.#sums
      let joined = ''
      let i = 0
      for (const [k, slot] of buffer) {
        joined += k
        lens[i] = k.length
        sums[i++] = slot.sum
      }
      buffer.clear()
      if (count >= 1024 && 10 * n > 9 * count) this.#direct = DIRECT_CALLS
      this.#count = 0
      this.#requestRoom = 0
      this.#timeout = undefined
      this.#setRoom(this.#n.incrementsCoalesced(joined, lens.subarray(0, n), sums.subarray(0, n), count, this.#now))
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
      if (this.#absorb(input, nowMs)) return
      const [joined, lens, ds] = pack(input)
      const t = time(nowMs)
      const room = this.#input().increments(joined, lens, ds, t)
      this.#now = nowMs
      this.#setRoom(room)
    }
    incrementsCoalesced(input, requests, nowMs) {
      const [joined, lens, ds] = pack(input)
      const r = u64(requests, 'requests')
      const t = time(nowMs)
      this.#input().incrementsCoalesced(joined, lens, ds, r, t)
    }
    intern(k) {
      const s = key(k)
      const id = this.#input().intern(s)
      this.#idKeys[id] = s
      return id
    }
    incrementId(id, d, nowMs) {
      // An interned id's key (ids stay interned for good): the same increment, so it takes
      // the buffered path of `increment` — unless buffering does not pay (`#direct`).
      let k
      if (typeof id === 'number') {
        if (this.#direct > 0) this.#direct--
        else k = this.#idKeys[id]
      }
      if (k !== undefined) {
        this.increment(k, d, nowMs)
        return
      }
      const i = u32(id, 'id')
      const v = delta(d)
      const t = time(nowMs)
      const n = this.#input()
      n.incrementId(i, v, t)
      // Learnt once per id (a restored shard's ids were interned before this object), unless
      // the key is longer than this object's `maxKeyBytes` allows (restored with a lower one):
      // `increment` would refuse it.
      if (this.#idKeys[i] === undefined) {
        const known = n.keyOf(i)
        if (typeof known === 'string' && utf8Length(known) <= this.#maxKeyBytes) this.#idKeys[i] = known
      }
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
    handleGenerationNotice(notice, nowMs) {
      const b = message(notice, 'notice')
      const t = time(nowMs)
      return this.#input().handleGenerationNotice(b, t)
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
    config() {
      return this.#n.config()
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
    takeChanges() {
      return this.#view().takeChanges()
    }
    rows() {
      return this.#view().rows()
    }
  }

  // ----- the other machines: their methods are declared by the arguments they read -----

  /** The native machine inside a public one. */
  let nativeOf

  /** The base of every machine but `Shard`: holds its native machine. */
  class Machine {
    #n
    constructor(Native, opts, wrapped) {
      this.#n = opts === WRAP ? wrapped : new Native(...options(opts))
    }
    static {
      nativeOf = (m) => m.#n
    }
  }

  /** `Class` from `snapshot()` bytes and its settings. */
  function restored(Class, Native, snapshot, opts) {
    const b = bytes(snapshot, 'snapshot')
    return new Class(WRAP, Native.restore(b, ...options(opts)))
  }

  /**
   * A method calling the native method `name` with its arguments read by `readers` (each
   * checks one argument's JavaScript type and returns what the native half takes), every
   * argument read before the call.
   */
  function forward(name, readers) {
    const [a, b, c, d, e] = readers
    switch (readers.length) {
      case 0:
        return function () {
          return nativeOf(this)[name]()
        }
      case 1:
        return function (v) {
          return nativeOf(this)[name](a(v))
        }
      case 2:
        return function (v, w) {
          return nativeOf(this)[name](a(v), b(w))
        }
      case 3:
        return function (v, w, x) {
          return nativeOf(this)[name](a(v), b(w), c(x))
        }
      case 4:
        return function (v, w, x, y) {
          return nativeOf(this)[name](a(v), b(w), c(x), d(y))
        }
      default:
        return function (v, w, x, y, z) {
          return nativeOf(this)[name](a(v), b(w), c(x), d(y), e(z))
        }
    }
  }

  /** Adds the methods of `table` (name → argument readers) to `Class`. */
  function declare(Class, table) {
    for (const [name, readers] of Object.entries(table)) {
      Object.defineProperty(Class.prototype, name, { value: forward(name, readers), writable: true, configurable: true })
    }
  }

  // Argument readers of declared methods, by the argument's name.
  const Id = (argument) => (v) => str(v, argument)
  const U32 = (argument) => (v) => u32(v, argument)
  const U64 = (argument) => (v) => u64(v, argument)
  const Bytes = (argument) => (v) => bytes(v, argument)
  const Message = (argument) => (v) => message(v, argument)
  const Bool = (argument) => (v) => bool(v, argument)

  /** The run loop of a machine with outputs (for buckets, all but `pollOutput`). */
  const RUN_LOOP = { handleTimeout: [time], pollTimeout: [], nextDeadline: [], takeStateChanged: [], snapshot: [], stats: [], config: [] }
  const OUTPUTS = { ...RUN_LOOP, pollOutput: [] }

  /** The global aggregator: applies batches exactly once, keeps the totals, publishes them. */
  class Global extends Machine {
    constructor(opts) {
      super(native.Global, opts, arguments[1])
    }
    static restore(snapshot, opts) {
      return restored(Global, native.Global, snapshot, opts)
    }
    static fromRows(pairs, opts) {
      const p = storedPairs(pairs)
      return new Global(WRAP, native.Global.fromRows(...p, ...options(opts)))
    }
  }
  declare(Global, {
    ...OUTPUTS,
    handleBatch: [Message('batch'), time],
    reset: [key, time],
    publish: [time],
    handlePublishAck: [U64('version'), time],
    handlePublishFailure: [U64('version'), time],
    handleUpstreamAck: [Message('ack'), time],
    handleUpstreamFailure: [U64('seq'), time],
    handleUpstreamRejection: [U64('seq'), time],
    flushUpstream: [time],
    handleGenerationNotice: [Message('notice'), time],
    generationNotice: [key, U32('shard'), U64('incarnation')],
    total: [key],
    totals: [],
    keyGeneration: [key],
    generation: [],
    writeLog: [],
    shardWrites: [],
    publishedVersion: [],
    inFlightPublish: [],
    lastSeq: [U32('shard'), U64('incarnation')],
    hasUpstream: [],
    takeChanges: [],
    rows: [],
  })

  /** Picks the shard for each increment and tracks shards being drained. */
  class Router extends Machine {
    constructor(opts) {
      super(native.Router, opts, arguments[1])
    }
    static restore(snapshot) {
      return new Router(WRAP, native.Router.restore(bytes(snapshot, 'snapshot')))
    }
  }
  declare(Router, {
    route: [key],
    setShardCount: [U32('count')],
    draining: [],
    markDrained: [U32('shard')],
    shardCount: [],
    strategy: [],
    pinnedShard: [],
    snapshot: [],
  })

  /** Routes requests (by request id) to replicas with a connection limit each. */
  class Gateway extends Machine {
    constructor(opts) {
      super(native.Gateway, opts, arguments[1])
    }
    static restore(snapshot, opts) {
      return restored(Gateway, native.Gateway, snapshot, opts)
    }
    static fromRows(pairs, opts) {
      const p = storedPairs(pairs)
      return new Gateway(WRAP, native.Gateway.fromRows(...p, ...options(opts)))
    }
    handleReport(group, replica, connections, nowMs) {
      const [g, r, [joined, lens], t] = [str(group, 'group'), str(replica, 'replica'), idPairs(connections), time(nowMs)]
      return nativeOf(this).handleReport(g, r, joined, lens, t)
    }
  }
  declare(Gateway, {
    ...OUTPUTS,
    route: [Id('request'), time],
    handleReplicaCreated: [U64('creation'), Id('replica'), time],
    handleCreationFailed: [U64('creation'), time],
    handleConnect: [Id('group'), Id('replica'), Id('connection'), Id('request'), time],
    handleClose: [Id('group'), Id('replica'), Id('connection'), time],
    gossip: [Id('group'), Id('replica'), time],
    handleGossipReply: [Id('group'), U64('gossip'), Id('peer'), Bytes('payload'), time],
    handleGossipFailure: [Id('group'), U64('gossip'), Id('peer'), time],
    emit: [Id('group'), Id('replica'), Id('sender'), Bool('includeSender')],
    broadcast: [Id('group'), Id('replica'), Id('sender'), Bool('includeSender')],
    whisper: [Id('group'), Id('replica'), Id('sender'), Id('target')],
    group: [],
    replicas: [],
    replica: [Id('id')],
    connections: [Id('replica')],
    sticky: [Id('request')],
    requestIds: [],
    reservations: [],
    pendingCreations: [],
    gossips: [],
    current: [],
    takeChanges: [],
    rows: [],
  })

  /** Holders of named clusters get a unique shard index each, fenced by an epoch. */
  class Membership extends Machine {
    constructor(opts) {
      super(native.Membership, opts, arguments[1])
    }
    static restore(snapshot, opts) {
      return restored(Membership, native.Membership, snapshot, opts)
    }
    static restoreClusters(rows, opts) {
      const b = byteStrings(rows, 'rows')
      return new Membership(WRAP, native.Membership.restoreClusters(...b, ...options(opts)))
    }
  }
  declare(Membership, {
    ...OUTPUTS,
    register: [Id('cluster'), Id('holder'), time],
    heartbeat: [Id('cluster'), Id('holder'), time],
    unregister: [Id('cluster'), Id('holder'), time],
    removeCluster: [Id('cluster'), time],
    shardInfo: [Id('cluster'), Id('holder'), time],
    assignments: [Id('cluster'), time],
    clusterInfo: [Id('cluster')],
    clusters: [],
    takeChangedClusters: [],
    snapshotCluster: [Id('cluster')],
  })

  /** Event counts per key and day, rolled up into daily totals. */
  class Buckets extends Machine {
    constructor(opts) {
      super(native.Buckets, opts, arguments[1])
    }
    static restore(snapshot, opts) {
      return restored(Buckets, native.Buckets, snapshot, opts)
    }
    static fromRows(rows, opts) {
      const r = bucketsRows(rows)
      return new Buckets(WRAP, native.Buckets.fromRows(...r, ...options(opts)))
    }
    recordMany(entries, atMs, nowMs) {
      const [[joined, lens, counts], at, t] = [pack(entries), time(atMs), time(nowMs)]
      return nativeOf(this).recordMany(joined, lens, counts, at, t)
    }
  }
  declare(Buckets, {
    ...RUN_LOOP,
    record: [key, time, time],
    recordCount: [key, delta, time, time],
    recordBatch: [Message('batch'), time, time],
    rollup: [Id('period'), time],
    expire: [time],
    dayOf: [time],
    dayStart: [Id('day')],
    dailyTotals: [Id('from'), Id('to')],
    periodTotals: [Id('period')],
    dailyTotal: [Id('day'), key],
    rawCount: [Id('day'), key],
    rawDays: [],
    rawEvents: [],
    keyCount: [],
    dailyDays: [],
    takeChanges: [],
    rows: [],
  })

  /** A bounded queue between a host and a remote sink: never blocks, drops and counts. */
  class Outbox extends Machine {
    constructor(opts) {
      super(native.Outbox, opts, arguments[1])
    }
    static restore(snapshot, opts) {
      return restored(Outbox, native.Outbox, snapshot, opts)
    }
    static fromRows(pairs, opts) {
      const p = storedPairs(pairs)
      return new Outbox(WRAP, native.Outbox.fromRows(...p, ...options(opts)))
    }
  }
  declare(Outbox, {
    ...OUTPUTS,
    offer: [Bytes('message'), time],
    sent: [U64('id'), time],
    failed: [U64('id'), time],
    close: [time],
    len: [],
    isEmpty: [],
    queuedIds: [],
    inFlightIds: [],
    isReconnecting: [],
    isClosed: [],
    isDrained: [],
    takeChanges: [],
    rows: [],
  })

  // ----- builders: a machine rebuilt from its stored rows a page at a time -----

  // A builder rebuilds a machine from its stored `[table, value]` rows one page at a time
  // (what `fromRows` does with every row at once): a host reads its rows with a cursor and
  // hands each page to `add`, so no list of every row is ever held; reading the tables of
  // `readFirst()` first, in that order, keeps every row from waiting for another. A bad row throws its
  // `DECODE_*` error, and so does every later call; `finish()` returns the machine and spends
  // the builder (a later call is `INVALID_ARGUMENT`).

  /** A `Global` rebuilt from its stored rows page by page (its settings as for `fromRows`). */
  class GlobalBuilder {
    #n
    constructor(opts) {
      this.#n = new native.GlobalBuilder(...options(opts))
    }
    static readFirst() {
      return native.GlobalBuilder.readFirst()
    }
    add(pairs) {
      this.#n.add(...storedPairs(pairs))
    }
    finish() {
      return new Global(WRAP, this.#n.finish())
    }
  }

  /** A `Shard` rebuilt from its stored rows page by page (its settings as for `fromRows`). */
  class ShardBuilder {
    #n
    constructor(opts) {
      this.#n = new native.ShardBuilder(...options(opts))
    }
    static readFirst() {
      return native.ShardBuilder.readFirst()
    }
    add(pairs) {
      this.#n.add(...storedPairs(pairs))
    }
    finish() {
      return new Shard(WRAP, this.#n.finish())
    }
  }

  // ----- partition helpers -----

  /** The stable 64-bit hash of a key (FNV-1a then a mixer), the same in every runtime. */
  function keyHash(k) {
    return native.keyHash(key(k))
  }

  /** Jump consistent hash: the bucket in `0 .. buckets` of a 64-bit hash. */
  function jumpHash(hash, buckets) {
    return native.jumpHash(u64(hash, 'hash'), u32(buckets, 'buckets'))
  }

  /** Knuth's multiplicative hash: `x * 2654435761 mod 2^32`. */
  function knuthHash(x) {
    return native.knuthHash(u32(x, 'x'))
  }

  /** The owner of a 64-bit hash among `numShards` by modulo. */
  function ownerMod(hash, numShards) {
    return native.ownerMod(u64(hash, 'hash'), u32(numShards, 'numShards'))
  }

  /** The owner of a 64-bit hash among `numShards` contiguous ranges of the hash space. */
  function ownerRange(hash, numShards) {
    return native.ownerRange(u64(hash, 'hash'), u32(numShards, 'numShards'))
  }

  /** The hashes `shard` owns under `ownerRange` (`{ start, end }`, inclusive), or `null`. */
  function shardRange(shard, numShards) {
    return native.shardRange(u32(shard, 'shard'), u32(numShards, 'numShards'))
  }

  // ----- request keys: the rule of the HTTP middlewares, core's (shardtally::buckets) -----

  /** The route of a request path: numeric segments become `:id`, UUID segments `:uuid`; `''` is `/`. */
  function defaultRoute(path) {
    return native.defaultRoute(str(path, 'path'))
  }

  /** The bucket key `"METHOD route"`: an unknown method is `OTHER`; at most `maxKeyBytes` UTF-8 bytes, whole characters. */
  function requestKey(method, route, maxKeyBytes = 256) {
    return native.requestKey(str(method, 'method'), str(route, 'route'), u32(maxKeyBytes, 'maxKeyBytes'))
  }

  return {
    Shard,
    Global,
    Router,
    Gateway,
    Membership,
    Buckets,
    Outbox,
    GlobalBuilder,
    ShardBuilder,
    ShardtallyError,
    keyHash,
    jumpHash,
    knuthHash,
    ownerMod,
    ownerRange,
    shardRange,
    defaultRoute,
    requestKey,
  }
}
