#!/usr/bin/env bash
# The FUSE FAT32 bar (issue 12): the sync example on a FAT32 image mounted through fusefat,
# a FUSE file system that refuses appends, writes that grow an existing file, and names
# outside ASCII.
#
#   1. a first sync killed with SIGKILL once files appear on the device, then resumed;
#   2. a resync that copies nothing;
#   3. a tag change in the library, then a resync that updates the device's copy (and the new
#      title is in the device's file);
#   4. another resync that does nothing, and no temporary file left on the device;
#   5. the image unmounted and checked with `fsck.vfat -n`, which must find nothing.
#
# Needs /dev/fuse, fusefat and dosfstools (installed with apt-get when missing and running as
# root). Where FUSE is not available it says so and exits 0. Any failed step exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "fusefat bar: $*"; }
skip() {
    say "$* (skipped)"
    exit 0
}

[ -e /dev/fuse ] || skip "/dev/fuse does not exist: FUSE is not available on this machine"

if ! command -v fusefat >/dev/null || ! command -v mkfs.vfat >/dev/null ||
    ! command -v fusermount >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing fusefat and dosfstools"
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fusefat dosfstools fuse3 >/dev/null
    else
        skip "fusefat and dosfstools are not installed and cannot be installed here"
    fi
fi

TARGET="${CARGO_TARGET_DIR:-target}"
cargo build --release --example sync
BIN="$TARGET/release/examples/sync"

WORK="$(mktemp -d)"
IMG="$WORK/fat32.img"
MNT="$WORK/mnt"
LIB="$WORK/library"
STATE="$WORK/state"
FAILED=0
unmount() {
    if mountpoint -q "$MNT" 2>/dev/null; then
        fusermount -u "$MNT" 2>/dev/null || umount "$MNT" 2>/dev/null || true
    fi
    # fusefat writes its last changes to the image as it exits.
    for _ in $(seq 100); do
        pgrep -f "fusefat .*$IMG" >/dev/null || break
        sleep 0.1
    done
}
cleanup() {
    unmount
    rm -rf "$WORK"
}
trap cleanup EXIT
fail() {
    say "FAIL: $*"
    FAILED=1
}

truncate -s 256M "$IMG"
mkfs.vfat -F 32 -n WMDMBAR "$IMG" >/dev/null
mkdir "$MNT"
if ! fusefat -o rw+ "$IMG" "$MNT" >"$WORK/fusefat.log" 2>&1 || ! mountpoint -q "$MNT"; then
    skip "fusefat could not mount an image here: $(tail -1 "$WORK/fusefat.log")"
fi
say "FAT32 image mounted with fusefat at $MNT"

"$BIN" --make-demo "$LIB" --tracks 40 >/dev/null
TRACKS=$(find "$LIB" -type f \( -name '*.mp3' -o -name '*.flac' -o -name '*.wav' \) | wc -l)

# fusefat reports no size (statfs says 0 blocks): the capacity is given. Every call runs in a
# subshell (`&` or `$(...)`), and `exec` makes the sync that subshell's process: the SIGKILL
# below must reach the sync itself, not a shell that leaves it running and holding the device.
sync_json() {
    exec "$BIN" --library "$LIB" --device "$MNT" --state "$STATE" --capacity 200MB --json "$@"
}
field() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" <<<"$2"; }
audio_on_device() {
    find "$MNT/Music" -type f \( -name '*.mp3' -o -name '*.flac' -o -name '*.wav' \) 2>/dev/null |
        wc -l
}
show_errors() { [ -s "$1" ] && sed 's/^/    /' "$1" | head -20 || true; }

# 1. A first sync killed once files appear, then resumed.
sync_json >"$WORK/killed.out" 2>"$WORK/killed.err" &
PID=$!
for _ in $(seq 600); do
    [ "$(audio_on_device)" -ge 3 ] && break
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.02
done
if kill -9 "$PID" 2>/dev/null; then
    KILLED_AT=$(audio_on_device)
    say "first sync killed (SIGKILL) with $KILLED_AT of $TRACKS tracks on the device"
else
    fail "the first sync ended before it could be killed: $(cat "$WORK/killed.out")"
fi
wait "$PID" 2>/dev/null || true
OUT=$(sync_json 2>"$WORK/resume.err") || fail "the resumed sync exited with $?"
say "resumed: $OUT"
[ "$(field errors "$OUT")" = 0 ] || {
    fail "the resumed sync had errors"
    show_errors "$WORK/resume.err"
}
[ "$(audio_on_device)" = "$TRACKS" ] || fail "$(audio_on_device) of $TRACKS tracks on the device"

# 2. A resync copies nothing.
OUT=$(sync_json 2>"$WORK/noop.err") || fail "the resync exited with $?"
say "resync: $OUT"
[ "$(field copied "$OUT")" = 0 ] && [ "$(field errors "$OUT")" = 0 ] &&
    [ "$(field updated "$OUT")" = 0 ] || {
    fail "the resync did something"
    show_errors "$WORK/noop.err"
}

# 3. A tag change: the first letter of an MP3's ID3v2 title (TIT2, Latin-1 or UTF-8 text) is
# changed in place, so the file keeps its size and layout.
RETAGGED=""
while IFS= read -r -d '' f; do
    # Only a track whose path fusefat can store is a fair test of the update.
    if printf '%s' "$f" | LC_ALL=C grep -q '[^ -~]'; then
        continue
    fi
    off=$(grep -obUa "TIT2" "$f" | head -1 | cut -d: -f1) || continue
    [ -n "$off" ] || continue
    enc=$(od -An -tu1 -j $((off + 10)) -N1 "$f" | tr -d ' ')
    [ "$enc" = 0 ] || [ "$enc" = 3 ] || continue
    first=$(dd if="$f" bs=1 skip=$((off + 11)) count=1 2>/dev/null)
    [ "$first" = Q ] && new=Z || new=Q
    printf '%s' "$new" | dd of="$f" bs=1 seek=$((off + 11)) conv=notrunc 2>/dev/null
    size=$(od -An -tu1 -j $((off + 4)) -N4 "$f" | awk '{print $1*2097152+$2*16384+$3*128+$4}')
    RETAGGED=$(dd if="$f" bs=1 skip=$((off + 11)) count=$((size - 1)) 2>/dev/null | tr -d '\0')
    say "retitled $(basename "$f") in the library to \"$RETAGGED\""
    touch "$f"
    break
done < <(find "$LIB" -name '*.mp3' -print0 | sort -z)
if [ -z "$RETAGGED" ]; then
    fail "no MP3 in the demo library has an ID3v2 title to change"
else
    OUT=$(sync_json 2>"$WORK/retag.err") || fail "the sync after the tag change exited with $?"
    say "after the tag change: $OUT"
    [ "$(field updated "$OUT")" -ge 1 ] && [ "$(field copied "$OUT")" = 0 ] &&
        [ "$(field errors "$OUT")" = 0 ] || {
        fail "the tag change was not an update"
        show_errors "$WORK/retag.err"
    }
    grep -rlaF "$RETAGGED" "$MNT/Music" >/dev/null ||
        fail "the new title \"$RETAGGED\" is in no file on the device"
fi

# 4. Nothing more to do, and nothing left behind.
OUT=$(sync_json 2>"$WORK/last.err") || fail "the last resync exited with $?"
say "last resync: $OUT"
[ "$(field copied "$OUT")" = 0 ] && [ "$(field updated "$OUT")" = 0 ] &&
    [ "$(field errors "$OUT")" = 0 ] || fail "the last resync did something"
TEMPS=$(find "$MNT" -name '.wmdm-tmp-*' -o -name '.wmdm-sync-*.part')
[ -z "$TEMPS" ] || fail "temporary files left on the device: $(echo "$TEMPS" | tr '\n' ' ')"

# 5. The image is consistent.
unmount
# The FSInfo sector's free-cluster count is only a hint (Microsoft's FAT specification: it
# "is not necessarily correct", and readers must be able to recount); fusefat does not keep it
# exact. fsck reports it as "Free cluster summary wrong". Every other finding fails the bar.
fsck.vfat -n "$IMG" >"$WORK/fsck.log" 2>&1 || true
FINDINGS=$(grep -v -e '^fsck.fat ' -e '^Free cluster summary wrong' -e '^  Auto-correcting\.' \
    -e '^Leaving filesystem unchanged\.' -e "^$IMG: [0-9]* files, " -e '^ *$' "$WORK/fsck.log" || true)
if grep -q '^Free cluster summary wrong' "$WORK/fsck.log"; then
    say "fsck.vfat -n: the FSInfo free-cluster hint is stale (advisory; fusefat does not keep it)"
fi
if [ -z "$FINDINGS" ]; then
    say "fsck.vfat -n: clean"
else
    fail "fsck.vfat -n found errors (image kept as ${TMPDIR:-/tmp}/fusefat-bar.img):"
    sed 's/^/    /' "$WORK/fsck.log" | head -30
    cp "$IMG" "${TMPDIR:-/tmp}/fusefat-bar.img"
fi

if [ "$FAILED" = 0 ]; then
    say "passed"
else
    say "FAILED"
    exit 1
fi
