'use strict'
// shardtally/middleware: count HTTP requests per `METHOD route` into time buckets, from a
// `(req, res, next)` middleware for Node's `http`, Express and Connect.
//
// Every request is recorded synchronously into an in-process Outbox (bounded; when full it
// drops and counts, it never blocks) as one small message: its key ("GET /users/:id") and
// its time. Keys are the engine's rule, the same in every binding: requestKey of the method
// and defaultRoute of the path (shardtally's, re-exported here), unless a route hook says
// otherwise. A background sender, driven by timers (the outbox's pollTimeout and the flush
// interval), delivers what the outbox hands out, in batches, to a sink: an in-process
// Buckets, a PostgreSQL BucketsStore (shardtally/pg), or any async function of the events.
// A failing sink drives the outbox's own path (reconnect after a jittered delay, re-send
// once, then drop, counted); nothing of it reaches the request.
//
// The sender's timers keep the process alive while events wait (so a script that records and
// ends still delivers them); with nothing held, nothing is pending. Call close() on shutdown.
//
// Conservation, exposed by stats(): requests == skipped + routeErrors + offered, and
// offered == delivered + dropped + held (after close() nothing is held).
const { Outbox, Buckets, ShardtallyError, defaultRoute, requestKey } = require('../index.js')

/** The request's path as the client sent it (percent-encoded), without the query. */
function requestPath(req) {
  let path = typeof req.originalUrl === 'string' ? req.originalUrl : typeof req.url === 'string' ? req.url : ''
  const cut = path.indexOf('?')
  if (cut >= 0) path = path.slice(0, cut)
  if (path[0] !== '/' && path.includes('://')) {
    // absolute-form target (a proxy request): keep the path
    const slash = path.indexOf('/', path.indexOf('://') + 3)
    path = slash >= 0 ? path.slice(slash) : '/'
  }
  return path
}

/**
 * Records `[key, atMs]` events into `buckets`, each run of equal times as one `recordMany`.
 * Events the engine refuses (a new key beyond `maxKeys`, a key too long, a time too far
 * ahead) are left out; returns how many were.
 */
function recordEvents(buckets, events, nowMs) {
  let rejected = 0
  for (let i = 0; i < events.length; ) {
    const at = events[i][1]
    const group = new Map()
    for (; i < events.length && events[i][1] === at; i++) {
      const key = events[i][0]
      group.set(key, (group.get(key) ?? 0) + 1)
    }
    try {
      buckets.recordMany(group, at, nowMs)
    } catch (e) {
      if (!(e instanceof ShardtallyError)) throw e
      for (const [key, count] of group) {
        try {
          buckets.recordCount(key, count, at, nowMs)
        } catch (e2) {
          if (!(e2 instanceof ShardtallyError)) throw e2
          rejected += count
        }
      }
    }
  }
  return rejected
}

const decoder = new TextDecoder()

/** Request keys remembered by method and route (see `RequestCounter#key`) before starting over. */
const KEY_MEMO = 4096

/** `[key, atMs]` of an outbox message (`"<atMs> <key>"`). */
function decodeEvent(message) {
  const text = decoder.decode(message)
  const space = text.indexOf(' ')
  return [text.slice(space + 1), Number(text.slice(0, space))]
}

/** The sink as one async function of the events returning how many the buckets refused. */
function delivery(sink, clock) {
  if (sink instanceof Buckets) return async (events) => recordEvents(sink, events, clock())
  if (sink !== null && typeof sink === 'object' && typeof sink.apply === 'function') {
    return async (events) => sink.apply((buckets) => recordEvents(buckets, events, clock()))
  }
  if (typeof sink === 'function') {
    return async (events) => {
      await sink(events)
      return 0
    }
  }
  throw new TypeError(`sink must be a Buckets, a store with apply(fn) or an async function, got ${sink === null ? 'null' : typeof sink}`)
}

/**
 * Records requests into an outbox and delivers them to a sink in the background.
 * See index.d.ts for the options and their defaults.
 */
class RequestCounter {
  constructor(sink, options = {}) {
    const { route = defaultRoute, flushIntervalMs = 1000, maxKeyBytes = 256, clock = Date.now, outbox = {}, onGaveUp } = options
    if (!Number.isSafeInteger(flushIntervalMs) || flushIntervalMs < 0) throw new RangeError(`flushIntervalMs must be a non-negative integer, got ${flushIntervalMs}`)
    if (!Number.isSafeInteger(maxKeyBytes) || maxKeyBytes < 1 || maxKeyBytes > 4294967295) throw new RangeError(`maxKeyBytes must be an integer in 1..=4294967295, got ${maxKeyBytes}`)
    if (typeof route !== 'function') throw new TypeError('route must be a function')
    this._outbox = new Outbox({ capacity: 8192, maxInFlight: 1024, seed: Math.floor(Math.random() * 2 ** 53), ...outbox })
    this._window = outbox.maxInFlight ?? 1024
    this._sendTimeoutMs = outbox.sendTimeoutMs ?? 30_000
    this._deliver = delivery(sink, clock)
    this._reconnect = sink !== null && typeof sink === 'object' && typeof sink.reconnect === 'function' ? () => sink.reconnect() : null
    this._route = route
    this._interval = flushIntervalMs
    this._maxKeyBytes = maxKeyBytes
    this._keys = new Map() // method → Map(route → key)
    this._memoized = 0
    this._clock = clock
    this._onGaveUp = onGaveUp ?? null
    this._requests = this._skipped = this._routeErrors = 0
    this._rejected = this._batches = this._reconnectErrors = 0
    this._unsent = 0 // offers queued since the last delivery
    this._since = null // when the first of them was recorded
    this._lastId = 0
    this._running = null // the sender's promise
    this._wakeUp = null
    this._flushes = [] // [last id to deliver, resolve]
    this._closing = false
    /** `(req, res, next)`: counts the request, then calls `next()` (when given). */
    this.middleware = (req, res, next) => {
      try {
        this.countRequest(req.method, requestPath(req), req)
      } catch {
        // a counter must never fail a request
      }
      if (typeof next === 'function') next()
    }
  }

  /**
   * Counts a request under `requestKey(method, route(path, req))`; whether it was queued. A
   * hook that throws, or returns something other than a string (or `null`), is counted in
   * `routeErrors`.
   */
  countRequest(method, path, req) {
    this._requests++
    let key
    try {
      const route = this._route(path, req)
      if (route === null || route === undefined) {
        this._skipped++
        return false
      }
      key = this._key(method, route)
    } catch {
      this._routeErrors++
      return false
    }
    return this.record(key)
  }

  /** Offers one event of `key` at the clock's time; whether it was queued (else dropped, counted). */
  record(key) {
    const now = this._clock()
    const outcome = this._outbox.offer(Buffer.from(`${now} ${key}`), now)
    if (outcome.type !== 'queued') return false
    this._lastId = Number(outcome.id)
    if (++this._unsent === 1) {
      this._since = now
      this._wake()
    } else if (this._unsent === this._window) {
      this._wake()
    }
    if (this._running === null && !this._closing) this._start()
    return true
  }

  /** Starts the background sender (also done by the first record). */
  start() {
    if (this._running === null) this._start()
  }

  /** Delivers everything recorded so far now; resolves once each of those events was delivered or dropped. */
  flush() {
    const target = this._lastId
    if (this._firstHeld() > target) return Promise.resolve()
    if (this._running === null) this._start()
    return new Promise((resolve) => {
      this._flushes.push([target, resolve])
      this._wake()
    })
  }

  /** Stops taking requests (later ones are dropped, counted as closed), delivers what is held, stops the sender. */
  async close() {
    if (!this._closing) {
      this._closing = true
      this._outbox.close(this._clock())
    }
    if (this._running === null) this._start()
    this._wake()
    await this._running
  }

  /** What the counter did so far. */
  stats() {
    const o = this._outbox.stats()
    const n = (v) => Number(v)
    const s = {
      requests: this._requests,
      skipped: this._skipped,
      routeErrors: this._routeErrors,
      offered: n(o.offered),
      delivered: n(o.delivered),
      droppedFull: n(o.droppedFull),
      droppedClosed: n(o.droppedClosed),
      droppedTooLarge: n(o.droppedTooLarge),
      gaveUp: n(o.gaveUp),
      dropped: 0,
      held: this._outbox.len(),
      rejected: this._rejected,
      batches: this._batches,
      failures: n(o.failures),
      resends: n(o.resends),
      reconnects: n(o.reconnects),
      reconnectErrors: this._reconnectErrors,
    }
    s.dropped = s.droppedFull + s.droppedClosed + s.droppedTooLarge + s.gaveUp
    return s
  }

  /**
   * `requestKey(method, route, maxKeyBytes)`, remembered: the function is pure and a
   * service has few routes (what route hooks are for), so most requests skip a crossing into
   * the engine, whose string arguments cost more than the lookup. At most `KEY_MEMO` keys
   * are held; then it starts over.
   */
  _key(method, route) {
    const byRoute = this._keys.get(method)
    const known = byRoute?.get(route)
    if (known !== undefined) return known
    const key = requestKey(method, route, this._maxKeyBytes) // throws for a non-string
    if (this._memoized >= KEY_MEMO) {
      this._keys.clear()
      this._memoized = 0
    }
    const routes = this._keys.get(method) ?? new Map()
    if (routes.size === 0) this._keys.set(method, routes)
    routes.set(route, key)
    this._memoized++
    return key
  }

  // ----- the sender -----

  _start() {
    this._running = this._run()
  }

  _wake() {
    const wake = this._wakeUp
    if (wake !== null) {
      this._wakeUp = null
      wake()
    }
  }

  /** The lowest id still held (re-sends come first among the queued ids and are the older ones). */
  _firstHeld() {
    if (this._outbox.isEmpty()) return this._lastId + 1
    const ids = [...this._outbox.inFlightIds().slice(0, 1), ...this._outbox.queuedIds().slice(0, 1)].map(Number)
    return Math.min(...ids)
  }

  async _run() {
    const outbox = this._outbox
    let ready = []
    for (;;) {
      const now = this._clock()
      const deadline = outbox.pollTimeout()
      if (deadline !== null && deadline <= now) outbox.handleTimeout(now)
      let drained = false
      for (let out = outbox.pollOutput(); out !== null; out = outbox.pollOutput()) {
        if (out.type === 'send') ready.push(out)
        else if (out.type === 'reconnect') await this._reconnectSink()
        else if (out.type === 'gave_up') this._gaveUp(out)
        else if (out.type === 'drained') drained = true
      }
      if (ready.length > 0) {
        if (this._since === null) this._since = now
        const due =
          this._closing || this._flushes.length > 0 || ready.length >= this._window || now >= this._since + this._interval || ready[0].attempt > 1
        if (due) {
          const batch = ready
          ready = []
          this._unsent = 0
          this._since = null
          await this._send(batch)
          continue
        }
      }
      if (this._flushes.length > 0) this._finishFlushes(this._firstHeld())
      if (drained) return
      // Sleep until the next deadline (the outbox's, or the lingering batch's) or a wake.
      let wait = null
      const next = outbox.pollTimeout()
      if (next !== null) wait = Math.max(0, next - now)
      if (ready.length > 0) {
        const linger = Math.max(0, this._since + this._interval - now)
        wait = wait === null ? linger : Math.min(wait, linger)
      }
      let timer = null
      await new Promise((resolve) => {
        this._wakeUp = resolve
        if (wait !== null) timer = setTimeout(() => this._wake(), wait)
      })
      if (timer !== null) clearTimeout(timer)
    }
  }

  async _send(batch) {
    const events = batch.map((out) => decodeEvent(out.message))
    this._batches++
    let ok = true
    let rejected = 0
    let timer
    try {
      rejected = await Promise.race([
        this._deliver(events),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('the sink did not answer in time')), this._sendTimeoutMs)
        }),
      ])
    } catch {
      ok = false
    } finally {
      clearTimeout(timer)
    }
    this._rejected += rejected
    const now = this._clock()
    for (const out of batch) {
      if (ok) this._outbox.sent(out.id, now)
      else this._outbox.failed(out.id, now)
    }
  }

  async _reconnectSink() {
    if (this._reconnect === null) return
    try {
      await this._reconnect()
    } catch {
      this._reconnectErrors++
    }
  }

  _gaveUp(out) {
    if (this._onGaveUp === null) return
    try {
      this._onGaveUp([decodeEvent(out.message)])
    } catch {
      // the caller's hook must not stop the sender
    }
  }

  _finishFlushes(firstHeld) {
    const waiting = []
    for (const [target, resolve] of this._flushes) {
      if (target < firstHeld) resolve()
      else waiting.push([target, resolve])
    }
    this._flushes = waiting
  }
}

/**
 * A `(req, res, next)` middleware counting into a new RequestCounter (`requestCounter(sink,
 * options)`); the counter is its `counter` property, with `stats()`, `flush()` and `close()`
 * also on the function.
 */
function requestCounter(sink, options) {
  const counter = new RequestCounter(sink, options)
  const middleware = counter.middleware
  middleware.counter = counter
  middleware.stats = () => counter.stats()
  middleware.flush = () => counter.flush()
  middleware.close = () => counter.close()
  return middleware
}

exports.RequestCounter = RequestCounter
exports.requestCounter = requestCounter
exports.defaultRoute = defaultRoute
exports.requestPath = requestPath
exports.requestKey = requestKey
exports.recordEvents = recordEvents
