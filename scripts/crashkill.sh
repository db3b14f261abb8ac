#!/usr/bin/env bash
# Kills the sync example with SIGKILL at random points, resumes, and checks what a finished
# sync must leave. Exits non-zero on any violation.
#
#   scripts/crashkill.sh                  # 20 kills of a first sync, 20 of a resync that deletes
#   KILLS=50 TRACKS=200 SEED=7 scripts/crashkill.sh
#
# Three phases: a first sync; a resync that deletes because playlists were unselected; a
# resync that evicts because the quota shrank to about 40% of the library. Each phase runs
# KILLS trials from the same starting point (the device and state folders as the phase found
# them): the sync is killed (kill -9: no clean-up of its own) at a random moment of its run,
# uniform over the time an uninterrupted run takes, then run again to the end, and checked.
# After each trial:
#   - `sync --verify` (reads only): no temporary file, no "(2)" duplicate, no journal or state
#     twin left, every file the ledger lists is there with the size it records;
#   - the user's files planted on the device before the first sync are byte-for-byte unchanged
#     (one of them is named like a temporary file);
#   - one more resync copies 0 and deletes 0.
set -euo pipefail

cd "$(dirname "$0")/.."
KILLS=${KILLS:-20}
TRACKS=${TRACKS:-80}
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
log "$TRACKS tracks ($lib_bytes bytes), seed $SEED, $KILLS kills per phase"

# The library scan's cache, so that a killed run reaches the device (a dry run on a scratch
# folder makes no partnership).
mkdir -p "$work/warm"
"$bin" --library "$lib" --device "$work/warm" --state "$state" --dry-run >/dev/null
rm -rf "$work/warm"

now_ms() { echo $(($(date +%s%N) / 1000000)); }
snapshot() { rm -rf "$work/snap"; mkdir "$work/snap"; cp -a "$dev" "$state" "$work/snap/"; }
restore() { rm -rf "$dev" "$state"; cp -a "$work/snap/device" "$dev"; cp -a "$work/snap/state" "$state"; }

# A run to the end, then the checks, then a resync that must do nothing.
finish_and_check() {
    local what=$1
    shift
    local out code
    code=0
    out=$("$bin" "${sync_args[@]}" "$@" --json 2>"$work/last.err") || code=$?
    if [[ $code -ne 0 ]]; then
        violation "$what: the resumed run exited $code: $(tail -n1 "$work/last.err")"
    fi
    if ! "$bin" --verify "$dev" "${allow[@]}" >"$work/verify.out"; then
        while read -r line; do violation "$what: $line"; done <"$work/verify.out"
    fi
    if ! (cd "$dev" && sha256sum --quiet -c "$work/user.sha256") >"$work/user.out" 2>&1; then
        violation "$what: the user's files changed: $(tr '\n' ' ' <"$work/user.out")"
    fi
    code=0
    out=$("$bin" "${sync_args[@]}" "$@" --json 2>"$work/last.err") || code=$?
    if [[ $code -ne 0 ]]; then
        violation "$what: the last resync exited $code: $(tail -n1 "$work/last.err")"
    fi
    if ! grep -q '"copied":0,' <<<"$out" || ! grep -q '"deleted":0,' <<<"$out"; then
        violation "$what: the last resync did something: $out"
    fi
}

# KILLS trials of one phase from the current device and state.
phase() {
    local name=$1
    shift
    snapshot
    local t0 full landed=0 i delay pid code
    t0=$(now_ms)
    "$bin" "${sync_args[@]}" "$@" --json >"$work/full.out" 2>&1 || true
    full=$(($(now_ms) - t0))
    log "$name: an uninterrupted run takes ${full} ms: $(head -c 300 "$work/full.out")"
    for ((i = 1; i <= KILLS; i++)); do
        restore
        delay=$((RANDOM % (full + 1)))
        "$bin" "${sync_args[@]}" "$@" --json >/dev/null 2>&1 &
        pid=$!
        sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
        kill -9 "$pid" 2>/dev/null || true
        code=0
        wait "$pid" 2>/dev/null || code=$?
        [[ $code -eq 137 ]] && landed=$((landed + 1))
        finish_and_check "$name, killed at ${delay} ms" "$@"
    done
    log "$name: $KILLS trials, $landed runs killed mid-run (the others had finished)"
}

phase "first sync"
snapshot
cp -a "$work/snap" "$work/synced"
phase "unselect" --playlist "Quiet Evenings"
rm -rf "$dev" "$state"
cp -a "$work/synced/device" "$dev"
cp -a "$work/synced/state" "$state"
quota=$((lib_bytes * 4 / 10))
phase "evict (quota $quota bytes)" --capacity "$quota"

if [[ $fail -ne 0 ]]; then
    log "FAILED (seed $SEED)"
    exit 1
fi
log "passed (seed $SEED)"
