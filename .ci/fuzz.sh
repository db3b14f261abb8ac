#!/usr/bin/env bash
# Fuzzing in CI (issue #17): installs cargo-fuzz (pinned), builds every target under
# fuzz/fuzz_targets on the stable toolchain, replays each target's seed corpus
# (fuzz/seeds/<target>/), then fuzzes each target for FUZZ_SECONDS (default 10) from its seeds.
# Any crash, assertion, leak, timeout or out-of-memory fails the run, with the input saved
# under $target_dir/artifacts/ and the command that reproduces it printed.
#
#   .ci/fuzz.sh                      # as CI runs it (about 10 minutes on 2 cores)
#   FUZZ_SECONDS=60 .ci/fuzz.sh      # longer; docs/fuzzing.md has the long local run
#   FUZZ_TARGETS="sync_recovery sac_server_pass1" .ci/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
started=$(date +%s)

CARGO_FUZZ_VERSION=0.13.2
seconds=${FUZZ_SECONDS:-10}
target_dir=${CARGO_TARGET_DIR:-$root/target}/fuzz
case $target_dir in /*) ;; *) target_dir=$root/$target_dir ;; esac

if [[ $(cargo fuzz --version 2>/dev/null) != "cargo-fuzz $CARGO_FUZZ_VERSION" ]]; then
    echo "fuzz: installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

# cargo-fuzz passes unstable flags (-Zsanitizer=address, sanitizer coverage); a fresh CI
# machine has only the stable toolchain, which accepts them with RUSTC_BOOTSTRAP.
export RUSTC_BOOTSTRAP=1
echo "fuzz: $(rustc --version), $(cargo fuzz --version)"

# Every target must be a binary of the fuzz crate (the manifest is generated from the files).
generated=$(mktemp)
trap 'rm -f "$generated"; rm -rf "$scratch"' EXIT
scratch=$(mktemp -d)
cp fuzz/Cargo.toml "$generated"
scripts/gen-fuzz-manifest.sh
if ! cmp -s fuzz/Cargo.toml "$generated"; then
    diff "$generated" fuzz/Cargo.toml || true
    cp "$generated" fuzz/Cargo.toml
    echo "fuzz: fuzz/Cargo.toml is not what scripts/gen-fuzz-manifest.sh makes: run it" >&2
    exit 1
fi

# The fuzz crate is a workspace of its own: the main job's `cargo fmt --all` does not see it.
(cd fuzz && cargo fmt -- --check)

echo "fuzz: building the targets"
(cd fuzz && cargo fuzz build --target-dir "$target_dir")
bin=$target_dir/x86_64-unknown-linux-gnu/release
built=$(($(date +%s) - started))

all=$(cargo fuzz list --fuzz-dir fuzz)
targets=${FUZZ_TARGETS:-$all}
artifacts=$target_dir/artifacts
mkdir -p "$artifacts"
failed=()

# The crash's lines and how to reproduce it; the target counts as failed.
report() {
    local t=$1 log=$2
    failed+=("$t")
    echo "fuzz: FAILED: $t" >&2
    grep -E -A12 "panicked|ERROR: libFuzzer|ERROR: AddressSanitizer|ERROR: LeakSanitizer|Test unit written" "$log" | head -40 >&2 || tail -20 "$log" >&2
    echo "fuzz: reproduce with: RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz $t <the artifact above>" >&2
}

for t in $targets; do
    seeds=fuzz/seeds/$t
    log=$scratch/$t.log
    # Replay: every seed once, as a regression test.
    if compgen -G "$seeds/*" >/dev/null; then
        if ! "$bin/$t" -runs=1 "$seeds"/* >"$log" 2>&1; then
            report "$t" "$log"
            continue
        fi
    fi
    # Fuzz from the seeds, in a scratch corpus (what it finds is not written into the repository).
    mkdir -p "$scratch/corpus-$t"
    if compgen -G "$seeds/*" >/dev/null; then cp "$seeds"/* "$scratch/corpus-$t/"; fi
    if "$bin/$t" "$scratch/corpus-$t" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$artifacts/$t-" >"$log" 2>&1; then
        printf 'fuzz: %-24s %s\n' "$t" "$(grep -m1 -o 'DONE .*' "$log" | sed 's/ *rss:.*//')"
    else
        report "$t" "$log"
    fi
done

echo "fuzz: build ${built}s, total $(($(date +%s) - started))s"
if ((${#failed[@]})); then
    echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz: $(wc -w <<<"$targets") passed, 0 failed"
