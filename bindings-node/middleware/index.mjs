// The ES module entry of `shardtally/middleware`: the same objects as the CommonJS entry.
import cjs from './index.js'

export const { RequestCounter, requestCounter, defaultRoute, requestPath, requestKey, recordEvents } = cjs
export default cjs
