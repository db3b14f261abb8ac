#!/usr/bin/env bash
# Regenerates fuzz/Cargo.toml from the targets under fuzz/fuzz_targets/ (files with a
# fuzz_target!; the others are modules the targets share).
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
# `fuzzing`: the crate's hidden hooks for targets that need an internal step (wmdm::fuzzing).
wmdm = { path = "..", features = ["fuzzing"] }
# The secure channel targets sign, encrypt and hash messages of their own (as the crate does).
rsa = "0.9"
sha2 = { version = "0.10", features = ["oid"] }
rand_core = "0.6"
# The folder-device target works on a real temporary folder.
tempfile = "3"

[workspace]
members = ["."]
HEAD
for f in fuzz/fuzz_targets/*.rs; do
  # Modules shared by several targets (no fuzz_target! of their own) are not binaries.
  grep -q 'fuzz_target!' "$f" || continue
  n=$(basename "$f" .rs)
  printf '\n[[bin]]\nname = "%s"\npath = "fuzz_targets/%s.rs"\ntest = false\ndoc = false\nbench = false\n' "$n" "$n"
done
} > fuzz/Cargo.toml
