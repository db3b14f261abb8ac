//! Crash at every step, proven (issue 12, item 4): representative syncs on the memory device,
//! crashed before every device mutation in turn (the memory provider's crash model: what was
//! not durable is lost), then a new process recovers and finishes, a third process must find
//! nothing to do, and the invariants are checked:
//!
//! * the ledger equals the disk (every entry's file is there with its size and unique ID;
//!   every other file in the sync's area is a file the user, or another library, had there);
//! * no temporary file or journal is left;
//! * no user file is changed or deleted, byte for byte (among them one named like the folder
//!   provider's temporary files and one named like the sync's);
//! * every selected track that fits (what a clean run keeps) is on the device, once, with the
//!   library's bytes; no "(2)" file;
//! * the partnership's skipped set is exactly the tracks the user deleted (none, or two in
//!   the scenario where the user deleted tracks);
//! * the recovering run completes without item errors and the run after it is a no-op.
//!
//! The same runs on a device that refuses renames (an MTP player through FUSE: every write in
//! place behind an intent record, docs/sync.md "Devices that refuse renames") are crashed at
//! every step too.
//!
//! Each process is a new `SyncServices` over the same state folder, as a new host process is.
//! Every violation is collected with its scenario and crash point and reported at the end.

mod common;
#[path = "sync_crash/harness.rs"]
mod harness;
#[path = "sync_crash/scenarios.rs"]
mod scenarios;

use std::collections::BTreeMap;

use harness::{
    Violation, World, boot, check_runs, check_world, owned_tracks, process, skipped_files,
};
use scenarios::Scenario;
use wmdm::providers::memory::FaultPlan;

/// Every violation of one exploration, by crash point.
#[derive(Default)]
struct Report {
    lines: Vec<(String, String, Violation)>,
    points: BTreeMap<String, u64>,
    notes: Vec<String>,
}

impl Report {
    fn add(&mut self, scenario: &str, point: String, found: Vec<Violation>) {
        for v in found {
            self.lines.push((scenario.to_owned(), point.clone(), v));
        }
    }

    fn count(&mut self, scenario: &str, n: u64) {
        *self.points.entry(scenario.to_owned()).or_default() += n;
    }

    /// One line per violation class (with how many crash points and the first example),
    /// then every violation.
    fn render(&self) -> String {
        let mut by_class: BTreeMap<&str, Vec<&(String, String, Violation)>> = BTreeMap::new();
        for l in &self.lines {
            by_class.entry(l.2.class).or_default().push(l);
        }
        let mut out = format!("crash points run: {:?}\n", self.points);
        for n in &self.notes {
            out += &format!("{n}\n");
        }
        for (class, ls) in &by_class {
            let first = ls[0];
            out += &format!(
                "{class}: {} times; first: scenario {} at {}: {}\n",
                ls.len(),
                first.0,
                first.1,
                first.2.detail
            );
        }
        for (s, p, v) in self.lines.iter().take(400) {
            out += &format!("  {s} @ {p}: {v}\n");
        }
        out
    }

    fn assert_clean(&self) {
        eprintln!("{}", self.render());
        assert!(self.lines.is_empty(), "{}", self.render());
    }
}

/// The world after a clean run: its mutation count, the tracks it keeps, and its violations.
fn clean_run(sc: &Scenario) -> (u64, std::collections::BTreeSet<u64>, Vec<Violation>) {
    let device = boot(&sc.host, &sc.world.image, FaultPlan::new());
    let party = sc.party();
    let first = process(&sc.host, &party);
    let n = device.mutations();
    let between = device.files();
    let second = process(&sc.host, &party);
    // WMDM_CRASH_DEBUG=1 shows what the clean run left, and what the run after it changed.
    if std::env::var_os("WMDM_CRASH_DEBUG").is_some() {
        let after = device.files();
        eprintln!("{}: after the clean run: {:#?}", sc.name, between.keys());
        for (p, b) in &after {
            if between.get(p) != Some(b) {
                eprintln!("  the next run wrote {p}");
            }
        }
        for p in between.keys().filter(|p| !after.contains_key(*p)) {
            eprintln!("  the next run deleted {p}");
        }
    }
    let mut found = check_runs(&first, &second);
    found.extend(check_world(
        &device,
        &party,
        &sc.world,
        &sc.world.library,
        None,
    ));
    found.extend(check_skipped(sc, &party, &sc.world));
    if let Some(s) = &first.summary {
        eprintln!(
            "{}: clean run: {n} mutations, copied {} updated {} deleted {} playlists {} no-fit {}",
            sc.name, s.copied, s.updated, s.deleted, s.playlists_written, s.no_fit
        );
    }
    (n, owned_tracks(&device, &party), found)
}

/// The partnership's skipped set must be exactly the tracks the user deleted.
fn check_skipped(sc: &Scenario, party: &harness::Party, world: &World) -> Vec<Violation> {
    let want: Vec<u64> = world.user_deleted.iter().copied().collect();
    match skipped_files(&sc.host, party) {
        Ok(s) if s == want => Vec::new(),
        other => vec![Violation {
            class: "skipped set is not the user's deletes",
            detail: format!("skipped tracks: {other:?}, the user deleted {want:?}"),
        }],
    }
}

/// Recovers after a crash (two processes) and checks everything.
fn recover_and_check(
    sc: &Scenario,
    party: &harness::Party,
    world: &World,
    expected: &std::collections::BTreeSet<u64>,
    image: &wmdm::providers::memory::DeviceImage,
) -> Vec<Violation> {
    let device = boot(&sc.host, image, FaultPlan::new());
    let first = process(&sc.host, party);
    let second = process(&sc.host, party);
    let mut found = check_runs(&first, &second);
    found.extend(check_world(
        &device,
        party,
        world,
        &sc.world.library,
        Some(expected),
    ));
    found.extend(check_skipped(sc, party, world));
    found
}

/// Runs the scenario crashing before mutation `k`, then recovers; returns the violations.
fn crash_at(
    sc: &Scenario,
    plan: FaultPlan,
    expected: &std::collections::BTreeSet<u64>,
) -> Vec<Violation> {
    let device = boot(&sc.host, &sc.world.image, plan);
    let party = sc.party();
    let _ = process(&sc.host, &party);
    if !device.is_crashed() {
        return vec![Violation {
            class: "crash point not reached",
            detail: format!("the run made {} mutations", device.mutations()),
        }];
    }
    recover_and_check(sc, &party, &sc.world, expected, &device.image())
}

/// Crashes before `k1`, then crashes the recovering process before each of its mutations
/// (`k2`), then recovers for good.
fn crash_twice(
    sc: &Scenario,
    k1: u64,
    expected: &std::collections::BTreeSet<u64>,
    report: &mut Report,
) {
    let device = boot(&sc.host, &sc.world.image, FaultPlan::new().crash_before(k1));
    let party = sc.party();
    let _ = process(&sc.host, &party);
    let after_first = device.image();
    let files = party.state_files();
    // How many mutations the recovering process makes.
    let probe = boot(&sc.host, &after_first, FaultPlan::new());
    let probe_party = harness::Party::fork(sc.name, &sc.world.library, &files);
    let _ = process(&sc.host, &probe_party);
    let n2 = probe.mutations();
    report.count(&format!("{} (crash twice)", sc.name), n2);
    for k2 in 0..n2 {
        let second = boot(&sc.host, &after_first, FaultPlan::new().crash_before(k2));
        let party2 = harness::Party::fork(sc.name, &sc.world.library, &files);
        let _ = process(&sc.host, &party2);
        let found = if second.is_crashed() {
            recover_and_check(sc, &party2, &sc.world, expected, &second.image())
        } else {
            vec![Violation {
                class: "crash point not reached",
                detail: format!("second crash at {k2}"),
            }]
        };
        report.add(sc.name, format!("crash {k1} then {k2}"), found);
    }
}

/// Explores every crash point of `sc` on a durable device.
fn explore(sc: &Scenario, report: &mut Report) {
    explore_with(sc, report, "", FaultPlan::new);
}

/// Explores every crash point of `sc` with the device's crash behaviour given by `model`
/// (a durable device, torn writes, a non-durable device), named `label` in the report.
fn explore_with(sc: &Scenario, report: &mut Report, label: &str, model: fn() -> FaultPlan) {
    let (n, expected, clean) = clean_run(sc);
    report.add(sc.name, "clean run".into(), clean);
    assert!(n > 0, "{}: the run under test changes nothing", sc.name);
    for k in 0..n {
        let found = crash_at(sc, model().crash_before(k), &expected);
        report.add(
            sc.name,
            format!("{label}crash before mutation {k} of {n}"),
            found,
        );
    }
    report.count(sc.name, n);
}

fn run_scenario(build: fn() -> Scenario) {
    let sc = build();
    let mut report = Report::default();
    explore(&sc, &mut report);
    report.assert_clean();
}

#[test]
fn first_sync_survives_a_crash_at_every_step() {
    run_scenario(scenarios::first_sync);
}

#[test]
fn resync_with_added_changed_removed_and_retagged_tracks_survives_a_crash_at_every_step() {
    run_scenario(scenarios::resync_changes);
}

#[test]
fn eviction_over_quota_survives_a_crash_at_every_step() {
    run_scenario(scenarios::eviction);
}

#[test]
fn playlist_rewrites_survive_a_crash_at_every_step() {
    run_scenario(scenarios::playlist_rewrites);
}

#[test]
fn takeover_and_return_survives_a_crash_at_every_step() {
    run_scenario(scenarios::takeover_and_return);
}

#[test]
fn a_user_file_at_the_sync_s_temporary_name_survives() {
    run_scenario(scenarios::user_file_at_a_temp_name);
}

#[test]
fn a_resumed_sync_survives_a_second_crash_during_recovery() {
    let sc = scenarios::resync_changes();
    let mut report = Report::default();
    let (n, expected, clean) = clean_run(&sc);
    report.add(sc.name, "clean run".into(), clean);
    // A handful of first crash points spread over the run, each crashed again everywhere.
    for k1 in [1, n / 4, n / 2, (3 * n) / 4, n.saturating_sub(2)] {
        crash_twice(&sc, k1, &expected, &mut report);
    }
    report.assert_clean();
}

#[test]
fn eviction_on_a_full_device_survives_a_crash_at_every_step() {
    run_scenario(scenarios::eviction_on_a_full_device);
}

#[test]
fn the_user_s_deletes_stay_skipped_through_a_crash_at_every_step() {
    run_scenario(scenarios::user_deleted_tracks);
}

#[test]
fn a_copy_over_several_writes_survives_a_crash_at_every_step() {
    run_scenario(scenarios::first_sync_with_a_large_track);
}

/// Seeded resyncs, each crashed at every step.
fn random_resyncs(seeds: impl Iterator<Item = u64>) {
    let mut report = Report::default();
    for seed in seeds {
        let mut sc = scenarios::random_resync(seed);
        let name = format!("random resync {seed}");
        sc.name = Box::leak(name.into_boxed_str());
        explore(&sc, &mut report);
    }
    report.assert_clean();
}

#[test]
fn random_resyncs_survive_a_crash_at_every_step() {
    // Seed 75 has its own test below (it found crashsim F2).
    random_resyncs((0..110).filter(|&s| s != 75));
}

#[test]
fn random_resync_75_survives_a_crash_at_every_step() {
    random_resyncs(75..76);
}

#[test]
#[ignore = "long run, a thousand seeds (tens of thousands of crash points, minutes)"]
fn many_random_resyncs_survive_a_crash_at_every_step() {
    // Seed 233 has its own test below.
    random_resyncs((100..1100).filter(|&s| s != 233));
}

/// Found by the long run above (the only seed of its thousand with a violation). Not a crash
/// violation: a clean run was not followed by a no-op. Its clean run deletes 6 tracks no
/// longer selected and leaves 3 out (no fit); the next run copied 2 of them, because the
/// state room (J2) counted the ledger's entries while the ledger was larger than the
/// selection, and the ledger shrinks once the deletes are done. The room now counts the
/// ledger the plan leaves.
#[test]
fn random_resync_233_survives_a_crash_at_every_step() {
    random_resyncs(233..234);
}

/// The scenarios that pass on a durable device, under another crash behaviour.
fn under(label: &str, model: fn() -> FaultPlan) {
    let mut report = Report::default();
    for build in [
        scenarios::first_sync as fn() -> Scenario,
        scenarios::resync_changes,
        scenarios::eviction,
        scenarios::playlist_rewrites,
        scenarios::first_sync_with_a_large_track,
    ] {
        explore_with(&build(), &mut report, label, model);
    }
    report.assert_clean();
}

/// A non-durable device (`durable: false`): a crash loses what came after the last durable
/// point (every 5 changes), while the host's state folder keeps everything.
#[test]
fn a_non_durable_device_survives_a_crash_at_every_step() {
    under("non-durable (5), ", || FaultPlan::new().non_durable(5));
}

/// A device on which only the engine's flushes are durable points (the folder provider with
/// `Durability::AtFlush` and no background writeback): the engine's barriers alone keep it.
/// (The model loses changes in order, so a crash anywhere leaves some earlier state;
/// tests/sync_io.rs checks that a sync is durable when it ends, which needs the flushes.)
#[test]
fn a_device_durable_only_at_flushes_survives_a_crash_at_every_step() {
    under("durable at flushes only, ", || {
        FaultPlan::new().non_durable(u64::MAX)
    });
}

/// A device that writes in place: a crash leaves open sessions' bytes in their files.
#[test]
fn a_device_with_torn_writes_survives_a_crash_at_every_step() {
    under("torn writes, ", || FaultPlan::new().torn_writes());
}

/// A device that refuses renames (an MTP player mounted through FUSE): every write is made in
/// place behind an intent record, state files whole and framed (docs/sync.md, "Devices that
/// refuse renames"). The worlds are built on such a device too, and every reboot keeps the
/// refusal. Crashed at every step, on a durable device, with torn writes (the bytes of a write
/// in progress stay in its file: the MTP case) and on a non-durable one.
#[test]
fn on_a_device_that_refuses_renames_every_scenario_survives_a_crash_at_every_step() {
    harness::refuse_renames();
    let mut report = Report::default();
    let scenarios = [
        scenarios::first_sync as fn() -> Scenario,
        scenarios::resync_changes,
        scenarios::eviction,
        scenarios::playlist_rewrites,
        scenarios::takeover_and_return,
        scenarios::user_deleted_tracks,
        scenarios::first_sync_with_a_large_track,
    ];
    for build in scenarios {
        let sc = build();
        // The device under test does refuse renames, and the sync says it found that out.
        boot(&sc.host, &sc.world.image, FaultPlan::new());
        let out = process(&sc.host, &sc.party());
        assert!(
            out.summary.as_ref().is_some_and(|s| s.renames_refused),
            "{}: {:?}",
            sc.name,
            out.summary
        );
        explore_with(&sc, &mut report, "no renames, ", FaultPlan::new);
    }
    for build in [
        scenarios::first_sync as fn() -> Scenario,
        scenarios::resync_changes,
        scenarios::playlist_rewrites,
        scenarios::first_sync_with_a_large_track,
    ] {
        explore_with(&build(), &mut report, "no renames, torn writes, ", || {
            FaultPlan::new().torn_writes()
        });
    }
    for build in [
        scenarios::first_sync as fn() -> Scenario,
        scenarios::resync_changes,
    ] {
        explore_with(
            &build(),
            &mut report,
            "no renames, non-durable (5), ",
            || FaultPlan::new().non_durable(5),
        );
    }
    report.assert_clean();
}

/// Seeded resyncs on a device that refuses renames, each crashed at every step.
#[test]
fn random_resyncs_on_a_device_that_refuses_renames_survive_a_crash_at_every_step() {
    harness::refuse_renames();
    random_resyncs(1000..1020);
}

#[test]
#[ignore = "long run: three hundred seeded resyncs on a device that refuses renames (minutes)"]
fn many_random_resyncs_on_a_device_that_refuses_renames_survive_a_crash_at_every_step() {
    harness::refuse_renames();
    random_resyncs(1020..1320);
}

/// The same device, a recovery crashed again at every step of its own run (a handful of
/// first crash points spread over a resync).
#[test]
fn on_a_device_that_refuses_renames_a_recovery_survives_a_second_crash() {
    harness::refuse_renames();
    let sc = scenarios::resync_changes();
    let mut report = Report::default();
    let (n, expected, clean) = clean_run(&sc);
    report.add(sc.name, "clean run".into(), clean);
    for k1 in [1, n / 3, (2 * n) / 3, n.saturating_sub(2)] {
        crash_twice(&sc, k1, &expected, &mut report);
    }
    report.assert_clean();
}

#[test]
#[ignore = "long run: every crash point of four scenarios, each crashed again at every step \
            of its recovery (thousands of crash-point pairs, minutes)"]
fn every_scenario_survives_a_second_crash_at_every_step_of_its_recovery() {
    let mut report = Report::default();
    for build in [
        scenarios::first_sync as fn() -> Scenario,
        scenarios::resync_changes,
        scenarios::eviction,
        scenarios::playlist_rewrites,
    ] {
        let sc = build();
        let (n, expected, clean) = clean_run(&sc);
        report.add(sc.name, "clean run".into(), clean);
        for k1 in 0..n {
            crash_twice(&sc, k1, &expected, &mut report);
        }
    }
    report.assert_clean();
}
