// A chat room on the shardtally WebSocket gateway, after DOG's example:
//   GET /                        the chat page (src/page.js)
//   GET /connect?room=R&name=N   the WebSocket (upgrade): joins room R as user N
// Every room is a group; its users spread over replicas of ROOM_LIMIT sockets each. A user
// name is the request id, so a user's tabs stay on one replica and a whisper finds them.
//
// What a client sends is one line of text:
//   hello             to everyone in the room, on every replica (broadcast)
//   /all hello        the same
//   /room hello       to the users on the sender's replica only (emit)
//   /w bob hello      to bob only, wherever he is (whisper)
//   /users            the room's user list, asked of every replica (gossip)
// and what it receives is JSON: `welcome`, `joined`, `left`, `message`, `users`, `error`.
import { GroupObject, ReplicaObject, gatewayWorker } from "shardtally-durable-object";
import { PAGE } from "./page.js";

const NAME = /^[A-Za-z0-9_-]{1,32}$/;
const MAX_TEXT = 2000;

/** One options object for the group class, the replica class and the Worker. */
export const options = (env) => ({
  path: "/connect",
  maxMessageBytes: 4096,
  gateway: { limit: Number(env.ROOM_LIMIT || 50) },
});

/** The group: one object per room (its name is the room's name). Nothing to add. */
export class ChatLobby extends GroupObject {
  static options = options;
}

/** A replica of a room: the chat protocol, in the gateway's hooks. */
export class ChatRoom extends ReplicaObject {
  static options = options;

  async onopen(socket) {
    socket.send({ type: "welcome", you: socket.request, room: socket.group, replica: this.id.slice(0, 8), time: Date.now() });
    await socket.broadcast({ type: "joined", user: socket.request, time: Date.now() });
  }

  async onmessage(socket, data) {
    const line = (typeof data === "string" ? data : new TextDecoder().decode(data)).trim();
    if (line === "") return;
    const time = Date.now();
    const from = socket.request;
    let match;
    if (line === "/users") {
      const asked = await this.gossip({ type: "users" });
      const users = new Set(this.#users());
      for (const reply of asked.replies) for (const user of reply.value) users.add(user);
      socket.send({ type: "users", users: [...users].sort(), unreachable: [...asked.failed, ...asked.missing].length, time });
    } else if ((match = /^\/w(?:hisper)?\s+(\S+)\s+([\s\S]+)$/.exec(line))) {
      const [, to, text] = match;
      const message = { type: "message", scope: "whisper", from, to, text: clip(text), time };
      const report = await socket.whisper(to, message);
      socket.send(report.sockets > 0 ? message : { type: "error", message: `${to} is not here`, time });
    } else if ((match = /^\/room\s+([\s\S]+)$/.exec(line))) {
      await socket.emit({ type: "message", scope: "room", from, text: clip(match[1]), time }, true);
    } else if (line.startsWith("/") && !line.startsWith("/all ")) {
      socket.send({ type: "error", message: "commands: /all, /room, /w <user>, /users", time });
    } else {
      const text = line.startsWith("/all ") ? line.slice(5) : line;
      await socket.broadcast({ type: "message", scope: "all", from, text: clip(text), time }, true);
    }
  }

  async onclose(socket) {
    // A user with another tab open is still here.
    if (this.sockets().some((s) => s.request === socket.request && s.connection !== socket.connection)) return;
    await socket.broadcast({ type: "left", user: socket.request, time: Date.now() }).catch(() => {});
  }

  /** A peer asks for this replica's users. */
  ongossip(message) {
    if (message?.type === "users") return this.#users();
    throw new Error(`unknown gossip ${JSON.stringify(message?.type)}`);
  }

  #users() {
    return [...new Set(this.sockets().map((s) => s.request))];
  }
}

function clip(text) {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text;
}

export default gatewayWorker(options, {
  // The room is the group; the user name is the request id (400 when it is missing or invalid).
  identify(request) {
    const url = new URL(request.url);
    const name = url.searchParams.get("name") ?? "";
    const room = url.searchParams.get("room") || "lobby";
    return { group: NAME.test(room) ? room : "lobby", request: NAME.test(name) ? name : null };
  },
  // Every other path: the page at "/", 404 elsewhere.
  fallback(request) {
    const { pathname } = new URL(request.url);
    if (request.method === "GET" && pathname === "/") {
      return new Response(PAGE, { headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" } });
    }
    return new Response("not found\n", { status: 404 });
  },
});
