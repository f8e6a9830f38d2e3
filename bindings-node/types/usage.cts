// How a CommonJS TypeScript user sees the package; type-checked by scripts/test.sh
// (`tsc --noEmit`), not executed.
import shardtally = require('shardtally')

const shard = new shardtally.Shard({ shard: 1, incarnation: 1n })
shard.increment('x', 1, 0)
const deadline: shardtally.ShardDeadline | null = shard.nextDeadline()
export const when: number | bigint | undefined = deadline?.atMs
export const hash: bigint = shardtally.keyHash('x')
export const snapshot: Uint8Array = new shardtally.Router({ shardCount: 3 }).snapshot()
export const settings: shardtally.ShardSettings = { flushAfterRequests: 10 }
// @ts-expect-error a misspelt setting is a type error too (and CONFIG_UNKNOWN_SETTING at run time)
export const misspelt: shardtally.ShardSettings = { flushAfterRequest: 10 }
export const gateway = new shardtally.Gateway({ group: 'lobby' })
export const route: shardtally.Route = gateway.route('req', 0)
export const range: shardtally.HashRange | null = shardtally.shardRange(0, 2)
export const ops: shardtally.RowOp[] = shard.takeChanges()
