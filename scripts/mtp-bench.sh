#!/usr/bin/env bash
# The MTP sync bar (issue #16): a sync of TRACKS small tracks (default 1000) to mtp-rs's
# virtual device, the whole example process, against uploading the same files with the plain
# mtp-rs API in a loop (examples/mtp_upload.rs), in the same run, RUNS times (default 3);
# prints both medians (wall clock and CPU time) and their ratios.
#
# Each run writes to new folders, all removed at the end, and the two alternate which goes
# first: creating files right after deleting thousands is slower, and more variable, on ext4
# (it skips recently freed inodes), so deleting between runs, in a fixed order, would charge
# that to one side.
# WORK (default: a new folder under $TMPDIR) is where the library and both devices live; a
# tmpfs there (WORK=/dev/shm/...) leaves out the disk and shows the software's own costs.
# BIN times the `sync` and `mtp_upload` of another build (an examples folder) instead.
set -euo pipefail
cd "$(dirname "$0")/.."
tracks="${TRACKS:-1000}"
runs="${RUNS:-3}"
if [ -n "${BIN:-}" ]; then
    target="$BIN"
else
    cargo build --release --features mtp-virtual --example sync --example mtp_upload >/dev/null
    target="${CARGO_TARGET_DIR:-target}/release/examples"
fi
if [ -n "${WORK:-}" ]; then
    mkdir -p "$WORK"
    work="$(mktemp -d "$WORK/mtp-bench.XXXXXX")"
else
    work="$(mktemp -d)"
fi
trap 'rm -rf "$work"' EXIT
"$target/sync" --make-demo "$work/lib" --tracks "$tracks" >/dev/null
# Runs a command; prints "WALL CPU" in seconds (CPU: user + system of the process and its
# threads), to the millisecond: bash's `time` (GNU time rounds to 10 ms, a tenth of the loop's
# CPU time).
timed() {
    local TIMEFORMAT='%3R %3U %3S'
    # The command's own errors still reach the terminal (fd 3); only the times go to the file.
    { time "$@" >/dev/null 2>&3; } 3>&2 2>"$work/time"
    awk '{printf "%s %.3f\n", $1, $2 + $3}' "$work/time"
}
run_sync() { timed "$target/sync" --library "$work/lib" --device "mtp-virtual:$work/dev$1" --state "$work/state$1"; }
run_loop() { timed "$target/mtp_upload" "$work/lib" "$work/up$1"; }
sync_wall=() sync_cpu=() loop_wall=() loop_cpu=()
for i in $(seq "$runs"); do
    if [ $((i % 2)) -eq 1 ]; then
        read -r sw sc < <(run_sync "$i")
        read -r lw lc < <(run_loop "$i")
    else
        read -r lw lc < <(run_loop "$i")
        read -r sw sc < <(run_sync "$i")
    fi
    sync_wall+=("$sw") sync_cpu+=("$sc") loop_wall+=("$lw") loop_cpu+=("$lc")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
sw=$(median "${sync_wall[@]}") lw=$(median "${loop_wall[@]}")
sc=$(median "${sync_cpu[@]}") lc=$(median "${loop_cpu[@]}")
echo "tracks $tracks, runs $runs, load $(cut -d' ' -f1-3 /proc/loadavg), work $work"
echo "sync (whole process): wall ${sync_wall[*]} s; median $sw s; CPU median $sc s"
echo "mtp-rs upload loop:   wall ${loop_wall[*]} s; median $lw s; CPU median $lc s"
echo "ratio: $(echo "scale=2; $sw / $lw" | bc)x wall (target <= 1.3x), $(echo "scale=2; $sc / $lc" | bc)x CPU"
