// How an ES module TypeScript user writes against the package; type-checked by
// scripts/test.sh (`tsc --noEmit`), not executed.
import { Global, GlobalBuilder, Router, Shard, ShardBuilder, ShardtallyError, type BatchOutput, type GlobalOutput, type ShardOptions, type ShardtallyErrorCode, type ShardWrites } from 'shardtally'

const options: ShardOptions = { shard: 0, incarnation: Date.now(), flushAfterRequests: 500 }
const router = new Router({ strategy: 'hash', shardCount: 2 })
const shards: Shard[] = [0, 1].map((shard) => new Shard({ ...options, shard }))
const global = new Global({ publishMode: 'changes' })
const store = new Map<string, number | bigint>()

function deliver(shard: Shard, batch: BatchOutput, nowMs: number): void {
  let ack
  try {
    ack = global.handleBatch(batch.bytes, nowMs)
  } catch (err) {
    // A batch the global can never apply is dropped (counted in stats()); others are retried.
    if (err instanceof ShardtallyError && err.rejectsBatch) shard.handleRejection(batch.seq, nowMs)
    else shard.handleFailure(batch.seq, nowMs)
    return
  }
  if (ack.duplicate) console.log(`batch ${ack.seq} was already applied`)
  shard.handleAck(ack, nowMs)
  const dropped: number | bigint = shard.stats().rejectedBatches
  if (dropped !== 0) console.log(`${dropped} batches rejected`)
}

function drainGlobal(nowMs: number): void {
  for (let out: GlobalOutput | null = global.pollOutput(); out !== null; out = global.pollOutput()) {
    switch (out.type) {
      case 'publish':
        for (const { key, total } of out.entries) store.set(key, total)
        global.handlePublishAck(out.version, nowMs)
        break
      case 'forward':
        console.log(`forward ${out.entries.length} entries upstream as seq ${out.seq}`)
        break
    }
  }
}

export function increment(key: string, delta: number | bigint, nowMs: number): void {
  const shard = shards[router.route(key)]
  try {
    shard.increment(key, delta, nowMs)
  } catch (err) {
    const code: ShardtallyErrorCode | undefined = err instanceof ShardtallyError ? err.code : undefined
    if (code === 'KEY_TOO_LONG' || code === 'INVALID_KEY') return
    throw err
  }
  for (let batch = shard.pollOutput(); batch !== null; batch = shard.pollOutput()) deliver(shard, batch, nowMs)
  drainGlobal(nowMs)
}

export function onTimer(nowMs: number): number | null {
  let next: number | null = null
  for (const shard of shards) {
    shard.handleTimeout(nowMs)
    for (let batch = shard.pollOutput(); batch !== null; batch = shard.pollOutput()) deliver(shard, batch, nowMs)
    const t = shard.pollTimeout()
    if (t !== null && (next === null || t < next)) next = t
  }
  global.handleTimeout(nowMs)
  drainGlobal(nowMs)
  const g = global.pollTimeout()
  return g !== null && (next === null || g < next) ? g : next
}

export function hotLoop(nowMs: number): void {
  const shard = shards[0]
  const ids = Uint32Array.from(['a', 'b'].map((k) => shard.intern(k)))
  shard.incrementIds(ids, new Float64Array([1, 2]), nowMs)
  shard.increments({ a: 1, b: 2n }, nowMs)
  shard.incrementsCoalesced([['a', 3], ['b', 1n]], 4, nowMs)
  const outcome = shard.flush(nowMs)
  if (outcome.type !== 'nothing_pending') console.log(`batch ${outcome.seq}`)
  const reset = global.reset('a', nowMs)
  if (reset.type === 'reset') console.log(reset.previous, reset.generation)
  const restored: Shard = Shard.restore(shard.snapshot(), { flushAfterRequests: 500 })
  const writes: ShardWrites[] = global.shardWrites()
  void restored, writes
  // @ts-expect-error the identity is in the snapshot, not in the restore options
  Shard.restore(shard.snapshot(), { shard: 1 })
  // @ts-expect-error publishMode is 'full' | 'changes'
  new Global({ publishMode: 'partial' })
}

// The other machines, the change journal, notices and the partition helpers.
import {
  Buckets,
  Gateway,
  Membership,
  Outbox,
  keyHash,
  knuthHash,
  ownerMod,
  ownerRange,
  shardRange,
  defaultRoute,
  requestKey,
  type BucketsChange,
  type Delivery,
  type GatewayOutput,
  type GlobalConfig,
  type HashRange,
  type MembershipOutput,
  type OutboxOutput,
  type OutboxSettings,
  type RowOp,
  type ShardInfo,
} from 'shardtally'

export function gatewayHost(nowMs: number): Delivery[] {
  const gateway = new Gateway({ group: 'lobby', limit: 50, retireAfterIdleMs: 60_000 })
  const route = gateway.route('req-1', nowMs)
  if (route.type === 'pending') gateway.handleReplicaCreated(route.creation, 'replica-1', nowMs)
  else console.log(route.replica, route.reason, route.expiresAt)
  for (let out: GatewayOutput | null = gateway.pollOutput(); out !== null; out = gateway.pollOutput()) {
    if (out.type === 'create_replica') gateway.handleCreationFailed(out.creation, nowMs)
    else if (out.type === 'gossip_done') for (const { peer, payload } of out.replies) console.log(peer, payload.length)
  }
  const connected = gateway.handleConnect('lobby', 'replica-1', 'conn-1', 'req-1', nowMs)
  if (connected.type === 'unreserved') console.log('no reservation was used')
  gateway.handleReport('lobby', 'replica-1', [['conn-1', 'req-1']], nowMs)
  const plan = gateway.gossip('lobby', 'replica-1', nowMs)
  gateway.handleGossipReply('lobby', plan.gossip, 'replica-2', new Uint8Array([1]), nowMs)
  // @ts-expect-error includeSender is a boolean
  gateway.emit('lobby', 'replica-1', 'conn-1', 1)
  // @ts-expect-error the group is required
  new Gateway({ limit: 5 })
  return gateway.broadcast('lobby', 'replica-1', 'conn-1', false)
}

export function membershipHost(nowMs: number): ShardInfo | null {
  const m = new Membership({ heartbeatIntervalMs: 1000, assignment: 'minimal' })
  m.register('workers', 'host-a', nowMs)
  for (let out: MembershipOutput | null = m.pollOutput(); out !== null; out = m.pollOutput()) {
    if (out.type === 'shard_lost') console.log(out.reason)
    else console.log(out.shard, out.numShards, out.epoch)
  }
  const rows: Uint8Array[] = m.takeChangedClusters().flatMap((c) => m.snapshotCluster(c) ?? [])
  const restored = Membership.restoreClusters(rows, { heartbeatIntervalMs: 1000 })
  // @ts-expect-error assignment is 'minimal' | 'compact'
  new Membership({ assignment: 'random' })
  return restored.clusterInfo('workers') ? restored.shardInfo('workers', 'host-a', nowMs) : null
}

export function bucketsHost(nowMs: number): void {
  const b = new Buckets({ utcOffsetMinutes: -300 })
  const outcome = b.record('GET /users', nowMs, nowMs)
  if (outcome.type === 'too_old') console.log('dropped', outcome.day)
  b.recordMany({ 'GET /a': 2, 'POST /b': 1n }, nowMs, nowMs)
  b.rollup(b.dayOf(nowMs), nowMs)
  for (const { day, key, total } of b.dailyTotals('2022-10-01', '2022-10-31')) console.log(day, key, total)
  const changes: BucketsChange[] = b.takeChanges()
  for (const c of changes) if (c.type === 'meta') console.log(c.bytes.length, c.stats.records)
  Buckets.fromRows(b.rows(), { utcOffsetMinutes: -300 })
  Buckets.fromRows([{ type: 'raw', day: '2022-10-17', key: 'GET /a', count: 3n }])
}

export function outboxHost(nowMs: number, send: (m: Uint8Array) => void): void {
  const o = new Outbox({ capacity: 1024, seed: 7 })
  const offered = o.offer(new TextEncoder().encode('{"n":1}'), nowMs)
  if (offered.type === 'dropped') console.log(offered.reason)
  for (let out: OutboxOutput | null = o.pollOutput(); out !== null; out = o.pollOutput()) {
    if (out.type === 'send') send(out.message)
    else if (out.type === 'gave_up') console.log('gave up', out.id)
  }
  o.sent(1, nowMs)
  const held: number = o.len()
  void held
}

export function journal(shard: Shard, nowMs: number): HashRange | null {
  const ops: RowOp[] = shard.takeChanges()
  for (const { op, table, key, value } of ops) if (op === 'put' && value !== null) console.log(table, key.length, value.length)
  const back: Shard = Shard.fromRows(shard.rows().map((o): [string, Uint8Array] => [o.table, o.value ?? new Uint8Array(0)]))
  for (let out: GlobalOutput | null = global.pollOutput(); out !== null; out = global.pollOutput()) {
    if (out.type === 'notice') back.handleGenerationNotice(out, nowMs)
  }
  Global.fromRows(global.rows().map((o): [string, Uint8Array] => [o.table, o.value!]))
  const builder = new GlobalBuilder(global.config())
  builder.add(global.rows().map((o): [string, Uint8Array] => [o.table, o.value!]))
  const rebuilt: Global = builder.finish()
  const shardBuilder = new ShardBuilder()
  shardBuilder.add([])
  void rebuilt, (): Shard => shardBuilder.finish()
  void global.generationNotice('a', 0, 1).keys
  void knuthHash(7), ownerMod(keyHash('a'), 4), ownerRange(1n, 4)
  const key: string = requestKey('GET', defaultRoute('/users/1'), 64)
  void key, requestKey('GET', '/')
  const config: GlobalConfig = global.config()
  Global.restore(global.snapshot(), config)
  const outbox = new Outbox({ capacity: 4 })
  const outboxConfig: Required<OutboxSettings> = outbox.config()
  void new Outbox(outboxConfig), Shard.restore(back.snapshot(), back.config())
  return shardRange(0, 4)
}
