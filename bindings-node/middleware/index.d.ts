// Typings of `shardtally/middleware`.
import type { Buckets, OutboxSettings } from '../index'

/** One counted request: `[key, atMs]`. */
export type Event = [key: string, atMs: number]

/** A store of buckets (`BucketsStore` of `shardtally/pg`): runs `fn` on its machine and writes the changes durably, rejecting when it could not. */
export interface BucketsApplier {
  apply<T>(fn: (buckets: Buckets) => T): Promise<T>
  /** Called when the outbox asks for a reconnect after a failure (optional). */
  reconnect?(): Promise<void> | void
}

/** Where batches of events go: a `Buckets` (in process), a store with `apply`, or an async function of the events (rejecting means the delivery failed). */
export type Sink = Buckets | BucketsApplier | ((events: Event[]) => unknown)

/** A request as the middleware reads it: Node's `IncomingMessage`, Express's and Connect's requests. */
export interface RequestLike {
  method?: string
  url?: string
  originalUrl?: string
}

export interface RequestCounterOptions<Req = RequestLike> {
  /** The route of a request path (percent-encoded, without the query), a string; `null` leaves the request out. Default `defaultRoute`. */
  route?: (path: string, req: Req) => string | null | undefined
  /** How long the first recorded event of a batch may wait for others. Default 1000 ms. */
  flushIntervalMs?: number
  /** Longest key in UTF-8 bytes (longer ones are cut). Default 256 (the buckets' default `maxKeyBytes`). */
  maxKeyBytes?: number
  /** The host's clock, ms since the Unix epoch. Default `Date.now`. */
  clock?: () => number
  /** Outbox settings. Defaults: `capacity` 8192, `maxInFlight` 1024 (the largest batch), a random `seed`; the engine's for the rest. */
  outbox?: OutboxSettings
  /** Sees the events dropped after two failed deliveries. */
  onGaveUp?: (events: Event[]) => void
}

/** What a counter did: `requests == skipped + routeErrors + offered`, `offered == delivered + dropped + held`. */
export interface CounterStats {
  /** Requests seen. */
  requests: number
  /** Requests the route hook left out (it returned `null`). */
  skipped: number
  /** Requests not counted because the route hook threw, or returned something other than a string or `null`. */
  routeErrors: number
  /** Events offered to the outbox. */
  offered: number
  /** Events the sink took. */
  delivered: number
  droppedFull: number
  droppedClosed: number
  droppedTooLarge: number
  /** Events dropped after their delivery failed twice. */
  gaveUp: number
  /** Every event dropped: `droppedFull + droppedClosed + droppedTooLarge + gaveUp`. */
  dropped: number
  /** Events in the outbox (waiting, lingering or being delivered). */
  held: number
  /** Of the delivered events, those the buckets refused (see `recordEvents`). */
  rejected: number
  /** Deliveries attempted. */
  batches: number
  /** Events whose delivery failed. */
  failures: number
  /** Events sent a second time. */
  resends: number
  /** Reconnects the outbox asked for. */
  reconnects: number
  /** Reconnects that threw. */
  reconnectErrors: number
}

/** `(req, res, next)` for `http.createServer`, Express and Connect. */
export type Middleware<Req = RequestLike> = (req: Req, res: unknown, next?: (err?: unknown) => void) => void

/** Records requests into an outbox and delivers them to a sink in the background; never blocks or fails a request. */
export declare class RequestCounter<Req = RequestLike> {
  constructor(sink: Sink, options?: RequestCounterOptions<Req>)
  /** Counts the request, then calls `next()` when given. */
  readonly middleware: Middleware<Req>
  /** Counts a request under `requestKey(method, route(path, req))`; whether it was queued. */
  countRequest(method: string, path: string, req?: Req): boolean
  /** Offers one event of `key` at the clock's time; whether it was queued (else dropped, counted). */
  record(key: string): boolean
  /** Starts the background sender (also done by the first record). */
  start(): void
  /** Delivers everything recorded so far now; resolves once each of those events was delivered or dropped. */
  flush(): Promise<void>
  /** Stops taking requests (later ones are dropped, counted as closed), delivers what is held, stops the sender. */
  close(): Promise<void>
  stats(): CounterStats
}

/** A middleware counting into a new `RequestCounter` (its `counter`). */
export declare function requestCounter<Req = RequestLike>(
  sink: Sink,
  options?: RequestCounterOptions<Req>,
): Middleware<Req> & { counter: RequestCounter<Req>; stats(): CounterStats; flush(): Promise<void>; close(): Promise<void> }
/** The request's path as sent (percent-encoded), without the query. */
export declare function requestPath(req: RequestLike): string
/** Records events into `buckets` (runs of equal times as one `recordMany`); returns how many the engine refused. */
export declare function recordEvents(buckets: Buckets, events: Event[], nowMs: number): number
/** The engine's request-key rule (`shardtally`'s), re-exported: numeric segments `:id`, UUID segments `:uuid`; `"METHOD route"` with `OTHER` for unknown methods, cut to `maxKeyBytes`. */
export { defaultRoute, requestKey } from '../index'
