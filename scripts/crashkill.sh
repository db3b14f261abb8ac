#!/usr/bin/env bash
# Kills the sync example with SIGKILL at random points, resumes, and checks what a finished
# sync must leave. Exits non-zero on any violation.
#
#   scripts/crashkill.sh                  # 20 kills of a first sync, 20 of a resync that deletes
#   KILLS=50 TRACKS=200 SEED=7 scripts/crashkill.sh
#
# Phase 1, a first sync: each run is killed (kill -9: no clean-up of its own) at a random
# moment, and the next run resumes it; after KILLS kills one run finishes. Phase 2, a resync
# that deletes: the quota shrinks to about 40% of the library, so the sync evicts; again KILLS
# kills, then a run that finishes. After each phase:
#   - `sync --verify` (reads only): no temporary file, no "(2)" duplicate, no journal or state
#     twin left, every file the ledger lists is there with the size it records;
#   - the user's files planted on the device before the first sync are byte-for-byte unchanged
#     (one of them is named like a temporary file);
#   - one more resync copies 0 and deletes 0.
set -euo pipefail

cd "$(dirname "$0")/.."
KILLS=${KILLS:-20}
TRACKS=${TRACKS:-150}
SEED=${SEED:-$$}
RANDOM=$SEED
target=${CARGO_TARGET_DIR:-target}
bin="$target/release/examples/sync"

log() { printf 'crashkill: %s\n' "$*" >&2; }
fail=0
violation() {
    printf 'crashkill: VIOLATION: %s\n' "$*" >&2
    fail=1
}

log "building the example (release)"
cargo build --release --example sync -q

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
lib="$work/library"
dev="$work/device"
state="$work/state"
"$bin" --make-demo "$lib" --tracks "$TRACKS" >/dev/null
mkdir -p "$dev/Music" "$dev/Notes"
printf 'the user'"'"'s own track\n' >"$dev/Music/mine.mp3"
printf 'named like a temporary file, but the user'"'"'s\n' >"$dev/Music/.wmdm-tmp-mine.part"
printf 'notes\n' >"$dev/Notes/todo.txt"
user_files=(Music/mine.mp3 Music/.wmdm-tmp-mine.part Notes/todo.txt)
(cd "$dev" && sha256sum "${user_files[@]}") >"$work/user.sha256"
allow=()
for f in "${user_files[@]}"; do allow+=(--allow "$f"); done
lib_bytes=$(du -sb "$lib" | cut -f1)

sync_args=(--library "$lib" --device "$dev" --state "$state")

# How long an uninterrupted first sync takes (on a scratch device), to aim the kills.
mkdir -p "$work/scratch"
start=$(date +%s%N)
"$bin" --library "$lib" --device "$work/scratch" --state "$work/scratch-state" --json >/dev/null
full_ms=$((($(date +%s%N) - start) / 1000000))
rm -rf "$work/scratch" "$work/scratch-state"
log "$TRACKS tracks ($lib_bytes bytes); an uninterrupted first sync takes ${full_ms} ms; seed $SEED"

# Runs the sync KILLS times, each killed after a random delay within the full run's time.
kill_runs() {
    local phase=$1
    shift
    local landed=0 finished=0 i delay pid code
    for ((i = 1; i <= KILLS; i++)); do
        delay=$((RANDOM % (full_ms > 20 ? full_ms : 20)))
        "$bin" "${sync_args[@]}" "$@" --json >/dev/null 2>"$work/last.err" &
        pid=$!
        sleep "$(printf '0.%03d' "$delay")" 2>/dev/null || sleep 0
        if kill -9 "$pid" 2>/dev/null; then
            landed=$((landed + 1))
        fi
        code=0
        wait "$pid" 2>/dev/null || code=$?
        if [[ $code -ne 137 ]]; then
            finished=$((finished + 1))
            if [[ $code -ne 0 && $code -ne 3 ]]; then
                violation "$phase run $i exited $code: $(tail -n1 "$work/last.err")"
            fi
        fi
    done
    log "$phase: $KILLS runs, $landed killed mid-run, $finished finished before the kill"
}

# A run to the end, then the checks, then a resync that must do nothing.
finish_and_check() {
    local phase=$1
    shift
    local out code
    code=0
    out=$("$bin" "${sync_args[@]}" "$@" --json 2>"$work/last.err") || code=$?
    if [[ $code -ne 0 ]]; then
        violation "$phase: the finishing run exited $code: $(tail -n3 "$work/last.err")"
    fi
    log "$phase: finishing run: $out"
    if ! "$bin" --verify "$dev" "${allow[@]}" >"$work/verify.out"; then
        while read -r line; do violation "$phase: $line"; done <"$work/verify.out"
    fi
    if ! (cd "$dev" && sha256sum --quiet -c "$work/user.sha256") >"$work/user.out" 2>&1; then
        violation "$phase: the user's files changed: $(tr '\n' ' ' <"$work/user.out")"
    fi
    code=0
    out=$("$bin" "${sync_args[@]}" "$@" --json 2>"$work/last.err") || code=$?
    if [[ $code -ne 0 ]]; then
        violation "$phase: the last resync exited $code: $(tail -n3 "$work/last.err")"
    fi
    if ! grep -q '"copied": *0[,}]' <<<"$out" || ! grep -q '"deleted": *0[,}]' <<<"$out"; then
        violation "$phase: the last resync did something: $out"
    fi
    log "$phase: last resync: $out"
}

kill_runs "first sync"
finish_and_check "first sync"

quota=$((lib_bytes * 4 / 10))
log "resync that deletes: quota $quota bytes"
kill_runs "resync" --capacity "$quota"
finish_and_check "resync" --capacity "$quota"

if [[ $fail -ne 0 ]]; then
    log "FAILED (seed $SEED)"
    exit 1
fi
log "passed (seed $SEED)"
