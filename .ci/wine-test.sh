#!/usr/bin/env bash
# The Windows leg: builds the `com` feature for x86_64-pc-windows-gnu, lints it, and runs the
# whole test suite (the COM tests and the end-to-end provider DLL test included) under Wine.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
target=x86_64-pc-windows-gnu

.ci/wine-setup.sh

echo "== cargo build --features com --target $target"
cargo build --features com --target "$target"

echo "== cargo clippy --features com --target $target"
cargo clippy --features com --target "$target" --all-targets -- -D warnings

echo "== the provider DLL (examples/com_server.rs)"
cargo build --features com --target "$target" --example com_server

echo "== cargo test --features com --target $target (under Wine)"
# One test thread: with tests in parallel, the COM tests crash about one run in ten inside a
# module loaded at 0x170000000 (seen in com_data); single-threaded, 0 failures in 40 runs. The
# cause is not found yet (see the note on issue #8).
cargo test --no-fail-fast --features com --target "$target" -- --test-threads=1
