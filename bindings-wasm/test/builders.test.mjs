// The shared tests of GlobalBuilder and ShardBuilder (bindings-js/test/builders.mjs) against this package.
import * as api from 'shardtally-wasm';
import { builderTests } from '../../bindings-js/test/builders.mjs';

builderTests(api);
