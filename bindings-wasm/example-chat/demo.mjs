// Runs the chat example locally in workerd (Miniflare) on a loopback port, prints its URL,
// and lets two scripted clients chat: a whisper across replicas, a room message, a message
// to all and the user list by gossip. Then it prints what each client saw and what the
// group stored, and exits (0 when every expected message arrived).
//
//   node bindings-wasm/example-chat/demo.mjs            # the scripted run, then exit
//   node bindings-wasm/example-chat/demo.mjs --serve    # then keep serving the page (Ctrl-C stops)
//
// ROOM_LIMIT is 1 here (50 in wrangler.jsonc), so the two clients land on two replicas.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SHIM = path.join(HERE, "..", "durable-object");
const SERVE = process.argv.includes("--serve");
const out = (line = "") => process.stdout.write(`${line}\n`);

// Setup on first use: the wasm package and the shim's npm dependencies (Miniflare, ws).
if (!existsSync(path.join(SHIM, "node_modules", "miniflare")) || !existsSync(path.join(SHIM, "node_modules", "ws")) || !existsSync(path.join(SHIM, "..", "pkg", "shardtally_wasm_bg.wasm"))) {
  out("setting up (builds the wasm package, npm install in bindings-wasm/durable-object) ...");
  execFileSync("sh", [path.join(SHIM, "scripts", "setup.sh")], { stdio: "inherit" });
}
const need = createRequire(path.join(SHIM, "package.json"));
const { Miniflare } = await import(pathToFileURL(need.resolve("miniflare")).href);
const WebSocket = need("ws");
const { COMPATIBILITY_DATE, bundleWorker } = await import(pathToFileURL(path.join(SHIM, "dev", "workerd.js")).href);

const modules = await bundleWorker(path.join(HERE, "src", "worker.js"), {
  alias: { "shardtally-durable-object": path.join(SHIM, "src", "index.js") },
});
const mf = new Miniflare({
  compatibilityDate: COMPATIBILITY_DATE,
  cf: false,
  host: "127.0.0.1",
  port: Number(process.env.PORT ?? 0),
  modulesRoot: path.dirname(modules[0].path),
  modules,
  durableObjects: {
    GATEWAY_GROUP: { className: "ChatLobby", useSQLite: true },
    GATEWAY_REPLICA: { className: "ChatRoom", useSQLite: true },
  },
  bindings: { ROOM_LIMIT: "1" },
});

/** A scripted chat client: keeps every frame, waits for frames by predicate. */
class Client {
  constructor(name, base) {
    const url = new URL("/connect", base);
    url.protocol = "ws:";
    url.searchParams.set("room", "lobby");
    url.searchParams.set("name", name);
    this.name = name;
    this.frames = [];
    this.waiting = [];
    this.ws = new WebSocket(url);
    this.ws.on("message", (data) => {
      const frame = JSON.parse(String(data));
      this.frames.push(frame);
      out(`  ${name.padEnd(5)} <- ${describe(frame)}`);
      for (const w of [...this.waiting]) if (w.pred(frame)) (this.waiting.splice(this.waiting.indexOf(w), 1), w.resolve(frame));
    });
    this.opened = new Promise((resolve, reject) => (this.ws.once("open", resolve), this.ws.once("error", reject)));
  }
  next(pred, what) {
    const have = this.frames.find(pred);
    if (have) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve };
      this.waiting.push(w);
      setTimeout(() => reject(new Error(`${this.name} did not receive ${what} within 5 s`)), 5000).unref();
    });
  }
  say(text) {
    out(`  ${this.name.padEnd(5)} -> ${text}`);
    this.ws.send(text);
  }
}

function describe(f) {
  switch (f.type) {
    case "welcome":
      return `welcome: you are ${f.you} in ${f.room}, on replica ${f.replica}`;
    case "joined":
    case "left":
      return `${f.user} ${f.type}`;
    case "message":
      return f.scope === "whisper" ? `${f.from} -> ${f.to} (whisper): ${f.text}` : `${f.from} (${f.scope}): ${f.text}`;
    case "users":
      return `users: ${f.users.join(", ")}`;
    default:
      return JSON.stringify(f);
  }
}

let ok = false;
try {
  const base = await mf.ready;
  out("shardtally chat demo: the example-chat Worker in workerd (Miniflare), ROOM_LIMIT 1");
  out(`  page:      ${base.href}?name=you   (open it while the demo runs; --serve keeps it up)`);
  out(`  websocket: ws://${base.host}/connect?room=lobby&name=you`);
  const page = await fetch(base);
  const html = await page.text();
  out(`  GET / -> ${page.status}, ${html.length} bytes (${/<title>([^<]*)/.exec(html)?.[1]})`);
  out();

  out("two clients join the room");
  const alice = new Client("alice", base);
  await alice.opened;
  const aliceWelcome = await alice.next((f) => f.type === "welcome", "a welcome");
  const bob = new Client("bob", base);
  await bob.opened;
  const bobWelcome = await bob.next((f) => f.type === "welcome", "a welcome");
  await alice.next((f) => f.type === "joined" && f.user === "bob", "bob's join");
  out();

  out("a whisper crosses replicas: only bob receives it");
  alice.say("/w bob psst, bob");
  await bob.next((f) => f.scope === "whisper" && f.text === "psst, bob", "the whisper");
  await alice.next((f) => f.scope === "whisper", "the whisper's echo");
  out();

  out("a room message stays on the sender's replica (bob is on another one)");
  bob.say("/room anyone on my replica?");
  await bob.next((f) => f.scope === "room", "his room message");
  out();

  out("a message to all reaches every replica");
  bob.say("hello, everyone");
  await Promise.all([alice, bob].map((c) => c.next((f) => f.scope === "all" && f.text === "hello, everyone", "the message to all")));
  out();

  out("the user list, by gossip between the replicas");
  alice.say("/users");
  const users = await alice.next((f) => f.type === "users" && f.users.length === 2, "the user list");
  out();

  const groups = await mf.getDurableObjectNamespace("GATEWAY_GROUP");
  const view = await groups.get(groups.idFromName("lobby")).view();
  out("what the group holds");
  out(`  replicas: ${view.replicas.map((r) => `${r.id.slice(0, 8)} (${r.connections} connection)`).join(", ")}`);
  out(`  storage:  writes ${view.io.storageWrites}, bytes written ${view.io.storageWriteBytes}, ledger now ${view.io.ledgerBytes} bytes, alarms set ${view.io.alarmWrites}`);
  out(`  engine:   routes ${view.stats.routes}, connects ${view.stats.connects}, replicas created ${view.stats.creations}, message plans ${view.host.plans}, gossips ${view.host.gossips}`);
  const roomLeak = alice.frames.some((f) => f.scope === "room");
  ok = aliceWelcome.replica !== bobWelcome.replica && users.users.join() === "alice,bob" && !roomLeak;
  out();
  out(ok ? "chat demo: every message reached exactly who it should" : "chat demo: UNEXPECTED deliveries");
  if (SERVE) {
    out(`serving ${base.href} until Ctrl-C`);
    await new Promise((resolve) => process.once("SIGINT", resolve));
  }
  alice.ws.terminate();
  bob.ws.terminate();
} finally {
  await mf.dispose();
}
process.exitCode = ok ? 0 : 1;
