// The shared tests of the gateway, membership, buckets and outbox machines, the journal,
// notices and partition helpers (bindings-js/test/machines.mjs) against this package.
import * as api from 'shardtally'
import { machineTests } from '../../bindings-js/test/machines.mjs'

machineTests(api)
