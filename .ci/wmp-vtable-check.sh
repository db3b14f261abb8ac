#!/usr/bin/env bash
# An independent check of the WMP vtables: builds the example DLL that hands out the crate's
# IWMPSyncDevice (examples/wmp_server.rs), compiles tests/c/wmp_vtable.c against mingw-w64's
# own wmp.h, and runs it under Wine. Needs what .ci/wine-setup.sh installs and prepares.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
target=x86_64-pc-windows-gnu
. .ci/wine-env.sh

echo "== the WMP example DLL (examples/wmp_server.rs)"
cargo build --features com --target "$target" --example wmp_server
dll="target/$target/debug/examples/wmp_server.dll"

echo "== tests/c/wmp_vtable.c against mingw-w64's wmp.h"
out="target/$target/wmp-vtable-check"
mkdir -p "$out"
x86_64-w64-mingw32-gcc -Wall -Wextra -Werror -O1 -o "$out/wmp_vtable.exe" tests/c/wmp_vtable.c \
    -lole32 -loleaut32 -luuid
cp "$dll" "$out/wmp_server.dll"

echo "== wmp_vtable.exe under Wine"
# LoadLibrary finds the DLL next to the executable.
.ci/wine-runner.sh "$out/wmp_vtable.exe" wmp_server.dll
