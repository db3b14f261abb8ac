#!/usr/bin/env bash
# The transcode speed bar (docs/transcode.md, "Measured"), in one run: the sync example
# converting N tracks to an MP3-only profile, against one ffmpeg per file serially and
# `xargs -P$(nproc)` of the same commands; then resyncs with conversions (a warm cache,
# nothing changed) against resyncs of an MP3 library that needs none, interleaved.
#
#   scripts/transcode-bench.sh                  # 16 one-minute tracks
#   WMDM_TBENCH_TRACKS=32 WMDM_TBENCH_SECS=30 scripts/transcode-bench.sh
#   WMDM_TBENCH_SYNC_BIN=path ...               # time that build of the sync example
#
# Needs ffmpeg. The data goes to a temporary folder, removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${WMDM_TBENCH_TRACKS:-16}
SECS=${WMDM_TBENCH_SECS:-60}
SYNC=${WMDM_TBENCH_SYNC_BIN:-}
if [ -z "$SYNC" ]; then
    cargo build --quiet --release --example sync
    SYNC="${CARGO_TARGET_DIR:-target}/release/examples/sync"
fi
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/lib/A/B" "$W/lib_mp3/A/B" "$W/dev" "$W/dev_mp3" "$W/serial" "$W/xargs"
for i in $(seq 1 "$N"); do
    ext=$([ $((i % 2)) = 0 ] && echo flac || echo wav)
    src="sine=frequency=$((200 + i * 37)):duration=$SECS"
    ffmpeg -v error -f lavfi -i "$src" -ar 44100 -ac 2 -metadata title="S$i" "$W/lib/A/B/$(printf %03d "$i").$ext"
    ffmpeg -v error -f lavfi -i "$src" -ar 44100 -ac 2 -b:a 128k -metadata title="S$i" "$W/lib_mp3/A/B/$(printf %03d "$i").mp3"
done
enc='-hide_banner -nostdin -loglevel error -y -i {} -map 0:a:0 -map_metadata -1 -vn -threads 1 -c:a libmp3lame -b:a 192000 -ar 44100 -ac 2 -f mp3'
TIMEFORMAT='%R s wall, %U s user, %S s sys'
echo "$N tracks of $SECS s to MP3; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo -n "sync, $N conversions:            "
{ time "$SYNC" --library "$W/lib" --device "$W/dev" --state "$W/st" --profile mp3-player --json >"$W/first.json"; } 2>&1
echo -n "ffmpeg per file, serially:       "
{ time (for f in "$W"/lib/A/B/*; do ffmpeg ${enc//\{\}/$f} "$W/serial/$(basename "$f").mp3"; done); } 2>&1
echo -n "xargs -P$(nproc), same commands:     "
{ time (ls "$W"/lib/A/B/* | xargs -P"$(nproc)" -I{} sh -c "ffmpeg $enc \"$W/xargs/\$(basename {}).mp3\""); } 2>&1
"$SYNC" --library "$W/lib_mp3" --device "$W/dev_mp3" --state "$W/st_mp3" --profile mp3-player --json >/dev/null
for _ in 1 2 3; do
    echo -n "resync, $N converted (warm):      "
    { time "$SYNC" --library "$W/lib" --device "$W/dev" --state "$W/st" --profile mp3-player --json >"$W/resync.json"; } 2>&1
    echo -n "resync, $N MP3s, no conversion:   "
    { time "$SYNC" --library "$W/lib_mp3" --device "$W/dev_mp3" --state "$W/st_mp3" --profile mp3-player --json >/dev/null; } 2>&1
done
echo "first sync: $(cat "$W/first.json")"
echo "resync:     $(cat "$W/resync.json")"
