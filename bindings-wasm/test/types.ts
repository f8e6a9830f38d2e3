// Compiled with `tsc --noEmit` (strict) by scripts/test.sh: the package's declarations
// accept the documented usage and give the documented result types. Lines after a
// ts-expect-error directive prove that misuse is rejected.
import {
  Global,
  GlobalBuilder,
  Router,
  Shard,
  ShardBuilder,
  ShardtallyError,
  jumpHash,
  keyHash,
  type AckOutput,
  type BatchOutput,
  type FlushOutcome,
  type GlobalConfig,
  type GlobalOutput,
  type PublishOutcome,
  type ResetOutcome,
  type ShardDeadline,
  type ShardSettings,
  type ShardWrites,
  type ShardtallyErrorCode,
  type WriteRecord,
} from 'shardtally-wasm';

const shard = new Shard({ shard: 0, incarnation: 1n, flushAfterRequests: 10, seed: 3 });
const global = new Global({ publishMode: 'changes', upstream: { shard: 9, incarnation: 1 } });
const router = new Router({ strategy: 'pinned', pinnedShard: 0, shardCount: 2 });
// @ts-expect-error shard and incarnation are required
new Shard({ flushAfterRequests: 1 });
// @ts-expect-error publishMode is 'full' | 'changes'
new Global({ publishMode: 'some' });
// @ts-expect-error a misspelt setting (CONFIG_UNKNOWN_SETTING at run time)
new Shard({ shard: 0, incarnation: 1, flushAfterRequest: 10 });
const settings: ShardSettings = { flushAfterRequests: 10, seed: 2n };
Shard.restore(new Shard({ shard: 0, incarnation: 1 }).snapshot(), settings);

const now = Date.now();
shard.increment('x', 1, now);
shard.increment('x', 1n, now);
shard.increments({ a: 1, b: 2n }, now);
shard.increments([['a', 1]], now);
shard.increments(new Map([['a', 1]]), now);
shard.incrementsCoalesced({ a: 3, b: 1n }, 4n, now);
const id: number = shard.intern('hot');
shard.incrementId(id, 1, now);
shard.incrementIds(new Uint32Array([id]), new Float64Array([1]), now);
shard.incrementIds([id], new BigInt64Array([1n]), now);
shard.incrementIds([id], [1, 2n], now);
// @ts-expect-error keys are strings
shard.increment(1, 1, now);

const flushed: FlushOutcome = shard.flush(now);
if (flushed.type === 'sent') {
  const seq: number | bigint = flushed.seq;
  void seq;
}
const out: BatchOutput | null = shard.pollOutput();
if (out !== null) {
  const ack: AckOutput = global.handleBatch(out.bytes, now);
  const matched: boolean = shard.handleAck(ack.bytes, now);
  void matched;
  for (const e of out.entries) {
    const key: string = e.key;
    const delta: number | bigint = e.delta;
    void key, delta;
  }
}
const deadline: ShardDeadline | null = shard.nextDeadline();
const at: number | null = shard.pollTimeout();
void deadline, at;
shard.handleTimeout(now);
shard.handleFailure(1, now);
const dropped: boolean = shard.handleRejection(1, now);
const rejectedEntries: number | bigint = shard.stats().rejectedEntries;
void dropped, rejectedEntries;
const changed: boolean = shard.takeStateChanged();
const snapshot: Uint8Array = shard.snapshot();
const restored: Shard = Shard.restore(snapshot, { flushAfterRequests: 10 });
Shard.restore(snapshot);
void changed, restored;
const key: string | null = shard.keyOf(id);
void key, shard.pending(), shard.pendingDelta('x'), shard.pendingRequests(), shard.pendingKeys(), shard.inFlight();
void shard.generation(), shard.isDraining(), shard.isDrained(), shard.stats().requests, shard.shardRef().shard, shard.drain(now);

const reset: ResetOutcome = global.reset('x', now);
if (reset.type === 'reset') void reset.previous;
const published: PublishOutcome = global.publish(now);
void published;
const gout: GlobalOutput | null = global.pollOutput();
if (gout?.type === 'publish') {
  global.handlePublishAck(gout.version, now);
  global.handlePublishFailure(gout.version, now);
} else if (gout?.type === 'forward') {
  global.handleUpstreamAck(gout.bytes, now);
  global.handleUpstreamFailure(gout.seq, now);
}
global.flushUpstream(now);
global.handleTimeout(now);
const total: number | bigint = global.total('x');
const log: WriteRecord[] = global.writeLog();
const writes: ShardWrites[] = global.shardWrites();
void total, log, writes, global.totals()[0]?.total, global.stats().totalWrites;
void global.publishedVersion(), global.inFlightPublish(), global.lastSeq(0, 1), global.nextDeadline(), global.pollTimeout();
void global.keyGeneration('x'), global.generation(), global.takeStateChanged();
Global.restore(global.snapshot(), { upstream: {} });

const target: number = router.route('x');
const draining: number[] = router.setShardCount(1);
void target, draining, router.draining(), router.markDrained(1), router.shardCount(), router.strategy();
Router.restore(router.snapshot());

const h: bigint = keyHash('x');
const bucket: number = jumpHash(h, 4);
void bucket;

try {
  shard.increment('', 1, now);
} catch (err) {
  if (err instanceof ShardtallyError) {
    const code: ShardtallyErrorCode = err.code;
    const rejectsBatch: boolean = err.rejectsBatch;
    void code, rejectsBatch;
  }
}

// The other machines, the change journal, notices and the partition helpers.
import {
  Buckets,
  Gateway,
  Membership,
  Outbox,
  knuthHash,
  ownerMod,
  ownerRange,
  shardRange,
  defaultRoute,
  requestKey,
  type BucketsRow,
  type GatewayOutput,
  type HashRange,
  type MembershipOutput,
  type OfferOutcome,
  type OutboxOutput,
  type Placement,
  type RowOp,
} from 'shardtally-wasm';

const gateway = new Gateway({ group: 'room', limit: 2 });
const routed = gateway.route('req', now);
if (routed.type === 'pending') {
  const placed: Placement = gateway.handleReplicaCreated(routed.creation, 'r1', now);
  void placed.requests;
}
const gwOut: GatewayOutput | null = gateway.pollOutput();
if (gwOut?.type === 'introduce') void gwOut.peers;
gateway.handleReport('room', 'r1', [['c1', 'req']], now);
void gateway.whisper('room', 'r1', 'c1', 'other'), gateway.replicas(), gateway.sticky('req'), gateway.stats().routes;
// @ts-expect-error a report is a list of [connection, request] pairs
gateway.handleReport('room', 'r1', ['c1'], now);

const membership = new Membership({ reshardIntervalMs: 0 });
membership.register('c', 'h', now);
const mout: MembershipOutput | null = membership.pollOutput();
if (mout?.type === 'shard_changed') void mout.epoch;
Membership.restoreClusters([membership.snapshotCluster('c')!]);

const buckets = new Buckets();
buckets.recordCount('GET /', 2n, now, now);
const rows: BucketsRow[] = buckets.rows();
Buckets.fromRows(rows);
// @ts-expect-error a period is a string
buckets.rollup(2022, now);

const outbox = new Outbox({ capacity: 8 });
const offered: OfferOutcome = outbox.offer(new Uint8Array([1]), now);
const oout: OutboxOutput | null = outbox.pollOutput();
if (oout?.type === 'send') outbox.sent(oout.id, now);
void offered, outbox.queuedIds(), outbox.isDrained();

const ops: RowOp[] = shard.takeChanges();
Shard.fromRows(ops.filter((o) => o.value !== null).map((o): [string, Uint8Array] => [o.table, o.value!]), settings);
const shardBuilder = new ShardBuilder(settings);
shardBuilder.add(ops.filter((o) => o.value !== null).map((o): [string, Uint8Array] => [o.table, o.value!]));
const rebuiltShard: Shard = shardBuilder.finish();
const globalBuilder = new GlobalBuilder({ upstream: { flushAfterRequests: 10 } });
// @ts-expect-error a page is stored [table, value] rows
globalBuilder.add([1]);
void rebuiltShard, (): Global => globalBuilder.finish();
const gnotice = global.generationNotice('x', 0, 1);
shard.handleGenerationNotice(gnotice, now);
global.handleGenerationNotice(gnotice.bytes, now);
const range: HashRange | null = shardRange(0, 2);
void range, knuthHash(1), ownerMod(1n, 2), ownerRange(h, 2);
const bucketKey: string = requestKey('GET', defaultRoute('/users/1'), 64);
void bucketKey, requestKey('GET', '/');
// config(): every setting, as the restore options take them.
const shardConfig: Required<ShardSettings> = shard.config();
Shard.restore(shard.snapshot(), shardConfig);
const globalConfig: GlobalConfig = global.config();
Global.restore(global.snapshot(), globalConfig);
const tieredUpstream: Required<ShardSettings> | undefined = globalConfig.upstream;
void tieredUpstream;
