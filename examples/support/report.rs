//! What the sync example prints, and how it fails: one line on stderr and an exit status.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use wmdm::Error;
use wmdm::library::Library;
use wmdm::provider::LockHolder;
use wmdm::sync::{
    DeleteReason, LeftAloneReason, LeftOutReason, SyncDevice, SyncOp, SyncPlan, SyncSummary,
};

/// Why the command stops, with its exit status (the example's docs and README.md list them).
#[derive(Debug)]
pub enum Failure {
    /// Bad arguments (a `--state` that is a file included): exit 2.
    Usage(String),
    /// The device is missing, not a folder, read-only, or went away: exit 4.
    Device(String),
    /// Another sync holds the device: exit 5.
    Busy(String),
    /// The device filled up: exit 6.
    Full(String),
    /// Anything else: exit 1.
    Other(String),
}

impl Failure {
    pub fn usage(message: String) -> Failure {
        Failure::Usage(message)
    }

    pub fn device(message: String) -> Failure {
        Failure::Device(message)
    }

    pub fn other(doing: &str, e: Error) -> Failure {
        Failure::Other(format!("{doing}: {}", e.report()))
    }

    /// An error from the device side: the device's fault (exit 4) when it is gone, full of
    /// nothing writable, or refuses access; otherwise exit 1.
    pub fn device_error(device: &Path, e: Error) -> Failure {
        use wmdm::ErrorKind as K;
        match e.kind() {
            K::Disconnected | K::PermissionDenied | K::NotFound => {
                Failure::Device(format!("device {}: {}", device.display(), e.report()))
            }
            _ => Failure::Other(format!("device {}: {}", device.display(), e.report())),
        }
    }

    /// Another writer holds the device (exit 5), naming it when the device says who.
    pub fn busy(device: &Path, holder: Option<LockHolder>) -> Failure {
        Failure::Busy(match holder {
            Some(h) => format!(
                "the device {} is busy: {h} is syncing it; run again when it has finished",
                device.display()
            ),
            None => format!(
                "the device {} is busy: another sync is writing to it; run again when it has finished",
                device.display()
            ),
        })
    }

    /// An error from a sync device: busy (with its holder), full, or as
    /// [`device_error`](Self::device_error).
    pub fn from_sync(path: &Path, device: &SyncDevice, e: Error) -> Failure {
        match e.kind() {
            wmdm::ErrorKind::Busy if e == Error::Busy => Failure::busy(path, device.lock_holder()),
            wmdm::ErrorKind::StorageFull => {
                Failure::Full(format!("the device {} is full: {e}", path.display()))
            }
            _ => Failure::device_error(path, e),
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Failure::Usage(m)
            | Failure::Device(m)
            | Failure::Busy(m)
            | Failure::Full(m)
            | Failure::Other(m) => m,
        }
    }

    pub fn code(&self) -> u8 {
        match self {
            Failure::Usage(_) => 2,
            Failure::Device(_) => 4,
            Failure::Busy(_) => 5,
            Failure::Full(_) => 6,
            Failure::Other(_) => 1,
        }
    }
}

/// `123`, `500MB`, `2GB`, `1.5GiB`, `700k`: decimal units (k, M, G, T) and binary ones (KiB,
/// MiB, GiB, TiB); a trailing `B` is optional.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size (try 2GB or 500000000)"))?;
    let unit = unit.trim().to_ascii_lowercase();
    let scale: f64 = match unit.trim_end_matches('b') {
        "" => 1.0,
        "k" => 1e3,
        "m" => 1e6,
        "g" => 1e9,
        "t" => 1e12,
        "ki" => 1024.0,
        "mi" => 1024.0 * 1024.0,
        "gi" => 1024.0 * 1024.0 * 1024.0,
        "ti" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => {
            return Err(format!(
                "unknown unit in {text:?} (use k, M, G, T, KiB, MiB, GiB or TiB)"
            ));
        }
    };
    let bytes = value * scale;
    if !bytes.is_finite() || !(1.0..=1e18).contains(&bytes) {
        return Err(format!("{text:?} is out of range"));
    }
    Ok(bytes as u64)
}

/// `12.3 MB`.
pub fn human_bytes(n: u64) -> String {
    let n = n as f64;
    if n >= 1e9 {
        format!("{:.2} GB", n / 1e9)
    } else if n >= 1e6 {
        format!("{:.1} MB", n / 1e6)
    } else if n >= 1e3 {
        format!("{:.1} kB", n / 1e3)
    } else {
        format!("{n} B")
    }
}

/// The state folder for a library: `$XDG_STATE_HOME/wmdm-sync/<name>-<hash>` (or
/// `~/.local/state/...`; `%LOCALAPPDATA%\wmdm-sync\...` on Windows), so two libraries never
/// share a partnership table.
pub fn default_state_dir(library: &Path) -> Result<PathBuf, Failure> {
    wmdm::easy::default_state_dir(library).map_err(|e| {
        if e == wmdm::Error::PathNotFound {
            Failure::usage(format!(
                "the library folder {} does not exist",
                library.display()
            ))
        } else {
            Failure::usage("no home folder for the state; give --state DIR".into())
        }
    })
}

/// The one JSON object `--json` prints.
pub fn summary_json(s: &SyncSummary, elapsed: Duration) -> String {
    format!(
        "{{\"copied\":{},\"updated\":{},\"deleted\":{},\"skipped\":{},\"no_fit\":{},\"errors\":{},\"playlists_written\":{},\"bytes_copied\":{},\"elapsed_ms\":{},\"adopted\":{},\"left_alone\":{},\"renames_refused\":{}{}}}",
        s.copied,
        s.updated,
        s.deleted,
        s.skipped,
        s.no_fit,
        s.errors,
        s.playlists_written,
        s.bytes_copied,
        elapsed.as_millis(),
        s.adopted,
        s.left_alone.len(),
        s.renames_refused,
        super::transcode::json_fields(s)
    )
}

/// `--dry-run --json`: the same fields, for what the sync would do.
pub fn plan_json(plan: &SyncPlan) -> String {
    let t = &plan.totals;
    let skipped = plan.left_out.len().saturating_sub(t.no_fit);
    format!(
        "{{\"copied\":{},\"updated\":{},\"deleted\":{},\"skipped\":{},\"no_fit\":{},\"errors\":0,\"playlists_written\":{},\"bytes_copied\":{},\"elapsed_ms\":0,\"adopted\":{},\"left_alone\":0,\"renames_refused\":false,\"converted\":{}}}",
        t.copies,
        t.replaces + t.metadata_updates,
        t.deletes,
        skipped,
        t.no_fit,
        t.playlists,
        t.bytes_to_copy,
        t.adoptions,
        t.conversions
    )
}

/// Reasons selected tracks were left out, counted.
fn left_out_reasons(plan: &SyncPlan, lib: &dyn Library) -> BTreeMap<String, usize> {
    let mut by: BTreeMap<String, usize> = BTreeMap::new();
    for l in &plan.left_out {
        let list = lib.playlist(l.playlist).map_or("?", |p| p.name.as_str());
        let why = match l.reason {
            LeftOutReason::NoFit { priority, .. } => {
                format!("no room left at priority {priority} ({list})")
            }
            LeftOutReason::FormatNotSupported => "the device does not play the format".to_owned(),
            LeftOutReason::SourceMissing => "the library file is missing or unreadable".to_owned(),
            LeftOutReason::Filtered { kind } => format!("{kind:?} is filtered out this session"),
            LeftOutReason::Skipped => "deleted from the device by the user (skipped)".to_owned(),
            LeftOutReason::CannotConvert { needed, reason } => {
                format!("needs converting ({needed:?}) and cannot be: {reason:?}")
            }
        };
        *by.entry(why).or_default() += 1;
    }
    by
}

/// The human summary of one sync.
pub fn print_summary(
    title: &str,
    s: &SyncSummary,
    plan: Option<&SyncPlan>,
    lib: &dyn Library,
    elapsed: Duration,
    device: &SyncDevice,
) {
    let secs = elapsed.as_secs_f64().max(1e-3);
    println!(
        "\n{title}: {}",
        if s.completed { "done" } else { "stopped" }
    );
    println!(
        "  copied {}  updated {}  deleted {}  playlists written {}  errors {}",
        s.copied, s.updated, s.deleted, s.playlists_written, s.errors
    );
    println!(
        "  skipped {} (no room: {}, other reasons: {})",
        s.skipped + s.no_fit,
        s.no_fit,
        s.skipped
    );
    if let Some(plan) = plan {
        for (why, n) in left_out_reasons(plan, lib) {
            println!("    {n:>5}  {why}");
        }
    }
    if let Some(line) = super::transcode::summary_line(s) {
        println!("{line}");
    }
    println!(
        "  {} in {:.2} s ({}/s); {} tracks of this library on the device, {} free",
        human_bytes(s.bytes_copied),
        secs,
        human_bytes((s.bytes_copied as f64 / secs) as u64),
        s.items_on_device,
        device
            .item_info("FreeSpace")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .map_or_else(|| "?".to_owned(), human_bytes)
    );
    if s.ledger_unreadable {
        println!(
            "  note: the device's record of what this library owns was unreadable, so nothing was deleted"
        );
    }
    if s.adopted > 0 {
        println!(
            "  adopted {} identical file{} already on the device instead of copying them",
            s.adopted,
            if s.adopted == 1 { "" } else { "s" }
        );
    }
    if s.renames_refused {
        println!(
            "  note: the device refuses renames, so files were written in place under their final names"
        );
    }
    for l in s.left_alone.iter().take(10) {
        let why = match l.reason {
            LeftAloneReason::Unconfirmed => {
                "an interrupted sync planned to write here, but nothing proves the file there is its own"
            }
            LeftAloneReason::Mismatch => "not the file the interrupted sync wrote",
            LeftAloneReason::UnreadableState => "the sync's own state file could not be read",
        };
        println!("  left alone: {} ({why})", l.path);
    }
    if s.left_alone.len() > 10 {
        println!("  left alone: ... and {} more", s.left_alone.len() - 10);
    }
}

/// `--dry-run`: the plan's steps by kind, what is left out and why, and the estimate.
pub fn print_plan(plan: &SyncPlan, lib: &dyn Library) {
    let t = &plan.totals;
    println!("plan ({} steps):", plan.ops.len());
    let mut shown = 0;
    for op in &plan.ops {
        let line = match op {
            SyncOp::Copy {
                path,
                size,
                priority,
                replaces,
                convert,
                ..
            } => format!(
                "{} {path} ({}, priority {priority}){}",
                if replaces.is_some() {
                    "replace"
                } else {
                    "copy   "
                },
                human_bytes(*size),
                super::transcode::convert_note(convert.as_ref())
            ),
            SyncOp::Delete { path, reason, .. } => format!(
                "delete  {path} ({})",
                match reason {
                    DeleteReason::Unselected => "no longer selected",
                    DeleteReason::Evicted => "room for higher priorities",
                }
            ),
            SyncOp::UpdateMetadata { path, .. } => format!("tags    {path}"),
            SyncOp::WritePlaylist { path, .. } => format!("list    {path}"),
            SyncOp::Rekey { path, .. } => format!("moved   {path} (same bytes, new library path)"),
            SyncOp::Adopt { path, .. } => format!("adopt   {path} (already there, same bytes)"),
            SyncOp::Forget { path } => {
                format!("forget  {path} (changed or removed by someone else)")
            }
        };
        if shown < 40 {
            println!("  {line}");
        }
        shown += 1;
    }
    if shown > 40 {
        println!("  ... {} more steps", shown - 40);
    }
    for (why, n) in left_out_reasons(plan, lib) {
        println!("  left out {n:>5}: {why}");
    }
    println!(
        "estimate: copy {} ({} new, {} replaced), {} tag updates, delete {} ({} files), {} playlists;",
        human_bytes(t.bytes_to_copy),
        t.copies,
        t.replaces,
        t.metadata_updates,
        human_bytes(t.bytes_to_delete),
        t.deletes,
        t.playlists
    );
    println!(
        "          afterwards {} tracks using {} of a {} budget; {} did not fit",
        t.tracks_on_device,
        human_bytes(t.bytes_owned_after),
        human_bytes(t.budget),
        t.no_fit
    );
}
