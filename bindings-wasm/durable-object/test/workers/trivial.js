// Durable Objects that check the harness itself: a plain counter (bundling, workerd,
// storage, alarms) and one that loads the engine package through its `workerd` entry.
import { DurableObject } from "cloudflare:workers";
import { jumpHash, keyHash } from "shardtally-wasm";

export class Tally extends DurableObject {
  async add(n) {
    const value = ((await this.ctx.storage.get("value")) ?? 0) + n;
    await this.ctx.storage.put("value", value);
    return value;
  }
  async armAlarm(ms) {
    await this.ctx.storage.setAlarm(Date.now() + ms);
  }
  async alarm() {
    await this.ctx.storage.put("alarmed", ((await this.ctx.storage.get("alarmed")) ?? 0) + 1);
  }
  async read() {
    return { value: (await this.ctx.storage.get("value")) ?? 0, alarmed: (await this.ctx.storage.get("alarmed")) ?? 0 };
  }
}

export class Hasher extends DurableObject {
  place(keys, buckets) {
    return keys.map((key) => ({ key, hash: keyHash(key).toString(), bucket: jumpHash(keyHash(key), buckets) }));
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const stub = env.TALLY.getByName("t");
    if (url.pathname === "/add") return Response.json(await stub.add(Number(await request.text())));
    if (url.pathname === "/alarm") return Response.json(await stub.armAlarm(Number(await request.text())));
    if (url.pathname === "/hash") {
      const { keys, buckets } = await request.json();
      return Response.json(await env.HASHER.getByName("h").place(keys, buckets));
    }
    return Response.json(await stub.read());
  },
};
