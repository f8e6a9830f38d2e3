// The README's machine examples run as written (bindings-js/test/readme.mjs).
import { readmeTests, topReadmeTests } from '../../bindings-js/test/readme.mjs'

readmeTests('shardtally', import.meta.resolve('shardtally'))

topReadmeTests('shardtally', import.meta.resolve('shardtally'))
