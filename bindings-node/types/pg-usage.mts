// How an ES module TypeScript user writes against `shardtally/pg`; type-checked by
// scripts/test.sh (`tsc --noEmit`), not executed.
import { ShardtallyError } from 'shardtally'
import { ShardRegistrar, migrate, MigrationError, DEFAULT_SCHEMA, type RegistrarShardInfo, type ShardLostEvent } from 'shardtally/pg'

const registrar = new ShardRegistrar({
  connectionString: 'postgresql://localhost/app',
  cluster: 'workers',
  schema: DEFAULT_SCHEMA,
  heartbeatIntervalMs: 1000,
  gracePeriodMs: 3000,
  reshardIntervalMs: 5000,
})
registrar.on('shardChanged', ({ shard, numShards, epoch }: RegistrarShardInfo) => {
  const fencingToken: number = epoch
  console.log(`shard ${shard} of ${numShards} (epoch ${fencingToken})`)
})
registrar.on('shardLost', (lost: ShardLostEvent) => {
  const why: 'expired' | 'unregistered' = lost.reason
  console.log(why)
})
registrar.on('error', (err: Error) => console.error(err.message))

export async function main(): Promise<void> {
  await registrar.start()
  try {
    const info: RegistrarShardInfo = registrar.shardInfo()
    console.log(info.shard, info.numShards, registrar.holder, registrar.running)
  } catch (err) {
    if (err instanceof ShardtallyError && err.code === 'NOT_ASSIGNED') console.log('waiting for an index')
  }
  await registrar.stop({ unregister: true })
}

export async function migrateOnly(pool: { connect(): Promise<any>; query(text: string): Promise<{ rows: any[] }>; options: { connectionString?: string }; totalCount: number }): Promise<number[]> {
  try {
    return await migrate(pool, { schema: 'app_shards' })
  } catch (err) {
    if (err instanceof MigrationError) console.error(err.code)
    throw err
  }
}

// @ts-expect-error: one connection is required
new ShardRegistrar({ cluster: 'workers' })
// @ts-expect-error: a misspelt setting is a type error (and an engine error at runtime)
new ShardRegistrar({ connectionString: 'x', cluster: 'workers', heartbeatIntervallMs: 5 })
