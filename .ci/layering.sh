#!/usr/bin/env bash
# The layering check: fails when a module of the crate imports from a layer above its own.
# The ranks come from docs/architecture.md (the table between the `layers:begin` and
# `layers:end` markers); a module under src/ that the table does not name fails too, so the
# table stays true. Test code (files named *tests.rs, and everything after a file's first
# top-level `#[cfg(test)]`) and comments are not checked: a test may use any layer.
set -euo pipefail
cd "$(dirname "$0")/.."

awk '
  FNR == NR {
    if ($0 ~ /<!-- layers:begin -->/) { on = 1; next }
    if ($0 ~ /<!-- layers:end -->/) { on = 0 }
    if (on && $0 ~ /^\| *[0-9]+ *\|/) {
      split($0, cells, "|"); r = cells[2] + 0; line = cells[3]
      while (match(line, /`[a-z_]+`/)) {
        rank[substr(line, RSTART + 1, RLENGTH - 2)] = r
        line = substr(line, RSTART + RLENGTH)
      }
    }
    next
  }
  # src/lib.rs: which module a root re-export (`crate::Error`) comes from.
  FILENAME == "src/lib.rs" && /^pub use [a-z_]+::/ {
    split($0, parts, "::"); mod = substr(parts[1], 9)
    line = $0
    while (match(line, /[A-Z][A-Za-z0-9_]*/)) {
      root[substr(line, RSTART, RLENGTH)] = mod
      line = substr(line, RSTART + RLENGTH)
    }
    next
  }
  FILENAME == "src/lib.rs" { next }
  FNR == 1 {
    skip = (FILENAME ~ /tests\.rs$/)
    m = FILENAME; sub(/^src\//, "", m); sub(/[\/.].*$/, "", m)
    if (!(m in rank)) { printf "%s: module `%s` is not in docs/architecture.md'"'"'s layer table\n", FILENAME, m; bad = 1; skip = 1 }
  }
  skip { next }
  /^#\[cfg\(test\)\]/ { skip = 1; next }
  /^[ \t]*\/\// { next }
  {
    code = $0; sub(/[ \t]\/\/ .*$/, "", code)
    while (match(code, /crate::[A-Za-z_][A-Za-z0-9_]*/)) {
      t = substr(code, RSTART + 7, RLENGTH - 7)
      code = substr(code, RSTART + RLENGTH)
      if (t in root) t = root[t]
      if (!(t in rank)) continue
      if (rank[t] > rank[m]) {
        printf "%s:%d: `%s` (layer %d) imports from `%s` (layer %d), a higher layer\n", FILENAME, FNR, m, rank[m], t, rank[t]
        bad = 1
      }
    }
  }
  END { exit bad }
' docs/architecture.md src/lib.rs $(find src -name '*.rs' ! -path 'src/lib.rs' | sort)
echo "layering: every import goes to the same or a lower layer"
