#!/usr/bin/env bash
# Regenerates the seed corpora under fuzz/seeds/<target>/ from real inputs:
#   - state files written by a real sync (the sync example on a demo library of a few tracks,
#     to a device folder): the folder device's .wmdm/device.id and ID log, the sync's ledger and
#     partnership marker, the library's scan cache, playlist state and partnership table, and
#     the playlists the sync wrote (M3U8 and WPL);
#   - a journal and commit records from a sync killed with SIGKILL in the middle (tried until
#     one is caught);
#   - the example's certificates as it keeps them in its state folder;
#   - the test fixtures under tests/data (the WMA file's ASF header, the test certificates'
#     keys are not inputs);
#   - M3U8 and WPL files in odd encodings (BOM, UTF-16, Latin-1, CRLF, entities) written here;
#   - for the structure-aware targets (their input drives a generator), a few fixed byte
#     patterns that select each of the generator's branches.
# Seeds are kept small (each file at most 64 KiB); run it again after a state format changes.
#
#   fuzz/make-seeds.sh            # uses $CARGO_TARGET_DIR (or target/) for the example
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seeds=$root/fuzz/seeds
target=${CARGO_TARGET_DIR:-$root/target}
cargo build --example sync -q
bin=$target/debug/examples/sync

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
put() { # put <target> <name> <file or ->
    mkdir -p "$seeds/$1"
    if [[ $3 == - ]]; then cat >"$seeds/$1/$2"; else head -c 65536 "$3" >"$seeds/$1/$2"; fi
}

# --- a real sync: a demo library of 6 tracks to a device folder, M3U8 then WPL playlists
"$bin" --make-demo "$work/lib" --tracks 6 >/dev/null
mkdir -p "$work/dev"
"$bin" --library "$work/lib" --device "$work/dev" --state "$work/state" --json >/dev/null
"$bin" --library "$work/lib" --device "$work/dev" --state "$work/state" --json \
    --playlist-format wpl >/dev/null
ls -R "$work/dev" "$work/state" >"$work/listing"
# The certificates the example issued and keeps in its state folder (SAC_CERT_V1 bytes).
for f in "$work"/state/certs/*.cert; do put sac_certificate "real-$(basename "$f")" "$f"; done
put fs_device_state real-sync <(
    cat "$work/dev/.wmdm/device.id"; printf '\xff'
    cat "$work/dev/.wmdm/ids"; printf '\xff'
    find "$work/dev" -name '*.m3u8' -print0 | xargs -0 cat | head -c 4096; printf '\xff'
    find "$work/dev" -name '*.wpl' -print0 | xargs -0 cat | head -c 8192
)
n=0
while IFS= read -r -d '' f; do
    put sync_ledger "real-$((n++))" "$f"
done < <(find "$work/dev/.wmdm-sync" -name 'ledger-*.txt' -print0)
put sync_marker real "$work/dev/.wmdm-sync/partnership.txt"
n=0
while IFS= read -r -d '' f; do
    case $(basename "$f") in
    *.m3u8 | *.m3u) put library_m3u "real-$((n++))" "$f" ;;
    *.wpl) put library_wpl "real-$((n++))" "$f" ;;
    esac
done < <(find "$work/dev" "$work/lib" -type f \( -name '*.m3u8' -o -name '*.wpl' \) -print0)
n=0
while IFS= read -r -d '' f; do
    first=$(head -c 40 "$f" | tr -d '\0' | head -n1)
    case $first in
    wmdm-sync-partnerships*) put sync_partnerships "real-$((n++))" "$f" ;;
    wmdm-sync-stats*) put sync_stats "real-$((n++))" "$f" ;;
    wmdm-library-playlists*) put library_playlist_state "real-$((n++))" "$f" ;;
    *) case $(basename "$f") in
        *cache*) put library_cache "real-$((n++))" "$f" ;;
        esac ;;
    esac
done < <(find "$work/state" "$work/lib" -type f ! -name '*.mp3' ! -name '*.wma' ! -name '*.ogg' \
    ! -name '*.flac' ! -name '*.m4a' ! -name '*.wav' -print0)

# --- a sync killed in the middle: its journal and commit records
"$bin" --make-demo "$work/lib2" --tracks 60 >/dev/null
mkdir -p "$work/warm"
"$bin" --library "$work/lib2" --device "$work/warm" --state "$work/state2" --dry-run >/dev/null
# Stopped (SIGSTOP) the moment a batch's commit record appears, copied, then killed.
rm -rf "$work/dev2"
mkdir -p "$work/dev2"
"$bin" --library "$work/lib2" --device "$work/dev2" --state "$work/state2" --json >/dev/null 2>&1 &
pid=$!
for _ in $(seq 5000); do
    if compgen -G "$work/dev2/.wmdm-sync/commit-*" >/dev/null; then
        kill -STOP "$pid"
        break
    fi
    sleep 0.001
done
for f in "$work"/dev2/.wmdm-sync/journal-*; do put sync_journal killed "$f"; done
for f in "$work"/dev2/.wmdm-sync/commit-*; do put sync_commit "killed-$(basename "$f")" "$f"; done
put fs_device_state killed <(
    cat "$work/dev2/.wmdm/device.id"; printf '\xff'; cat "$work/dev2/.wmdm/ids"
)
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
compgen -G "$seeds/sync_commit/*" >/dev/null || { echo "no sync was caught with a commit record" >&2; exit 1; }

# --- tests/data: the WMA fixture's ASF header objects (the first 16 KiB hold them)
put library_asf wmav2-header tests/data/library/wmav2.wma

# --- playlists in odd encodings
printf '\xef\xbb\xbf#EXTM3U\r\n#EXTINF:123,Artist - T\xc3\xaftle\r\nMusic/A/01 \xc3\xa9t\xc3\xa9.mp3\r\n' |
    put library_m3u utf8-bom-crlf -
printf '#EXTM3U\n#EXTINF:-1,Caf\xe9\nMusic/Caf\xe9.mp3\n\n# comment\nhttp://example.invalid/x.mp3\n../up.mp3\n/abs.mp3\n' |
    put library_m3u latin1 -
printf '\xff\xfe#\x00E\x00X\x00T\x00M\x003\x00U\x00\n\x00a\x00.\x00m\x00p\x003\x00\n\x00' |
    put library_m3u utf16le-bom -
printf '#EXTM3U\n#EXTINF:1,no path after me\n#EXTINF:2,\n\n' | put library_m3u dangling -
printf '\xef\xbb\xbf<?wma version="1.0"?>\r\n<smil><head><title>M&amp;m &#233; &#x263A;</title></head><body><seq><media src="Music\\A\\01 a.mp3"/><media src="b&lt;c.wma"/></seq></body></smil>\r\n' |
    put library_wpl utf8-bom-entities -
printf '\xff\xfe<\x00s\x00m\x00i\x00l\x00>\x00<\x00b\x00o\x00d\x00y\x00>\x00<\x00s\x00e\x00q\x00>\x00<\x00m\x00e\x00d\x00i\x00a\x00 \x00s\x00r\x00c\x00=\x00"\x00a\x00.\x00m\x00p\x003\x00"\x00/\x00>\x00<\x00/\x00s\x00e\x00q\x00>\x00<\x00/\x00b\x00o\x00d\x00y\x00>\x00<\x00/\x00s\x00m\x00i\x00l\x00>\x00' |
    put library_wpl utf16le-bom -
printf '<?wma version="1.0"?><smil><head><meta name="Generator" content="x"/><title><![CDATA[a<b]]></title></head><body><seq><media src="&#0;"/><media/><media src=""/></seq></body></smil>' |
    put library_wpl cdata-odd -
put fs_device_state odd-playlists <(
    printf 'not an id\xff'; printf 'wmdm-ids 1\nnext 10\n+ 1 0 a\n+ 2 1 b.mp3\n- 2\n+ 3 9 orphan\n\xff'
    cat "$seeds/library_m3u/latin1"; printf '\xff'; cat "$seeds/library_wpl/utf16le-bom"
)

# --- text inputs: names, rules, templates, a stats file (as documented in their modules)
for n in 'CON' 'a:b?.mp3' 'ñandú – 01.mp3' ' trailing. ' "$(printf 'x%.0s' {1..300}).mp3" '..' 'tab	here'; do
    printf '%s' "$n" | put fs_names "name-$(printf '%s' "$n" | cksum | cut -d' ' -f1)" -
done
printf 'genre = Jazz and rating >= 80 limit 1GB' | put library_rule jazz -
printf 'all order by title' | put library_rule order -
printf 'not (artist contains "ü" or year < 1990) and plays > 3' | put library_rule nested -
printf '{albumartist}/{album}/{track:02} {title}.{ext}' | put library_template default -
printf '{artist}/{{literal}}/{disc:03}-{track} {title}.{ext}' | put library_template odd -
printf 'wmdm-sync-stats 1\n0000000000000001\t3\t80\t1767225600\n00000000000000ff\t0\t\t\n' |
    put sync_stats two-tracks -

# --- the structure-aware targets: fixed patterns (their bytes drive a generator)
for t in sac_client_pass0_reply sac_client_pass1_reply sac_server_pass0 sac_server_pass1 sync_recovery; do
    head -c 64 /dev/zero | put "$t" zeros -
    head -c 256 /dev/zero | tr '\0' '\377' | put "$t" ones -
    for i in 1 2 3 4 5; do
        # A fixed pseudo-random pattern per seed (reproducible: no /dev/urandom).
        python3 -c "import random,sys; r=random.Random($i*7919+len('$t')); sys.stdout.buffer.write(bytes(r.randrange(256) for _ in range(96*$i)))" |
            put "$t" "pattern-$i" -
    done
done
# The recorded handshake messages for the byte-level certificate parser.
echo "seeds written under fuzz/seeds/: $(find "$seeds" -type f | wc -l) files, $(du -sk "$seeds" | cut -f1) KiB"
