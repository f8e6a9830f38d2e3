'use strict'
// The CommonJS entry of `shardtally` (index.mjs re-exports it for `import`): the shared
// JavaScript API (api.js, copied from bindings-js/src at build time) over the napi-rs addon
// (binding.js, written by `napi build`). Types: index.d.ts (also from bindings-js).
const api = require('./api.js').makeApi(require('./binding.js'))

// One assignment per name, so Node's ESM loader sees them as named exports too.
exports.Shard = api.Shard
exports.Global = api.Global
exports.Router = api.Router
exports.Gateway = api.Gateway
exports.Membership = api.Membership
exports.Buckets = api.Buckets
exports.Outbox = api.Outbox
exports.ShardtallyError = api.ShardtallyError
exports.keyHash = api.keyHash
exports.jumpHash = api.jumpHash
exports.knuthHash = api.knuthHash
exports.ownerMod = api.ownerMod
exports.ownerRange = api.ownerRange
exports.shardRange = api.shardRange
exports.defaultRoute = api.defaultRoute
exports.requestKey = api.requestKey
