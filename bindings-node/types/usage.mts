// How an ES module TypeScript user writes against the package; type-checked by
// scripts/test.sh (`tsc --noEmit`), not executed.
import { Global, Router, Shard, ShardtallyError, type BatchOutput, type GlobalOutput, type ShardOptions, type ShardtallyErrorCode, type ShardWrites } from 'shardtally'

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
