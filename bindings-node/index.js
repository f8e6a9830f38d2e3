'use strict'
// The CommonJS entry of `shardtally` (index.mjs re-exports it for `import`): the shared
// JavaScript API over the napi-rs addon (binding.js, written by `napi build`), built and
// exported name by name by api.js (copied from bindings-js/src at build time with the export
// list, bindings-js/scripts/copy.mjs). Types: index.d.ts (also from bindings-js).
module.exports = require('./api.js')
