// `node --import` this file to load `.wasm` imports as compiled modules (see compiled-wasm-hooks.mjs).
import { register } from 'node:module';

register('./compiled-wasm-hooks.mjs', import.meta.url);
