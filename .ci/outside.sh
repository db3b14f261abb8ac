#!/usr/bin/env bash
# Builds and runs ci/outside, a program that depends on wmdm by path, from a copy outside the
# repository (so nothing of the repository's own set-up helps it), with its own target folder.
# It resolves against the local registry cache first (the repository's Cargo.lock pins the
# versions); only when something is missing there does it reach crates.io.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "$repo/ci/outside/." "$work/"
sed -i "s|path = \"../..\"|path = \"$repo\"|" "$work/Cargo.toml"
cp "$repo/Cargo.lock" "$work/Cargo.lock"
export CARGO_TARGET_DIR="${OUTSIDE_TARGET_DIR:-$repo/target/outside}"
cd "$work"
cargo build --offline --quiet 2>/dev/null || cargo build --quiet
cargo run --quiet
