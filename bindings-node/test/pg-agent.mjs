// A registrar process for the PostgreSQL tests (`node --test` loads it as a file without tests:
// it only serves when started as `node test/pg-agent.mjs --agent URL`).
//
// It hosts `shardtally/pg` ShardRegistrar objects, driven by JSON lines on stdin, and reports
// on stdout, one JSON object per line: the protocol of the Python package's
// tests/test_pg_agent.py, so a test can mix Node and Python processes in one cluster.
// Commands: {op: 'new', id, cluster, schema, holder?, listen?, settings: {snake_case}},
// {op: 'start', id}, {op: 'stop', id, unregister}, {op: 'info', id}, {op: 'exit'}. Reports:
// {id, event: 'shard_changed' | 'shard_lost' | 'error' | 'created' | 'started' | 'stopped' |
// 'info' | 'failed', ...}, and {event: 'ready'} first.
import { createInterface } from 'node:readline'

if (process.argv[2] === '--agent') await serve(process.argv[3])

async function serve(url) {
  const { ShardRegistrar } = await import('shardtally/pg')
  const emit = (record) => process.stdout.write(JSON.stringify(record) + '\n')
  const camel = (s) => s.replace(/_([a-z])/g, (_, c) => c.toUpperCase())
  const registrars = new Map()
  const queues = new Map() // each registrar's commands run in order, others' concurrently

  async function run(cmd) {
    const id = cmd.id ?? ''
    try {
      if (cmd.op === 'new') {
        const settings = Object.fromEntries(Object.entries(cmd.settings ?? {}).map(([k, v]) => [camel(k), v]))
        const r = new ShardRegistrar({ connectionString: url, cluster: cmd.cluster, schema: cmd.schema, holder: cmd.holder ?? undefined, listen: cmd.listen ?? true, ...settings })
        r.on('shardChanged', (i) => emit({ id, event: 'shard_changed', shard: i.shard, num_shards: i.numShards, epoch: i.epoch }))
        r.on('shardLost', (i) => emit({ id, event: 'shard_lost', shard: i.shard, num_shards: i.numShards, epoch: i.epoch, reason: i.reason }))
        r.on('error', (e) => emit({ id, event: 'error', message: String(e && e.message) }))
        registrars.set(id, r)
        emit({ id, event: 'created', holder: r.holder })
      } else if (cmd.op === 'start') {
        await registrars.get(id).start()
        emit({ id, event: 'started' })
      } else if (cmd.op === 'stop') {
        await registrars.get(id).stop({ unregister: Boolean(cmd.unregister) })
        emit({ id, event: 'stopped' })
      } else if (cmd.op === 'info') {
        try {
          const i = registrars.get(id).shardInfo()
          emit({ id, event: 'info', info: { shard: i.shard, num_shards: i.numShards, epoch: i.epoch } })
        } catch (e) {
          emit({ id, event: 'info', info: null, code: e.code })
        }
      }
    } catch (e) {
      emit({ id, event: 'failed', op: cmd.op, message: `${e && e.name}: ${e && e.message}` })
    }
  }

  emit({ event: 'ready' })
  for await (const line of createInterface({ input: process.stdin })) {
    const cmd = JSON.parse(line)
    if (cmd.op === 'exit') break
    const id = cmd.id ?? ''
    const next = (queues.get(id) ?? Promise.resolve()).then(() => run(cmd))
    queues.set(id, next)
  }
  await Promise.all([...registrars.values()].map((r) => r.stop()))
  process.exit(0)
}
