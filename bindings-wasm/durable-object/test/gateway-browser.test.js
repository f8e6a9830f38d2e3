// The chat example (bindings-wasm/example-chat) in a real browser: three headless Chromium
// pages join one room spread over two replicas (ROOM_LIMIT 2), whisper, message their
// replica and everyone, and the test reads what each page shows. Screenshots of the pages
// are kept in test-artifacts/ (or $SHARDTALLY_ARTIFACTS), not committed.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startGateway } from "./gateway-harness.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "..", "..", "..");
const CHAT = path.join(ROOT, "bindings-wasm", "example-chat", "src", "worker.js");
const ARTIFACTS = process.env.SHARDTALLY_ARTIFACTS ?? path.join(HERE, "..", "test-artifacts");
const CHROMIUM = process.env.SHARDTALLY_CHROMIUM ?? "/usr/bin/chromium";

let gw;
let browser;
let profile;
before(async () => {
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: run sh bindings-wasm/durable-object/scripts/chromium.sh (or set SHARDTALLY_CHROMIUM)`);
  gw = await startGateway({
    entry: CHAT,
    classes: { group: "ChatLobby", replica: "ChatRoom" },
    bindings: { ROOM_LIMIT: "2" },
    alias: { "shardtally-durable-object": path.join(HERE, "..", "src", "index.js") },
  });
  profile = await mkdtemp(path.join(tmpdir(), "shardtally-chromium-"));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 900, height: 560 },
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
});
after(async () => {
  await browser?.close();
  await gw?.dispose();
  if (profile) await rm(profile, { recursive: true, force: true });
});

/** Opens the chat page as `name` and waits until it has joined. */
async function join(name) {
  const page = await browser.newPage();
  await page.goto(new URL(`/?room=lobby&name=${name}`, gw.url).href);
  await page.waitForSelector(`body[data-joined="${name}"]`, { timeout: 10_000 });
  return page;
}

/** Waits until the page's log shows a line containing `text`. */
const shows = (page, text) => page.locator("#log li", { hasText: text }).first().waitFor({ timeout: 10_000 });

/** The chat lines a page shows (messages and errors, not join / leave / user-list notes). */
const chat = (page) =>
  page.$$eval("#log li", (items) => items.filter((li) => ["all", "room", "whisper", "error"].includes(li.dataset.kind)).map((li) => li.textContent));

const users = (page) => page.$$eval("#users li", (items) => items.map((li) => li.textContent));
const status = (page) => page.textContent("#status");

test("three pages chat across two replicas: a whisper, a room message and a message to all reach exactly their readers", async () => {
  const alice = await join("alice");
  const bob = await join("bob");
  const carol = await join("carol");
  const replicaOf = async (page) => /replica (\w+)/.exec(await status(page))[1];
  const [ra, rb, rc] = [await replicaOf(alice), await replicaOf(bob), await replicaOf(carol)];
  assert.equal(ra, rb, "alice and bob fill the first replica");
  assert.notEqual(rc, ra, "carol is on a second replica");

  // The user list comes from gossip between the two replicas.
  await alice.waitForFunction(() => document.querySelectorAll("#users li").length === 3, null, { timeout: 10_000 });
  assert.deepEqual(await users(alice), ["alice", "bob", "carol"]);

  const say = async (page, text) => {
    await page.fill("#text", text);
    await page.press("#text", "Enter");
  };
  await say(alice, "/w carol hi carol");
  await shows(carol, "hi carol");
  await shows(alice, "hi carol");
  await say(alice, "/room just us two");
  await shows(bob, "just us two");
  await shows(alice, "just us two");
  await say(carol, "hello everyone");
  await Promise.all([alice, bob, carol].map((p) => shows(p, "hello everyone")));

  assert.deepEqual(await chat(alice), ["alice → carol (whisper): hi carol", "alice (room): just us two", "carol: hello everyone"]);
  assert.deepEqual(await chat(bob), ["alice (room): just us two", "carol: hello everyone"], "bob never sees the whisper");
  assert.deepEqual(await chat(carol), ["alice → carol (whisper): hi carol", "carol: hello everyone"], "carol is on another replica than the room message");

  await mkdir(ARTIFACTS, { recursive: true });
  for (const [name, page] of [["alice", alice], ["bob", bob], ["carol", carol]]) {
    const file = path.join(ARTIFACTS, `gateway-chat-${name}.png`);
    await page.screenshot({ path: file });
    process.stdout.write(`# screenshot: ${path.relative(ROOT, file)}\n`);
  }

  // A page that leaves is announced to the others.
  await bob.close();
  await shows(alice, "bob left");
  await shows(carol, "bob left");
});
