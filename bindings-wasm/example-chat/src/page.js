// The chat page the Worker serves at "/": plain HTML and a small script, no build step.
// `/?name=alice&room=lobby` joins at once.
export const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>shardtally chat</title>
<style>
  :root { font: 15px/1.4 system-ui, sans-serif; color: #1d2433; background: #f4f6fa; }
  body { margin: 0; }
  header { padding: .8rem 1.2rem; background: #1d2433; color: #fff; display: flex; gap: 1rem; align-items: baseline; }
  header h1 { font-size: 1.1rem; margin: 0; }
  #status { opacity: .8; font-size: .9rem; }
  main { display: grid; grid-template-columns: 12rem 1fr; gap: 1rem; padding: 1rem 1.2rem; max-width: 60rem; }
  aside, section { background: #fff; border-radius: .5rem; padding: .8rem; box-shadow: 0 1px 2px #0001; }
  aside h2 { font-size: .9rem; margin: 0 0 .4rem; text-transform: uppercase; letter-spacing: .05em; color: #667; }
  #users { list-style: none; margin: 0; padding: 0; }
  #users li { padding: .15rem 0; }
  #log { list-style: none; margin: 0; padding: 0; height: 22rem; overflow-y: auto; }
  #log li { padding: .25rem .4rem; border-radius: .3rem; }
  #log li[data-kind="whisper"] { background: #fff4d6; }
  #log li[data-kind="room"] { background: #e3f0ff; }
  #log li[data-kind="joined"], #log li[data-kind="left"], #log li[data-kind="users"] { color: #667; font-style: italic; }
  #log li[data-kind="error"] { color: #a11; }
  .from { font-weight: 600; }
  [hidden] { display: none !important; }
  form { display: flex; gap: .5rem; margin-top: .6rem; }
  input { flex: 1; min-width: 0; padding: .45rem .6rem; border: 1px solid #ccd; border-radius: .3rem; font: inherit; }
  button { padding: .45rem .9rem; border: 0; border-radius: .3rem; background: #2f6fed; color: #fff; font: inherit; cursor: pointer; }
  .hint { color: #667; font-size: .85rem; margin: .4rem 0 0; }
</style>
</head>
<body>
<header><h1>shardtally chat</h1><span id="status">not connected</span></header>
<main>
  <aside>
    <h2>Users</h2>
    <ul id="users"></ul>
    <form id="join"><input id="name" placeholder="your name" autocomplete="off"><button>Join</button></form>
  </aside>
  <section>
    <ol id="log"></ol>
    <form id="say"><input id="text" placeholder="message, /room …, /w user …, /users" autocomplete="off" disabled><button id="send" disabled>Send</button></form>
    <p class="hint">Plain text goes to everyone in the room, <code>/room</code> to your replica, <code>/w name</code> to one user, <code>/users</code> lists everyone.</p>
  </section>
</main>
<script type="module">
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const room = params.get("room") || "lobby";
let ws = null;

function line(kind, parts) {
  const li = document.createElement("li");
  li.dataset.kind = kind;
  for (const [cls, text] of parts) {
    const span = document.createElement("span");
    if (cls) span.className = cls;
    span.textContent = text;
    li.append(span);
  }
  $("log").append(li);
  $("log").scrollTop = $("log").scrollHeight;
}

function showUsers(users) {
  $("users").replaceChildren(...users.map((u) => Object.assign(document.createElement("li"), { textContent: u })));
}

function join(name) {
  const url = new URL("/connect", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("room", room);
  url.searchParams.set("name", name);
  ws = new WebSocket(url);
  $("status").textContent = "connecting as " + name + " …";
  ws.onopen = () => {
    $("text").disabled = $("send").disabled = false;
    $("join").hidden = true;
    ws.send("/users");
  };
  ws.onclose = (e) => {
    $("status").textContent = "disconnected (" + e.code + ")";
    $("text").disabled = $("send").disabled = true;
  };
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data);
    switch (m.type) {
      case "welcome":
        $("status").textContent = m.you + " in " + m.room + " (replica " + m.replica + ")";
        document.body.dataset.joined = m.you;
        break;
      case "joined":
      case "left":
        line(m.type, [["from", m.user], ["", m.type === "joined" ? " joined" : " left"]]);
        ws.send("/users");
        break;
      case "message":
        if (m.scope === "whisper") line("whisper", [["from", m.from], ["", " → " + m.to + " (whisper): " + m.text]]);
        else line(m.scope, [["from", m.from], ["", (m.scope === "room" ? " (room)" : "") + ": " + m.text]]);
        break;
      case "users":
        showUsers(m.users);
        break;
      case "error":
        line("error", [["", m.message]]);
        break;
    }
  };
}

$("join").onsubmit = (e) => {
  e.preventDefault();
  if ($("name").value.trim()) join($("name").value.trim());
};
$("say").onsubmit = (e) => {
  e.preventDefault();
  const text = $("text").value;
  if (text.trim() && ws) ws.send(text);
  $("text").value = "";
};
if (params.get("name")) join(params.get("name"));
</script>
</body>
</html>
`;
