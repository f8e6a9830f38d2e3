// The client surface: one path, DOG's upgrade checks (405, 426, 400), and no internal path
// a client can reach — replicas and groups talk by RPC only, so a client request to an
// "internal" path is a 404 and moves nothing.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { resolveGatewayOptions } from "../src/gateway/options.js";
import { plain, startGateway } from "./gateway-harness.js";

let gw;
before(async () => {
  gw = await startGateway({ bindings: { LIMIT: "3" } });
});
after(() => gw?.dispose());

/** The status a WebSocket upgrade of `pathname` gets (101 when it opens). */
function upgradeStatus(pathname) {
  const target = new URL(pathname, gw.url);
  target.protocol = "ws:";
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(target);
    ws.once("open", () => {
      ws.terminate();
      resolve(101);
    });
    ws.once("unexpected-response", (_req, res) => {
      resolve(res.statusCode);
      ws.terminate();
    });
    ws.once("error", reject);
  });
}

test("DOG's checks: 405 for a method other than GET, 426 without Upgrade: websocket, 400 without a request id", async () => {
  const post = await gw.fetch("/connect?request=a", { method: "POST" });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get("allow"), "GET");
  assert.equal(JSON.parse(post.text).error, "METHOD_NOT_ALLOWED");
  const plainGet = await gw.fetch("/connect?request=a");
  assert.equal(plainGet.status, 426);
  assert.equal(JSON.parse(plainGet.text).error, "UPGRADE_REQUIRED");
  await assert.rejects(gw.connect(undefined), (e) => e.status === 400);
  await assert.rejects(gw.connect("x".repeat(300)), (e) => e.status === 400, "a request id longer than maxIdBytes");
  const view = await plain(gw.group().view());
  assert.equal(view.stats.routes, 0, "nothing was routed");
});

test("a client request to an internal path is a 404 and delivers nothing", async () => {
  const a = await gw.connect("a");
  const b = await gw.connect("b");
  const replica = a.welcome.replica;
  const before = await plain(gw.replica(replica).stats());
  const paths = ["/deliver", "/broadcast", "/gossip", "/report", "/route", "/connect/broadcast", "/connect/", "/__gateway/deliver", `/${replica}/deliver`];
  for (const p of paths) {
    const query = "?request=a&group=default";
    assert.equal(await upgradeStatus(`${p}${query}`), 404, `upgrade ${p}`);
    assert.equal((await gw.fetch(`${p}${query}`, { method: "POST", body: '{"type":"all"}' })).status, 404, `POST ${p}`);
  }
  const after_ = await plain(gw.replica(replica).stats());
  assert.deepEqual([after_.deliverCalls, after_.framesSent, after_.plans], [before.deliverCalls, before.framesSent, before.plans]);
  assert.equal(b.received((m) => m.type === "msg").length, 0);
});

test("a client cannot choose the group or request id the replica sees through the forwarding headers", async () => {
  const target = new URL("/connect?group=default&request=honest", gw.url);
  target.protocol = "ws:";
  const ws = new WebSocket(target, { headers: { "x-shardtally-gateway-group": "evil", "x-shardtally-gateway-request": "forged" } });
  const welcome = await new Promise((resolve, reject) => {
    ws.once("message", (d) => resolve(JSON.parse(String(d))));
    ws.once("error", reject);
  });
  assert.equal(welcome.request, "honest");
  assert.equal((await plain(gw.group("evil").view())).replicas.length, 0, "the group named by the header was never used");
  ws.terminate();
});

test("options: unknown names and misspelt engine settings are INVALID_OPTIONS, bad values are the engine's errors", () => {
  assert.throws(() => resolveGatewayOptions({ limit: 3 }), { code: "INVALID_OPTIONS", option: "limit" });
  assert.throws(() => resolveGatewayOptions({ gateway: { limt: 3 } }), { code: "INVALID_OPTIONS", option: "gateway.limt", suggestion: "limit" });
  assert.throws(() => resolveGatewayOptions({ gateway: { group: "x" } }), { code: "INVALID_OPTIONS" });
  assert.throws(() => resolveGatewayOptions({ gateway: { limit: 0 } }), { code: "CONFIG_ZERO" });
  assert.throws(() => resolveGatewayOptions({ path: "connect" }), { code: "INVALID_OPTIONS", option: "path" });
  assert.throws(() => resolveGatewayOptions({ maxMessageBytes: 0 }), { code: "INVALID_OPTIONS", option: "maxMessageBytes" });
  const o = resolveGatewayOptions({ gateway: { limit: 3 } });
  assert.deepEqual({ ...o, gateway: { ...o.gateway } }, {
    groupBinding: "GATEWAY_GROUP",
    replicaBinding: "GATEWAY_REPLICA",
    path: "/connect",
    maxMessageBytes: 65536,
    maxConcurrency: 16,
    gateway: { limit: 3 },
  });
});
