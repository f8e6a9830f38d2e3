// A global that fails its first batch calls (before applying, and after applying with the
// acknowledgement lost) ends with exact totals: shards retry the same batch, the global
// counts it once.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { settle, startCounter } from "./counter-harness.js";

let worker;
before(async () => {
  worker = await startCounter();
});
after(() => worker?.dispose());

async function burst(n, name) {
  const replies = await Promise.all(Array.from({ length: n }, () => worker.request("POST", `/increment/${name}`)));
  assert.ok(replies.every((r) => r.status === 200));
}

test("batches that fail before being applied are retried until counted, once", async () => {
  await worker.request("POST", "/__test/global/fail", { before: 5 });
  await burst(400, "a");
  const s = await settle(worker);
  const { json } = await worker.request("GET", "/global/counters");
  assert.equal(json.a, 400);
  assert.equal(s.global.failed, 5, "the 5 injected failures happened");
  const failures = s.shards.reduce((n, sh) => n + sh.globalFailures, 0);
  assert.equal(failures, 5, "the shards saw them and retried");
  assert.equal(s.global.duplicates, 0);
});

test("batches applied whose acknowledgement is lost are re-sent and not counted twice", async () => {
  await worker.request("POST", "/__test/global/fail", { after: 3 });
  await burst(300, "b");
  const s = await settle(worker);
  const { json } = await worker.request("GET", "/global/counters");
  assert.equal(json.a, 400);
  assert.equal(json.b, 300);
  assert.equal(s.global.failed, 3);
  assert.ok(s.global.duplicates >= 3, `the re-sent batches were recognised (${s.global.duplicates})`);
  const { json: published } = await worker.request("GET", "/counters");
  assert.deepEqual(published, { a: 400, b: 300 });
});
