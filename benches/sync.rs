//! Sync planner benchmarks.
//!
//! * `plan_100k/resync`: planning 100,000 selected tracks against a device that holds all
//!   100,000 (owned, unchanged): the no-op resync's planning cost. Bar: at most 200 ms.
//! * `plan_100k/first_sync`: the same library against an empty device (every path rendered).
//! * `plan_100k/baseline_hashmap_build`: building a `HashMap` from the 100,000 device paths, the
//!   floor any planner that looks at the device must pay, measured in the same run.

use std::collections::HashMap;

use criterion::{Criterion, criterion_group, criterion_main};
use wmdm::sync::{PlanInput, PlanSettings, plan};

#[path = "sync_data/mod.rs"]
mod sync_plan_data;

fn bench(c: &mut Criterion) {
    let synced = sync_plan_data::data(100_000, true);
    let empty = sync_plan_data::data(100_000, false);
    let settings = PlanSettings::default();
    let mut g = c.benchmark_group("plan_100k");
    g.sample_size(10);
    g.bench_function("resync", |b| {
        b.iter(|| {
            let p = plan(&PlanInput {
                library: &synced.library,
                selection: &synced.selection,
                hashes: &synced.hashes,
                device: &synced.device,
                ledger: &synced.ledger,
                settings: &settings,
                skipped: &Default::default(),
                adoptable: None,
            });
            assert!(p.is_noop());
            p
        })
    });
    g.bench_function("first_sync", |b| {
        b.iter(|| {
            let p = plan(&PlanInput {
                library: &empty.library,
                selection: &empty.selection,
                hashes: &empty.hashes,
                device: &empty.device,
                ledger: &empty.ledger,
                settings: &settings,
                skipped: &Default::default(),
                adoptable: None,
            });
            assert_eq!(p.totals.copies, 100_000);
            p
        })
    });
    g.bench_function("baseline_hashmap_build", |b| {
        b.iter(|| {
            let m: HashMap<&str, u64> = synced
                .device
                .files
                .iter()
                .map(|(k, v)| (k.as_str(), v.size))
                .collect();
            m
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
