// `shardtally/pg` ShardRegistrar with real processes against the PostgreSQL of
// SHARDTALLY_PG_URL: the seed's (postgres-shard-coordinator's) three scenarios, and a holder
// killed with SIGKILL and one rejoining. Each registrar runs in a process of its own
// (pg-agent.mjs); heartbeat 200 ms, grace 1000 ms, reshard 500 ms. Every wait has a deadline;
// nothing sleeps to show that something did not happen.
import { test, afterEach } from 'node:test'
import assert from 'node:assert/strict'
import { Agent, assignments, clusterRow, consistent, drop, needsPg, schemaName } from './pg-helpers.mjs'

let agents = []
let schemas = []
const spawnAgents = (names) => names.map((n) => (agents.push(Agent.node(n)), agents.at(-1)))
const fresh = () => (schemas.push(schemaName()), schemas.at(-1))
afterEach(async () => {
  await Promise.all(agents.map((a) => a.close()))
  for (const s of schemas) await drop(s)
  agents = []
  schemas = []
})

test('sequential three nodes with a stop and a rejoin', needsPg, async () => {
  const schema = fresh()
  const [a1, a2, a3] = spawnAgents(['r1', 'r2', 'r3'])
  const holders = await Promise.all([a1.create('r1', 'a', schema), a2.create('r2', 'a', schema), a3.create('r3', 'a', schema)])

  a1.start('r1')
  assert.deepEqual(await a1.changed('r1'), [0, 1, 1]) // the first joiner gets an index at once

  a2.start('r2') // within one reshard interval: r1 keeps 0
  assert.deepEqual(await a1.changed('r1'), [0, 2, 2])
  assert.deepEqual(await a2.changed('r2'), [1, 2, 2])

  a1.send({ op: 'stop', id: 'r1' }) // no unregister: r2 takes over once r1 expired
  await a1.waitEvent('r1', 'stopped')
  assert.deepEqual(await a2.changed('r2'), [0, 1, 3])

  a1.start('r1') // the same holder comes back: r2 keeps 0
  assert.deepEqual(await a1.changed('r1'), [1, 2, 4])
  assert.deepEqual(await a2.changed('r2'), [0, 2, 4])

  a3.start('r3')
  assert.deepEqual(await Promise.all([a1.changed('r1'), a2.changed('r2'), a3.changed('r3')]), [
    [1, 3, 5],
    [0, 3, 5],
    [2, 3, 5],
  ])
  // The row agrees: by index, r2, r1, r3.
  assert.deepEqual(
    (await assignments(schema, 'a')).map((i) => [i.shard, i.holder]),
    [
      [0, holders[1]],
      [1, holders[0]],
      [2, holders[2]],
    ],
  )
})

test('single node unregister frees the index at once', needsPg, async () => {
  const schema = fresh()
  const [a1, a2] = spawnAgents(['r1', 'r2'])
  await Promise.all([a1.create('r1', 'a', schema), a2.create('r2', 'a', schema)])
  a1.start('r1')
  assert.deepEqual(await a1.changed('r1'), [0, 1, 1])
  a1.send({ op: 'stop', id: 'r1', unregister: true })
  const lost = await a1.waitEvent('r1', 'shard_lost')
  assert.deepEqual([lost.shard, lost.reason], [0, 'unregistered'])
  await a1.waitEvent('r1', 'stopped')
  // No grace period to wait for: the empty cluster gives the next joiner an index at once, in
  // the transaction of its registration: r1 never expired, nothing waited for a reshard.
  a2.start('r2')
  assert.deepEqual(await a2.changed('r2'), [0, 1, 2])
  const { m } = await clusterRow(schema, 'a')
  const { stats } = m.clusterInfo('a')
  assert.deepEqual([stats.unregistrations, stats.expirations, stats.reshards].map(Number), [1, 0, 2])
})

test('two clusters of ten registrars started concurrently', needsPg, async () => {
  const schema = fresh()
  // Four processes of five registrars each, both clusters in every process.
  const procs = spawnAgents(['p0', 'p1', 'p2', 'p3'])
  const regs = []
  for (const c of ['a', 'b']) for (let i = 0; i < 10; i++) regs.push({ c, id: `${c}${i}`, a: procs[(i * 2 + (c === 'b' ? 1 : 0)) % 4] })
  await Promise.all(regs.map(({ c, id, a }) => a.create(id, c, schema)))
  for (const { id, a } of regs) a.start(id)
  for (const c of ['a', 'b']) {
    const final = await Promise.all(regs.filter((r) => r.c === c).map(({ id, a }) => a.reached(id, 10, { timeoutMs: 20_000 })))
    consistent(final, 10)
  }
  // The clusters are independent: each has its own epochs and indices.
  for (const c of ['a', 'b']) assert.deepEqual((await assignments(schema, c)).map((i) => i.shard), [...Array(10).keys()])
})

test('a holder killed with SIGKILL and one rejoining', needsPg, async () => {
  const schema = fresh()
  const procs = spawnAgents(['r0', 'r1', 'r2'])
  await Promise.all(procs.map((a, i) => a.create('r', 'k', schema, { holder: `holder-${i}` })))
  for (const a of procs) a.start('r')
  const latest = await Promise.all(procs.map((a) => a.reached('r', 3)))
  consistent(latest, 3)

  await procs[1].kill() // no unregister, no goodbye: the others notice when its deadline passes
  const survivors = [procs[0], procs[2]]
  // (they may have seen 2 shards already, while joining: wait for a newer epoch)
  const after = await Promise.all(survivors.map((a) => a.reached('r', 2, { since: latest[0].epoch })))
  consistent(after, 2)
  assert.ok(after[0].epoch > latest[0].epoch)

  // A new process with the killed one's holder id rejoins (as a restarted service would).
  const [reborn] = spawnAgents(['r1-again'])
  await reborn.create('r', 'k', schema, { holder: 'holder-1' })
  reborn.start('r')
  const final = await Promise.all([...survivors, reborn].map((a) => a.reached('r', 3, { since: after[0].epoch })))
  consistent(final, 3)
  assert.ok(final[0].epoch > after[0].epoch)
  // Survivors kept their indices (minimal movement); the newcomer took the free one.
  assert.deepEqual([final[0].shard, final[1].shard], [after[0].shard, after[1].shard])
  for (const a of survivors) {
    const epochs = a.seen.filter((e) => e.event === 'shard_changed').map((e) => e.epoch)
    assert.deepEqual(epochs, [...new Set(epochs)].sort((x, y) => x - y), 'epochs only increase')
  }
  const byIndex = [
    ['holder-0', final[0].shard],
    ['holder-2', final[1].shard],
    ['holder-1', final[2].shard],
  ].sort((x, y) => x[1] - y[1])
  assert.deepEqual(
    (await assignments(schema, 'k')).map((i) => [i.holder, i.shard]),
    byIndex,
  )
})
