#!/usr/bin/env bash
# Regenerates fuzz/Cargo.toml from the files under fuzz/fuzz_targets/.
set -euo pipefail
cd "$(dirname "$0")/.."
{
cat <<'HEAD'
[package]
name = "wmdm-fuzz"
version = "0.0.0"
publish = false
edition = "2024"

[package.metadata]
cargo-fuzz = true

[dependencies]
libfuzzer-sys = "0.4"
wmdm = { path = ".." }

[workspace]
members = ["."]
HEAD
for f in fuzz/fuzz_targets/*.rs; do
  n=$(basename "$f" .rs)
  printf '\n[[bin]]\nname = "%s"\npath = "fuzz_targets/%s.rs"\ntest = false\ndoc = false\nbench = false\n' "$n" "$n"
done
} > fuzz/Cargo.toml
