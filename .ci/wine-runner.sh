#!/usr/bin/env bash
# Cargo's runner for x86_64-pc-windows-gnu (see .cargo/config.toml): runs a Windows test or
# example binary under Wine in the project's prefix. Run .ci/wine-setup.sh once first.
set -euo pipefail
. "$(dirname "$0")/wine-env.sh"
exec wine "$@"
