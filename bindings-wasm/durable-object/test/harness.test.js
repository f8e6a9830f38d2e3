// The harness itself: a plain Durable Object runs in workerd, persists, gets its alarm;
// and the engine package loads there (CompiledWasm through the `workerd` export
// condition) and computes exactly what it computes in Node.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { jumpHash, keyHash } from "shardtally-wasm";
import { startWorker, waitFor } from "./harness.js";

let worker;
before(async () => {
  worker = await startWorker({
    entry: fileURLToPath(new URL("./workers/trivial.js", import.meta.url)),
    durableObjects: { TALLY: "Tally", HASHER: "Hasher" },
  });
});
after(() => worker?.dispose());

test("a Durable Object in workerd keeps storage across requests", async () => {
  await Promise.all(Array.from({ length: 50 }, () => worker.request("POST", "/add", "2")));
  const { json } = await worker.request("GET", "/");
  assert.equal(json.value, 100);
});

test("an alarm set by a Durable Object fires in workerd", async () => {
  await worker.request("POST", "/alarm", "30");
  const state = await waitFor(async () => {
    const { json } = await worker.request("GET", "/");
    return json.alarmed === 1 && json;
  }, 3000, "the alarm");
  assert.equal(state.alarmed, 1);
});

test("the wasm engine runs inside a Durable Object and agrees with Node", async () => {
  const keys = ["a", "page:/home", "ünïcode", "x".repeat(256)];
  const { status, json } = await worker.request("POST", "/hash", { keys, buckets: 7 });
  assert.equal(status, 200);
  assert.deepEqual(
    json,
    keys.map((key) => ({ key, hash: keyHash(key).toString(), bucket: jumpHash(keyHash(key), 7) })),
  );
  assert.ok(json.every((p) => p.bucket >= 0 && p.bucket < 7));
});
