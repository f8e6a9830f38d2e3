// The README's machine examples run as written (bindings-js/test/readme.mjs).
import { readmeTests } from '../../bindings-js/test/readme.mjs'

readmeTests('shardtally', import.meta.resolve('shardtally'))
