//! `sync --verify DIR`: checks a device folder after a sync (for scripts/crashkill.sh), and
//! reads it only.
//!
//! What a finished sync must leave: no temporary file (the engine's and the folder provider's),
//! no `(2)` duplicate, no state twin (`*.new`) or journal, and every file a ledger lists
//! present with the size it records. Paths given with `--allow` (the user's own files named
//! like temporary files) are not counted.

use std::path::{Path, PathBuf};

use wmdm::sync::Ledger;

/// Every violation found below `root`, one line each.
pub fn check(root: &Path, allow: &[PathBuf]) -> Vec<String> {
    let mut out = Vec::new();
    let mut files = Vec::new();
    walk(root, root, &mut files, &mut out);
    let allowed = |rel: &Path| allow.iter().any(|a| a == rel);
    for rel in &files {
        let name = rel
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let in_state = rel.starts_with(".wmdm-sync");
        if allowed(rel) {
            continue;
        }
        if name.ends_with(".wmdm-sync-part")
            || (name.starts_with(".wmdm-sync-") && name.ends_with(".part"))
            || name.starts_with(".wmdm-tmp-")
        {
            out.push(format!("temporary file left: {}", rel.display()));
        }
        if !in_state && name.contains("(2)") {
            out.push(format!("duplicate: {}", rel.display()));
        }
        if in_state && (name.ends_with(".new") || name.starts_with("journal")) {
            out.push(format!(
                "state left after a finished sync: {}",
                rel.display()
            ));
        }
    }
    let state = root.join(".wmdm-sync");
    let Ok(entries) = std::fs::read_dir(&state) else {
        out.push("no .wmdm-sync folder".to_owned());
        return out;
    };
    let mut ledgers = 0;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !(name.starts_with("ledger") && name.ends_with(".txt")) {
            continue;
        }
        ledgers += 1;
        let bytes = match std::fs::read(e.path()) {
            Ok(b) => b,
            Err(err) => {
                out.push(format!("{name}: cannot be read: {err}"));
                continue;
            }
        };
        let ledger = match Ledger::parse(&bytes) {
            Ok(l) => l,
            Err(err) => {
                out.push(format!("{name}: cannot be parsed: {err}"));
                continue;
            }
        };
        for (path, entry) in &ledger.entries {
            match std::fs::metadata(root.join(path)) {
                Ok(md) if md.is_file() && md.len() == entry.size => {}
                Ok(md) if md.is_file() => out.push(format!(
                    "{name}: {path} is {} bytes, the ledger says {}",
                    md.len(),
                    entry.size
                )),
                Ok(_) => out.push(format!("{name}: {path} is not a file")),
                Err(_) => out.push(format!("{name}: {path} is missing")),
            }
        }
    }
    if ledgers == 0 {
        out.push("no ledger in .wmdm-sync".to_owned());
    }
    out
}

/// Files below `dir` (not the folder provider's own `.wmdm/`), relative to `base`.
fn walk(base: &Path, dir: &Path, files: &mut Vec<PathBuf>, out: &mut Vec<String>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            out.push(format!("{}: cannot be listed: {e}", dir.display()));
            return;
        }
    };
    for e in entries.flatten() {
        let path = e.path();
        let Ok(rel) = path.strip_prefix(base) else {
            continue;
        };
        if rel == Path::new(".wmdm") {
            continue;
        }
        match e.file_type() {
            Ok(t) if t.is_dir() => walk(base, &path, files, out),
            Ok(_) => files.push(rel.to_path_buf()),
            Err(err) => out.push(format!("{}: {err}", rel.display())),
        }
    }
}
