// Test utilities: the workerd runner and polling.
export { COMPATIBILITY_DATE, bundleWorker, startWorker } from "../dev/workerd.js";

/** Resolves after `ms` milliseconds. */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` (async, returns truthy when done) every 20 ms until it passes or `ms` pass. */
export async function waitFor(check, ms = 5000, what = "condition") {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    last = await check();
    if (last) return last;
    await sleep(20);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}
