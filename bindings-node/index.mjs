// The ES module entry of `shardtally`: the same objects as the CommonJS entry (index.js).
import cjs from './index.js'

export const { Shard, Global, Router, ShardtallyError, keyHash, jumpHash } = cjs
export default cjs
