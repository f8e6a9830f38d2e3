// Node and Python registrars share one cluster: the same schema, the same row, the same
// notifications. The Python processes come from the venv bindings-python/scripts/test.sh
// builds (`make test` runs it first; SHARDTALLY_PY_VENV names another); without it the test
// fails, saying how to build it.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { Membership } from 'shardtally'
import { payload } from '../pg/registrar.js'
import { Agent, PG_URL, assignments, consistent, drop, needsPg, pythonOfVenv, schemaName } from './pg-helpers.mjs'

const agents = []
const schema = schemaName()
after(async () => {
  await Promise.all(agents.map((a) => a.close()))
  if (PG_URL) await drop(schema)
})

test('Node and Python registrars share a cluster, through a SIGKILL and a rejoin', needsPg, async () => {
  const node1 = Agent.node('node-1')
  const py = Agent.python('python')
  const node2 = Agent.node('node-2')
  agents.push(node1, py, node2)
  await Promise.all([node1.create('r', 'mixed', schema), py.create('r', 'mixed', schema, { holder: 'py' }), node2.create('r', 'mixed', schema)])

  node1.start('r') // Node migrates and creates the cluster
  assert.deepEqual(await node1.changed('r'), [0, 1, 1])
  py.start('r') // Python finds the schema up to date and joins
  assert.deepEqual(await Promise.all([node1.changed('r'), py.changed('r')]), [
    [0, 2, 2],
    [1, 2, 2],
  ])
  node2.start('r')
  const three = await Promise.all([node1, py, node2].map((a) => a.reached('r', 3)))
  consistent(three, 3)

  await py.kill()
  const two = await Promise.all([node1, node2].map((a) => a.reached('r', 2, { since: three[0].epoch })))
  consistent(two, 2)
  assert.ok(two[0].epoch > three[0].epoch)

  const py2 = Agent.python('python-again')
  agents.push(py2)
  await py2.create('r', 'mixed', schema, { holder: 'py' })
  py2.start('r')
  const again = await Promise.all([node1, node2, py2].map((a) => a.reached('r', 3, { since: two[0].epoch })))
  consistent(again, 3)
  assert.ok(again[0].epoch > two[0].epoch)
  assert.deepEqual((await assignments(schema, 'mixed')).map((i) => i.shard), [0, 1, 2])
})

test('both registrars write the same NOTIFY payloads (the canonical JSON form of the outputs)', () => {
  const m = new Membership({ gracePeriodMs: 1, heartbeatIntervalMs: 1 })
  m.register('c\u00e9', 'h\u2028"1"', 0)
  m.register('c\u00e9', 'h2', 0)
  m.handleTimeout(10) // both expire: the first one had an index
  const outputs = []
  for (let o = m.pollOutput(); o !== null; o = m.pollOutput()) outputs.push(o)
  assert.deepEqual(outputs.map((o) => o.type), ['shard_changed', 'shard_lost'])
  const script = `
import json, sys
from shardtally import ShardChanged, ShardLost
from shardtally.pg.registrar import payload
out = []
for o in json.load(sys.stdin):
    args = (o["cluster"], o["holder"], o["shard"], o["numShards"], o["epoch"])
    out.append(payload(ShardLost(*args, o["reason"]) if o["type"] == "shard_lost" else ShardChanged(*args)))
print(json.dumps(out))`
  const python = JSON.parse(execFileSync(pythonOfVenv(), ['-c', script], { input: JSON.stringify(outputs), encoding: 'utf8' }))
  assert.deepEqual(python, outputs.map(payload))
  assert.equal(JSON.parse(python[1]).reason, 'expired')
})
