#!/usr/bin/env bash
# One command for every speed bar the issues set: builds in release, makes its own data, runs
# the criterion benches with short measurement times (a no-op resync against `rsync -a` among
# them), and prints one table of ratios, each measured against its baseline in this same run.
#
#   scripts/bench.sh                            # everything
#   WMDM_BENCH_COPY_MIB=1024 scripts/bench.sh   # the full 1 GiB copy bar (default 256 MiB)
#   WMDM_BENCH_CLI=1 scripts/bench.sh           # also time whole runs of the sync example
#   WMDM_BENCH_CLI_ONLY=1 scripts/bench.sh      # only those (no criterion benches)
#   WMDM_BENCH_RESYNC_FILES=10000 ...           # small tracks in those runs (default 10000)
#   WMDM_BENCH_RUNS=3 ...                       # runs per whole-process row (the median)
#   WMDM_BENCH_CLI_SETS=small ...               # only the small-track rows (first sync and
#                                               # both resyncs; default "small large")
#   WMDM_BENCH_STRACE=1 ...                     # and system calls per copied file
#   WMDM_BENCH_SYNC_BIN=path ...                # time that build of the sync example
#   WMDM_BENCH_FRESH_FS=1 ...                   # each whole-process first sync (and its
#                                               # baseline) on a fresh ext4 file system
#
# Why WMDM_BENCH_FRESH_FS: on a file system that has just lost many files (every run here
# removes the last run's 10,000), ext4 skips inodes deleted less than a minute or so ago when
# it allocates new ones, and that search made file creation up to 5x dearer from one run to
# the next (`perf`: find_inode_bit, recently_deleted). A fresh file system for each run (a
# loop-mounted image on the same disk, library copied in first; root, mkfs.ext4 and loop
# devices needed) makes the first-sync rows repeatable. The loop device adds a cost of its own
# to every flush (each reaches the image file's fsync on the disk below): rows whose time is
# mostly flushing (60 x 4 MB) read higher there than in place, where the bars are measured.
# The image is made with its inode tables and journal initialised (no `ext4lazyinit` thread
# writing them during the timed runs, which slowed whichever run came first after a mount).
#
# About 7 minutes on an idle two-core machine (the library's cold scan reads 10,000 files from
# the disk ten times); twice that when others are compiling.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR=never
export WMDM_BENCH_COPY_MIB="${WMDM_BENCH_COPY_MIB:-256}"
RESYNC_FILES="${WMDM_BENCH_RESYNC_FILES:-10000}"
TARGET="${CARGO_TARGET_DIR:-target}"
CRIT="$TARGET/criterion"
# The sync example the whole-process rows run (another build of it, to compare two versions).
SYNC_BIN="${WMDM_BENCH_SYNC_BIN:-$TARGET/release/examples/sync}"
SHORT=(--warm-up-time 1 --measurement-time 2)
ROWS=()

log() { printf '== %s\n' "$*" >&2; }

# The mean of one criterion benchmark, in nanoseconds, from its estimates.json (no jq needed:
# the file is one line and "mean" comes first).
mean_ns() {
    local file="$CRIT/$1/new/estimates.json"
    [[ -f "$file" ]] || { echo ""; return; }
    sed -E 's/.*"mean":\{"confidence_interval":\{[^}]*\},"point_estimate":([0-9.eE+-]+).*/\1/' "$file"
}

# A human duration for nanoseconds.
human() {
    awk -v n="$1" 'BEGIN {
        if (n >= 1e9) printf "%.2f s", n / 1e9;
        else if (n >= 1e6) printf "%.1f ms", n / 1e6;
        else if (n >= 1e3) printf "%.1f us", n / 1e3;
        else printf "%.0f ns", n }'
}

# row LABEL MEASURED_NS BASELINE_LABEL BASELINE_NS BAR
row() {
    local label="$1" a="$2" base_label="$3" b="$4" bar="$5"
    if [[ -z "$a" || -z "$b" ]]; then
        # Rows of the criterion benches that were not run are left out.
        [[ "${WMDM_BENCH_CLI_ONLY:-0}" == 1 ]] && return
        ROWS+=("$(printf '%-44s %-12s %-30s %-8s %s' "$label" "n/a" "$base_label" "-" "$bar (not measured)")")
        return
    fi
    local ratio
    ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }')
    ROWS+=("$(printf '%-44s %-12s %-30s %-8s %s' "$label" "$(human "$a")" "$base_label $(human "$b")" "$ratio" "$bar")")
}

# row_abs LABEL MEASURED_NS BAR: a figure with an absolute bar rather than a baseline.
row_abs() {
    [[ -z "$2" && "${WMDM_BENCH_CLI_ONLY:-0}" == 1 ]] && return
    local value="n/a"
    [[ -n "$2" ]] && value="$(human "$2")"
    ROWS+=("$(printf '%-44s %-12s %-30s %-8s %s' "$1" "$value" "-" "-" "$3")")
}

ensure_rsync() {
    command -v rsync >/dev/null 2>&1 && return 0
    log "rsync is missing; installing it"
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rsync >/dev/null
    elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
        sudo -n apt-get update -qq >/dev/null && sudo -n apt-get install -y -qq rsync >/dev/null
    fi
    command -v rsync >/dev/null 2>&1 || { log "could not install rsync; its row is skipped"; return 1; }
}

has_bench() { [[ -f "benches/$1.rs" ]] && grep -q "name = \"$1\"" Cargo.toml; }

log "building benches and examples in release"
[[ "${WMDM_BENCH_CLI_ONLY:-0}" == 1 ]] || cargo bench --no-run -q
[[ -n "${WMDM_BENCH_SYNC_BIN:-}" ]] || cargo build --release --examples -q
rm -rf "$CRIT"

if [[ "${WMDM_BENCH_CLI_ONLY:-0}" != 1 ]]; then

    log "sac: handshake, channel transfers"
    cargo bench -q --bench sac -- "${SHORT[@]}" >/dev/null
    log "library: scan 10k cold (disk, page-cached)/warm, auto playlists over 1M tracks"
    cargo bench -q --bench library -- "${SHORT[@]}" >/dev/null
    if has_bench fs_provider; then
        log "fs provider: copy ${WMDM_BENCH_COPY_MIB} MiB, enumerate 100k"
        # Each copy runs in its own process, baseline and provider alternating: in one process
        # every later copy pays for the inodes the earlier ones created and deleted (ext4 scans
        # recently freed inodes when it allocates one), which made the last rows look slower.
        # WMDM_BENCH_FILES=100 keeps the enumerate group's setup small when it is not measured.
        for filter in 'copy_1gib/cp -r$' 'copy_1gib/provider/fast' 'copy_1gib/cp -r && sync' \
            'copy_1gib/provider/durable$' 'copy_1gib/provider/durable batch' \
            'copy_1gib/std::fs::copy loop'; do
            WMDM_BENCH_FILES=100 cargo bench -q --bench fs_provider -- "${SHORT[@]}" "$filter" \
                >/dev/null
        done
        cargo bench -q --bench fs_provider -- "${SHORT[@]}" enumerate_100k >/dev/null
    fi
    if has_bench sync; then
        log "sync: plan 100k tracks"
        cargo bench -q --bench sync -- "${SHORT[@]}" >/dev/null
    fi
    if has_bench sync_resync && ensure_rsync; then
        log "sync: no-op resync of 10,000 files against rsync -a"
        cargo bench -q --bench sync_resync -- "${SHORT[@]}" >/dev/null
    fi
fi

# Whole runs of the sync example, as a user runs it (library scan, keys, partnership, plan,
# copies), against the baseline a user would compare with, both timed the same way in this same
# run: the wall clock of the whole process, baseline and sync alternating, the median of
# WMDM_BENCH_RUNS runs. Before every timed run `sync` empties the page cache's dirty data, so
# neither side pays for the other's writes.
#   first sync of RESYNC_FILES tracks of 17 KB    vs `rsync -a src/ dst/ && sync`
#   first sync of 60 tracks of 4 MB              vs `cp -r src dst && sync`
#   the first resync after a first sync          vs `rsync -a` with nothing to copy
#   a later no-op resync                         vs `rsync -a` with nothing to copy
# With WMDM_BENCH_STRACE=1 (and strace installed), one more first sync of each library runs
# under `strace -c -f` and the calls per copied file are printed by type.
CLI_RUNS="${WMDM_BENCH_RUNS:-3}"
declare -A CLI=()

# median N...: the middle value (the lower middle for an even count).
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# timed CMD...: nanoseconds the command took, after a `sync` that is not counted.
timed() {
    local t0 t1
    sync
    t0=$(date +%s%N)
    "$@" >/dev/null
    t1=$(date +%s%N)
    echo $((t1 - t0))
}

# The demo's tracks are smaller the more there are; pad grows each to about BYTES and keeps
# it a valid file of its format (silent frames after an MP3, a JUNK chunk in a WAV's RIFF,
# zeros after a FLAC's last frame), so the tag reader reads what it would in real files.
pad_library() {
    local bytes="$1" dir="$2"
    find "$dir" -type f \( -name '*.mp3' -o -name '*.wav' -o -name '*.flac' \) -print0 |
        xargs -0 perl -e '
            my $target = shift;
            my $frame = "\xFF\xFB\x90\xC0" . ("\0" x 413);
            for my $f (@ARGV) {
                my $size = -s $f;
                next if $size + 8 >= $target;
                my $n = $target - $size;
                open(my $fh, "+<:raw", $f) or die "$f: $!";
                seek($fh, 0, 2);
                if ($f =~ /\.mp3$/i) {
                    print $fh ($frame x int(($n + 416) / 417));
                } elsif ($f =~ /\.wav$/i) {
                    my $body = ($n - 8) & ~1;
                    print $fh "JUNK", pack("V", $body), "\0" x $body;
                    seek($fh, 4, 0);
                    print $fh pack("V", $size + $body);
                } else {
                    print $fh "\0" x $n;
                }
                close($fh) or die "$f: $!";
            }' "$bytes"
}

# fresh_fs_usable: true when WMDM_BENCH_FRESH_FS=1 and a loop-mounted ext4 can be made.
fresh_fs_usable() {
    [[ "${WMDM_BENCH_FRESH_FS:-0}" == 1 ]] || return 1
    if [[ "$(id -u)" != 0 ]] || ! command -v mkfs.ext4 >/dev/null 2>&1; then
        log "WMDM_BENCH_FRESH_FS needs root and mkfs.ext4; the rows run in place"
        return 1
    fi
}

# fresh_fs WORK LIBRARY: unmounts WORK/mnt if mounted, makes a new ext4 image there large
# enough for three copies of LIBRARY, mounts it, copies LIBRARY in as WORK/mnt/library and
# flushes it all; the runs that follow start from a file system with no deleted inodes.
fresh_fs() {
    local work="$1" lib="$2" mib
    mountpoint -q "$work/mnt" 2>/dev/null && umount "$work/mnt"
    mib=$(($(du -sm "$lib" | cut -f1) * 3 + 256))
    rm -f "$work/fs.img"
    truncate -s "${mib}M" "$work/fs.img"
    # Inode tables and journal written now, not by a kernel thread during the timed runs.
    mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$work/fs.img"
    mkdir -p "$work/mnt"
    mount -o loop "$work/fs.img" "$work/mnt"
    cp -a "$lib" "$work/mnt/library"
    sync
}

# cli_rows NAME TRACKS BYTES BASELINE: times first syncs against BASELINE (rsync or cp), and
# for the rsync case the resyncs after them; stores medians in CLI[NAME/...].
cli_rows() {
    local name="$1" tracks="$2" bytes="$3" base="$4"
    local work="$TARGET/bench-cli/$name"
    mountpoint -q "$work/mnt" 2>/dev/null && umount "$work/mnt"
    rm -rf "$work"
    mkdir -p "$work"
    log "whole process ($name): a ${tracks}-track library of about $((bytes / 1000)) kB a track"
    "$SYNC_BIN" --make-demo "$work/library" --tracks "$tracks" >/dev/null
    pad_library "$bytes" "$work/library"
    # Where the runs happen: in place, or on a fresh file system each (WMDM_BENCH_FRESH_FS).
    local at="$work" fresh=0
    if fresh_fs_usable; then
        fresh=1
        at="$work/mnt"
        log "each first sync and its baseline on a fresh ext4 image ($work/fs.img)"
    fi
    local sync_cmd=("$SYNC_BIN" --library "$at/library" --device "$at/device"
        --state "$at/state" --capacity 100000000000 --json)
    local first=() baseline=() resync1=() resync=() noop=()
    local i
    for ((i = 0; i < CLI_RUNS; i++)); do
        if ((fresh)); then fresh_fs "$work" "$work/library"; fi
        rm -rf "$at/copy" "$at/device" "$at/state"
        mkdir -p "$at/device"
        if [[ "$base" == rsync ]]; then
            baseline+=("$(timed sh -c 'rsync -a "$1/" "$2/" && sync' - "$at/library" "$at/copy")")
        else
            baseline+=("$(timed sh -c 'cp -r "$1" "$2" && sync' - "$at/library" "$at/copy")")
        fi
        if ((fresh)); then
            # The sync's own fresh file system; the copy the no-op rsync compares against
            # is made on it, untimed.
            fresh_fs "$work" "$work/library"
            mkdir -p "$at/device"
            if [[ "$base" == rsync ]]; then rsync -a "$at/library/" "$at/copy/"; fi
        fi
        first+=("$(timed "${sync_cmd[@]}")")
        if [[ "$base" == rsync ]]; then
            resync1+=("$(timed "${sync_cmd[@]}")")
            noop+=("$(timed rsync -a "$at/library/" "$at/copy/")")
            resync+=("$(timed "${sync_cmd[@]}")")
        fi
    done
    # Every run, in milliseconds, so that the spread behind each median can be seen.
    ms() { local v out=(); for v in "$@"; do out+=("$((v / 1000000))"); done; echo "${out[*]}"; }
    log "runs ($name, ms): first $(ms "${first[@]}"); baseline $(ms "${baseline[@]}")"
    if [[ "$base" == rsync ]]; then
        log "runs ($name, ms): first resync $(ms "${resync1[@]}"); no-op $(ms "${resync[@]}"); rsync -a no-op $(ms "${noop[@]}")"
    fi
    CLI[$name/first]=$(median "${first[@]}")
    CLI[$name/baseline]=$(median "${baseline[@]}")
    if [[ "$base" == rsync ]]; then
        CLI[$name/resync1]=$(median "${resync1[@]}")
        CLI[$name/resync]=$(median "${resync[@]}")
        CLI[$name/noop]=$(median "${noop[@]}")
    fi
    if [[ "${WMDM_BENCH_STRACE:-0}" == 1 ]] && command -v strace >/dev/null 2>&1; then
        if ((fresh)); then fresh_fs "$work" "$work/library"; fi
        rm -rf "$at/device" "$at/state"
        mkdir -p "$at/device"
        strace -f -c -o "$work/strace.txt" "${sync_cmd[@]}" >/dev/null
        log "system calls per copied file, first sync ($name, ${tracks} files; $work/strace.txt):"
        awk -v n="$tracks" '$NF ~ /^[a-z_0-9]+$/ && $4 ~ /^[0-9]+$/ && $4 / n >= 0.5 {
            printf "   %-14s %6.1f\n", $NF, $4 / n }' "$work/strace.txt" | sort -k2 -rn >&2
    fi
    if ((fresh)); then
        umount "$work/mnt"
        rm -f "$work/fs.img"
    fi
}

if [[ "${WMDM_BENCH_CLI:-${WMDM_BENCH_CLI_ONLY:-0}}" == 1 ]] && grep -q 'make_demo' examples/sync.rs &&
    ensure_rsync; then
    CLI_SETS=" ${WMDM_BENCH_CLI_SETS:-small large} "
    if [[ "$CLI_SETS" == *" small "* ]]; then cli_rows small "$RESYNC_FILES" 17000 rsync; fi
    if [[ "$CLI_SETS" == *" large "* ]]; then cli_rows large 60 4000000 cp; fi
fi

copy="copy_1gib"
# Durable copies sync every file before it appears, as `cp -r && sync` syncs once at the end;
# plain `cp -r` returns with the data still in the page cache.
row "provider copy ${WMDM_BENCH_COPY_MIB} MiB (not durable)" "$(mean_ns "$copy/provider/fast")" \
    "cp -r" "$(mean_ns "$copy/cp -r")" "bar: <= 1.11x (>= 0.9x throughput)"
row "provider copy ${WMDM_BENCH_COPY_MIB} MiB (durable, per file)" "$(mean_ns "$copy/provider/durable")" \
    "cp -r" "$(mean_ns "$copy/cp -r")" "bar: <= 1.11x (>= 0.9x throughput)"
row "provider copy ${WMDM_BENCH_COPY_MIB} MiB (durable, batch)" "$(mean_ns "$copy/provider/durable batch")" \
    "cp -r" "$(mean_ns "$copy/cp -r")" "bar: <= 1.11x (>= 0.9x throughput)"
row "provider copy ${WMDM_BENCH_COPY_MIB} MiB (durable, per file)" "$(mean_ns "$copy/provider/durable")" \
    "cp -r && sync" "$(mean_ns "$copy/cp -r && sync")" "same durability"
row "provider copy ${WMDM_BENCH_COPY_MIB} MiB (durable, batch)" "$(mean_ns "$copy/provider/durable batch")" \
    "cp -r && sync" "$(mean_ns "$copy/cp -r && sync")" "same durability"
row "cp -r && sync ${WMDM_BENCH_COPY_MIB} MiB" "$(mean_ns "$copy/cp -r && sync")" \
    "cp -r" "$(mean_ns "$copy/cp -r")" "(the cost of durability itself)"
row "provider enumerate 100k" "$(mean_ns "enumerate_100k/provider/walk")" \
    "find -printf" "$(mean_ns "enumerate_100k/find -printf %s")" "bar: <= 1.5x"
r="noop_resync_10k"
row "no-op resync 10k (rescan + sync, in process)" "$(mean_ns "$r/sync")" \
    "rsync -a" "$(mean_ns "$r/rsync_a")" "bar: <= 1.00x rsync -a"
row "  the same without statistics read-back" "$(mean_ns "$r/sync_without_stats")" \
    "rsync -a" "$(mean_ns "$r/rsync_a")" ""
row "first sync ${RESYNC_FILES} x 17 kB (process)" "${CLI[small/first]:-}" \
    "rsync -a && sync" "${CLI[small/baseline]:-}" "bar: <= 1.0x"
row "first sync 60 x 4 MB (process)" "${CLI[large/first]:-}" \
    "cp -r && sync" "${CLI[large/baseline]:-}" "bar: <= 1.2x"
row "first resync after a first sync (process)" "${CLI[small/resync1]:-}" \
    "rsync -a (no-op)" "${CLI[small/noop]:-}" "bar: <= 0.8x"
row "no-op resync ${RESYNC_FILES} (process)" "${CLI[small/resync]:-}" \
    "rsync -a (no-op)" "${CLI[small/noop]:-}" "bar: <= 0.8x"
row "full SAC handshake" "$(mean_ns "handshake/full handshake")" \
    "its RSA ops" "$(mean_ns "handshake/rsa operations alone")" "bar: <= 1.2x"
t="transfer 100 MiB"
row "100 MiB, manager, secure channel" "$(mean_ns "$t/manager, secure channel")" \
    "direct writes" "$(mean_ns "$t/direct write loop on the provider")" ""
row "100 MiB, manager, clear channel" "$(mean_ns "$t/manager, clear channel")" \
    "direct writes" "$(mean_ns "$t/direct write loop on the provider")" \
    "bar: <= 1.25x (>= 0.8x throughput)"
row "100 MiB, secure channel" "$(mean_ns "$t/manager, secure channel")" \
    "clear channel" "$(mean_ns "$t/manager, clear channel")" ""
row_abs "plan 100k tracks, no-op resync" "$(mean_ns "plan_100k/resync")" "bar: <= 200 ms"
row "plan 100k tracks, first sync" "$(mean_ns "plan_100k/first_sync")" \
    "HashMap build" "$(mean_ns "plan_100k/baseline_hashmap_build")" ""
s="scan_10k"
row "library scan 10k, warm rescan" "$(mean_ns "$s/warm_rescan")" \
    "cold scan (disk)" "$(mean_ns "$s/cold")" "bar: <= 0.05x (20x faster)"
row "library scan 10k, warm open (cache load)" "$(mean_ns "$s/warm_open")" \
    "cold scan (disk)" "$(mean_ns "$s/cold")" "bar: <= 0.05x (20x faster)"
row "library scan 10k, warm rescan" "$(mean_ns "$s/warm_rescan")" \
    "cold scan (page-cached)" "$(mean_ns "$s/cold_page_cached")" "(floor-bound: see next rows)"
row "library scan 10k, warm open (cache load)" "$(mean_ns "$s/warm_open")" \
    "cold scan (page-cached)" "$(mean_ns "$s/cold_page_cached")" ""
row "library scan 10k, warm rescan" "$(mean_ns "$s/warm_rescan")" \
    "stat floor (1 thread)" "$(mean_ns "$s/stat_floor")" "(the stat calls alone)"
row "library scan 10k, cold (page-cached)" "$(mean_ns "$s/cold_page_cached")" \
    "stat floor (1 thread)" "$(mean_ns "$s/stat_floor")" "(best warm/cold ratio possible)"
row "auto playlist, 3 rules over 1M tracks" "$(mean_ns "auto_1m/three_rules")" \
    "genre loop" "$(mean_ns "auto_1m/baseline_genre_loop")" "bar: <= 0.5 s"

echo
printf '%-44s %-12s %-30s %-8s %s\n' "measurement" "time" "baseline (same run)" "ratio" "bar"
printf '%s\n' "${ROWS[@]}"
