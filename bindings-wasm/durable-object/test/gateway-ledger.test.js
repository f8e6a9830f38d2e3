// The group's ledger in real Durable Object storage: a snapshot above one value is split
// into chunks and read back whole; a shorter one removes the chunks a longer one left; one
// too large for an atomic write is refused before anything is written.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { plain, startGateway } from "./gateway-harness.js";

let gw;
after(() => gw?.dispose());

test("ledgers of one value, of three chunks, of one value again, and one too large", async () => {
  gw = await startGateway();
  const KiB = 1024;
  const [small, big, again, huge] = await plain(gw.group("ledger-probe").ledgerRoundTrips([10 * KiB, 300 * KiB, 5 * KiB, 128 * 120 * KiB]));
  assert.deepEqual(small, { size: 10 * KiB, same: true, keys: ["probe"], writes: 1 });
  assert.deepEqual(big, { size: 300 * KiB, same: true, keys: ["probe", "probe:0", "probe:1", "probe:2"], writes: 4 });
  assert.deepEqual(again, { size: 5 * KiB, same: true, keys: ["probe"], writes: 4 }, "one put and three deletions");
  assert.deepEqual(huge, { size: 128 * 120 * KiB, error: "LEDGER_TOO_LARGE" });
});
