#!/usr/bin/env bash
# A sync driven from C with no Rust in the loop: builds the creatable WMP sync services
# (examples/wmp_services.rs), registers it with regsvr32, compiles tests/c/wmp_sync.c against
# mingw-w64's own wmp.h, and runs it under Wine against a small music folder and a device
# folder: CoCreateInstance by ProgID, an STA sink through the connection point,
# createPartnership, start, and the files on the device. Needs what .ci/wine-setup.sh prepares.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
target=x86_64-pc-windows-gnu
. .ci/wine-env.sh

echo "== the WMP sync services DLL (examples/wmp_services.rs)"
cargo build --features com --target "$target" --example wmp_services
out="target/$target/wmp-sync-check"
rm -rf "$out"
mkdir -p "$out/library/Artist/Album" "$out/device" "$out/state"
cp "target/$target/debug/examples/wmp_services.dll" "$out/"

echo "== tests/c/wmp_sync.c against mingw-w64's wmp.h"
x86_64-w64-mingw32-gcc -Wall -Wextra -Werror -O1 -o "$out/wmp_sync.exe" tests/c/wmp_sync.c \
    -lole32 -loleaut32 -luuid

# A library of three small WAV files (PCM, 8 kHz mono, 0.5 s of silence each).
wav() {
    local data=8000
    {
        printf 'RIFF'; printf "\\x$(printf %02x $(((36 + data) & 255)))\\x$(printf %02x $(((36 + data) >> 8 & 255)))\\x00\\x00"
        printf 'WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00\x80\x3e\x00\x00\x02\x00\x10\x00'
        printf 'data'; printf "\\x$(printf %02x $((data & 255)))\\x$(printf %02x $((data >> 8 & 255)))\\x00\\x00"
        head -c "$data" /dev/zero
    } > "$1"
}
for i in 1 2 3; do wav "$out/library/Artist/Album/0$i Song $i.wav"; done

echo "== register and run under Wine"
export WMDM_LIBRARY WMDM_DEVICES WMDM_STATE
WMDM_LIBRARY="$(winepath -w "$out/library")"
WMDM_DEVICES="$(winepath -w "$out/device")"
WMDM_STATE="$(winepath -w "$out/state")"
wine regsvr32 /s "$(winepath -w "$out/wmp_services.dll")"
status=0
wine "$out/wmp_sync.exe" "$WMDM_DEVICES" 3 || status=$?
wine regsvr32 /s /u "$(winepath -w "$out/wmp_services.dll")" || true
exit "$status"
