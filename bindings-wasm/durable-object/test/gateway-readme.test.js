// The example of README.md's "WebSocket gateway" section runs as written: it is extracted,
// bundled and started in workerd, and two clients use it.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startGateway } from "./gateway-harness.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
let gw;
let dir;
after(async () => {
  await gw?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test("the README's gateway example: joins, a message to all, a whisper and a leave", async () => {
  const readme = await readFile(path.join(HERE, "..", "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("\n## WebSocket gateway"));
  const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(code?.includes("gatewayWorker"), "the section has a js example");
  dir = await mkdtemp(path.join(tmpdir(), "shardtally-readme-"));
  const entry = path.join(dir, "worker.js");
  await writeFile(entry, code);
  gw = await startGateway({
    entry,
    classes: { group: "Lobby", replica: "Room" },
    alias: { "shardtally-durable-object": path.join(HERE, "..", "src", "index.js") },
  });
  const alice = await gw.connectRaw("alice", { group: "lobby" });
  const bob = await gw.connectRaw("bob", { group: "lobby" });
  await alice.next((m) => m.type === "joined" && m.user === "bob");
  alice.send({ text: "hello" });
  await Promise.all([alice, bob].map((c) => c.next((m) => m.from === "alice" && m.text === "hello")));
  bob.send({ to: "alice", text: "psst" });
  await alice.next((m) => m.from === "bob" && m.text === "psst");
  await bob.close();
  await alice.next((m) => m.type === "left" && m.user === "bob");
  assert.equal(bob.received((m) => m.text === "psst").length, 0, "the whisper went to alice only");
});
