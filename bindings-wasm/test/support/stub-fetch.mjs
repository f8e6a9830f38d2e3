// `node --import` this file to serve `file:` URLs through `fetch`, as a browser serves the
// `.wasm` file next to the package's default (web) entry.
import { readFileSync } from 'node:fs';

globalThis.fetch = async (url) =>
  new Response(readFileSync(new URL(String(url))), { headers: { 'content-type': 'application/wasm' } });
