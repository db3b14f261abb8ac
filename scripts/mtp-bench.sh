#!/usr/bin/env bash
# The MTP sync bar (issue #16): a sync of TRACKS small tracks (default 1000) to mtp-rs's
# virtual device, the whole example process, against uploading the same files with the plain
# mtp-rs API in a loop (examples/mtp_upload.rs), alternately in the same run, RUNS times
# (default 3); prints both medians and their ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
tracks="${TRACKS:-1000}"
runs="${RUNS:-3}"
cargo build --release --features mtp-virtual --example sync --example mtp_upload >/dev/null
target="${CARGO_TARGET_DIR:-target}/release/examples"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$target/sync" --make-demo "$work/lib" --tracks "$tracks" >/dev/null
now() { date +%s.%N; }
sync_times=() loop_times=()
for _ in $(seq "$runs"); do
    rm -rf "$work/dev" "$work/state" "$work/up"
    t0=$(now)
    "$target/sync" --library "$work/lib" --device "mtp-virtual:$work/dev" --state "$work/state" >/dev/null
    t1=$(now)
    "$target/mtp_upload" "$work/lib" "$work/up" >/dev/null
    t2=$(now)
    sync_times+=("$(echo "$t1 - $t0" | bc)")
    loop_times+=("$(echo "$t2 - $t1" | bc)")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
s=$(median "${sync_times[@]}")
l=$(median "${loop_times[@]}")
echo "sync (whole process): ${sync_times[*]} s; median $s s"
echo "mtp-rs upload loop:   ${loop_times[*]} s; median $l s"
echo "ratio: $(echo "scale=2; $s / $l" | bc)x (target <= 1.3x)"
