// The shared regression tests (bindings-js/test/regressions.mjs) against this package.
import * as api from 'shardtally'
import { regressionTests } from '../../bindings-js/test/regressions.mjs'

regressionTests(api)
