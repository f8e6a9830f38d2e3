# shardtally: the two commands. Both set up what they need on a fresh machine.
.PHONY: demo test bench

## Runs the demo.
demo:
	./scripts/demo.sh

## Runs every check and test (fmt, clippy, docs, wasm32 build, Rust, Python, Node, WASM, Durable Object).
test:
	./scripts/test.sh

## Runs the benchmarks and prints ratios to their baselines (not part of `make test`).
bench:
	cargo bench -p shardtally-benches
