//! Memory per track when planning 1,000,000 tracks, measured with a counting global allocator:
//! the peak of bytes allocated while `plan()` runs (inputs excluded), divided by the track
//! count. Bar: at most 1 KiB per track. Two cases: a first sync (every track copied, every path
//! rendered, a 1,000,000-entry playlist written) and a resync against a device holding all of
//! them.
//!
//! Not a criterion bench: it prints its measurements (`cargo bench --bench sync_memory`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use wmdm::sync::{PlanInput, PlanSettings, plan};

#[path = "sync_data/mod.rs"]
mod sync_plan_data;

struct Counting;

static NOW: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call forwards to the system allocator unchanged; the counters only observe.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = NOW.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        // SAFETY: the caller's layout is passed on as is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        NOW.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn measure(name: &str, synced: bool) {
    const N: u64 = 1_000_000;
    let d = sync_plan_data::data(N, synced);
    let settings = PlanSettings::default();
    let base = NOW.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let t = std::time::Instant::now();
    let p = plan(&PlanInput {
        library: &d.library,
        selection: &d.selection,
        hashes: &d.hashes,
        device: &d.device,
        ledger: &d.ledger,
        settings: &settings,
        skipped: &Default::default(),
        adoptable: None,
    });
    let elapsed = t.elapsed();
    let peak = PEAK.load(Ordering::Relaxed) - base;
    let per_track = peak as f64 / N as f64;
    println!(
        "plan_1m/{name}: peak {:.1} MiB during plan, {per_track:.0} bytes/track ({:.2} of the 1 KiB bar), {} ops, {elapsed:?}",
        peak as f64 / (1024.0 * 1024.0),
        per_track / 1024.0,
        p.ops.len()
    );
    assert!(per_track <= 1024.0, "over the 1 KiB/track bar");
}

fn main() {
    measure("first_sync", false);
    measure("resync", true);
}
