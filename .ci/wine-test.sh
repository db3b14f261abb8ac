#!/usr/bin/env bash
# The Windows leg: builds the `com` feature for x86_64-pc-windows-gnu, lints it, and runs the
# whole test suite (the COM tests and the end-to-end provider DLL test included) under Wine.
set -euo pipefail
# ffmpeg is installed on the Linux side only: the ffmpeg tests are required in the Linux leg
# (.ci/run) and skip, saying so, under Wine.
unset WMDM_REQUIRE_FFMPEG
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
# Tests run in parallel (the crash that once made this leg single-threaded was a double free in
# a test: docs/com.md, "Debugging under Wine").
cargo test --no-fail-fast --features com --target "$target"
