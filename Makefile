# shardtally: the two commands. Both set up what they need on a fresh machine.
.PHONY: demo test bench

## Runs the demo.
demo:
	./scripts/demo.sh

## Runs every check and test (fmt, clippy, docs, wasm32 build, Rust, Python, Node, WASM, Durable Object).
test:
	./scripts/test.sh

## Runs the Rust, Python, Node and WebAssembly benchmarks (release builds) and prints one table
## of ns/op and bytes per counter against HashMap / dict / Map baselines, with ratios; writes
## target/bench/results.json. `make test` only runs them in smoke mode.
bench:
	./scripts/bench.sh
