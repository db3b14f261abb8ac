# Shared settings for the Wine test leg; sourced by wine-setup.sh, wine-runner.sh and wine-test.sh.
# WMDM_WINEPREFIX may be set by the caller; the default keeps the project's prefix apart from ~/.wine.
export WINEPREFIX="${WMDM_WINEPREFIX:-$HOME/.wine-wmdm}"
export WINEDEBUG="${WINEDEBUG:--all}"
export WINEARCH=win64
# Our ProcessPrng shim is a native DLL; prefer it to any builtin of the same name.
# winedbg is disabled so that a crash fails the test at once instead of waiting for a debugger
# (set WINEDLLOVERRIDES without winedbg.exe=d to get its backtraces).
export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-bcryptprimitives=n,b;mscoree,mshtml=;winedbg.exe=d}"
