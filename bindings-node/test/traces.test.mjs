// The golden traces (traces/*.json), replayed through the package: the same files and
// expectations as the Rust engine, Python and WebAssembly (bindings-js/test/traces.mjs).
import * as api from 'shardtally'
import { traceTests } from '../../bindings-js/test/traces.mjs'

traceTests(api)
