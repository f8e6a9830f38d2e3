// How a TypeScript Worker uses the WebSocket gateway; type-checked by scripts/test.sh
// (`tsc --noEmit`), not executed.
import {
  GroupObject,
  ReplicaObject,
  gatewayWorker,
  resolveGatewayOptions,
  type CloseInfo,
  type GatewayOptions,
  type GatewaySocket,
} from "../../src/index.js";

const options: GatewayOptions = { path: "/ws", maxMessageBytes: 4096, gateway: { limit: 50, reservationTtlMs: 10_000 } };
// @ts-expect-error a misspelt engine setting (INVALID_OPTIONS at run time)
export const misspelt: GatewayOptions = { gateway: { limt: 3 } };

export class Lobby extends GroupObject {
  static options = options;
}

export class Room extends ReplicaObject {
  static options = options;
  onopen(socket: GatewaySocket) {
    socket.send({ type: "welcome", you: socket.request });
  }
  async onmessage(socket: GatewaySocket, data: string | ArrayBuffer) {
    const text = typeof data === "string" ? data : new TextDecoder().decode(data);
    const report = await socket.broadcast({ from: socket.request, text });
    if (report.failed.length > 0) socket.send({ type: "partial", failed: report.failed });
    await socket.whisper("bob", "hi bob");
    const users = await this.gossip<string[]>({ type: "users" });
    socket.send({ users: users.replies.flatMap((r) => r.value), missing: [...users.failed, ...users.missing] });
  }
  onclose(socket: GatewaySocket, info: CloseInfo) {
    void socket.emit(`${socket.request} left (${info.code})`);
  }
  ongossip(): string[] {
    return this.sockets().map((s) => s.request);
  }
}

export default gatewayWorker(options, {
  identify: (request) => ({ group: "lobby", request: new URL(request.url).searchParams.get("name") }),
  fallback: () => new Response("not found", { status: 404 }),
});

export const limit: number = resolveGatewayOptions(options).maxConcurrency;
