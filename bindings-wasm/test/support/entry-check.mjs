// Loads the package through the entry named by argv[2] (a specifier), runs one batch
// through a shard and a global, and prints what it saw as JSON.
const specifier = process.argv[2];
const { Shard, Global, ShardtallyError } = await import(specifier);
const shard = new Shard({ shard: 0, incarnation: 1 });
const global = new Global();
shard.increments({ x: 2, y: 3 }, 0);
shard.flush(0);
const batch = shard.pollOutput();
const ack = global.handleBatch(batch.bytes, 1);
let code = null;
try {
  shard.increment('', 1, 2);
} catch (err) {
  code = err instanceof ShardtallyError ? err.code : `not a ShardtallyError: ${err}`;
}
console.log(JSON.stringify({
  resolved: import.meta.resolve(specifier),
  acked: shard.handleAck(ack.bytes, 1),
  totals: global.totals(),
  code,
}));
