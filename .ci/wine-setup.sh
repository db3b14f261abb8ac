#!/usr/bin/env bash
# Prepares a Debian machine to build the `com` feature for x86_64-pc-windows-gnu and run it
# under Wine: packages, the Rust target, the ProcessPrng shim, and a Wine prefix.
# Idempotent: steps that are already done are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/wine-env.sh

if ! command -v wine >/dev/null || ! command -v x86_64-w64-mingw32-gcc >/dev/null; then
    sudo_if_needed() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
    sudo_if_needed apt-get update
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        wine wine64 gcc-mingw-w64-x86-64
fi

rustup target add x86_64-pc-windows-gnu >/dev/null

# Rust's std calls ProcessPrng (bcryptprimitives.dll), which Wine 8 lacks: a tiny native DLL
# supplies it on top of RtlGenRandom.
shim_dir=target/wine
mkdir -p "$shim_dir"
if [ ! -f "$shim_dir/bcryptprimitives.dll" ] || [ .ci/bcryptprimitives.c -nt "$shim_dir/bcryptprimitives.dll" ]; then
    x86_64-w64-mingw32-gcc -shared -O2 -o "$shim_dir/bcryptprimitives.dll" .ci/bcryptprimitives.c -ladvapi32
fi

if [ ! -d "$WINEPREFIX/drive_c/windows/system32" ]; then
    wineboot -i >/dev/null 2>&1 || true
    wineserver -w || true
fi
cp "$shim_dir/bcryptprimitives.dll" "$WINEPREFIX/drive_c/windows/system32/"
echo "wine prefix ready: $WINEPREFIX"
