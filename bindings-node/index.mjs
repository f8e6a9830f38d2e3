// The ES module entry of `shardtally`: the same objects as the CommonJS entry (index.js).
import cjs from './index.js'

export const { Shard, Global, Router, Gateway, Membership, Buckets, Outbox, ShardtallyError, keyHash, jumpHash, knuthHash, ownerMod, ownerRange, shardRange, defaultRoute, requestKey } = cjs
export default cjs
