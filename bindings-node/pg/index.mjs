// The ES module entry of `shardtally/pg`: the same objects as the CommonJS entry (index.js).
import cjs from './index.js'

export const { ShardRegistrar, BucketsStore, StoreLockedError, dailyTotals, periodTotals, migrate, MigrationError, checkSchema, DEFAULT_SCHEMA } = cjs
export default cjs
