// The ES module entry of `shardtally`: the same objects as the CommonJS entry (index.js).
export * from './index.js'
export { default } from './index.js'
