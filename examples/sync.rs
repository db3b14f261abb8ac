//! The main job: sync a music library to a device, the way Windows Media Player does.
//!
//! `cargo run --release --example sync` with no arguments builds a demo library of a few
//! hundred real, tagged audio files under `target/wmdm-demo/`, with static playlists and an auto
//! playlist, and a demo device folder smaller than the library; it partners the device, syncs
//! with a progress bar, prints what happened, then syncs again to show a resync copies nothing.
//!
//! On real folders: `--library ~/Music --device /media/me/PLAYER`. `--help` lists every option.
//! Exit status:
//!
//! | status | meaning |
//! | --- | --- |
//! | 0 | success |
//! | 1 | anything else (the message says what) |
//! | 2 | bad arguments, a library folder that does not exist, a `--state` that is not a folder |
//! | 3 | the sync finished with item errors, or left tracks out for want of an encoder (each printed) |
//! | 4 | the device folder is missing, not a folder, read-only, or went away during the sync |
//! | 5 | the device is busy: another sync holds it (the message names it); run again later |
//! | 6 | the device filled up (its item errors are printed) |
//! | 130 | stopped by Ctrl-C (run again to resume) |

mod support;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock, mpsc};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use wmdm::Error;
use wmdm::library::{FolderLibrary, Library, PathTemplate, ScanOptions, parse_auto_playlist};
use wmdm::providers::fs::{DeviceOptions, Durability, FsConfig, FsProvider, NameMode, NamePolicy};
use wmdm::sync::{
    PlanSettings, SharedLibrary, SyncDevice, SyncDeviceStatus, SyncEvent, SyncItem, SyncPlan,
    SyncServices, SyncSummary,
};
use wmdm::time::SystemClock;

use support::report::{self, Failure, human_bytes};
use support::selection::{self, Choice, Layout};
use support::{demo, device};

static STOP: AtomicBool = AtomicBool::new(false);

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    M3u8,
    Wpl,
}

/// Sync a music library to a device (a folder: a mounted player, an SD card), the way Windows
/// Media Player does. With no arguments: a demo on generated files under target/.
#[derive(Debug, Parser)]
#[command(name = "sync", version)]
struct Cli {
    /// The music folder to sync from (with --device, or with --watch).
    #[arg(long, value_name = "DIR")]
    library: Option<PathBuf>,
    /// Stay running: sync each partnered device when it appears under a mount root (or at
    /// --device), wherever it is mounted; stop with Ctrl-C (or SIGTERM).
    #[arg(long, requires = "library")]
    watch: bool,
    /// With --watch: a folder whose subfolders are devices when mounted (repeatable; default
    /// /media/$USER, /run/media/$USER and /Volumes).
    #[arg(long = "mount-root", value_name = "DIR", requires = "watch")]
    mount_roots: Vec<PathBuf>,
    /// The device folder to sync to (a mounted player or SD card), or an MTP device:
    /// `mtp:SERIAL`, `mtp:` for the only one connected (feature `mtp`), `mtp-virtual:DIR` for
    /// mtp-rs's virtual device over DIR (feature `mtp-virtual`).
    #[arg(long, value_name = "DIR", requires = "library")]
    device: Option<PathBuf>,
    /// A playlist to sync (repeatable; the order given is the priority order). Default: every
    /// playlist in the library, then the whole library.
    #[arg(long = "playlist", value_name = "NAME")]
    playlists: Vec<String>,
    /// An auto playlist to sync, as text: `genre = Jazz and rating >= 80 limit 1GB`.
    #[arg(long, value_name = "RULE")]
    auto: Option<String>,
    /// Space to leave free on the device, in percent (0-95).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=95))]
    reserve_percent: Option<u8>,
    /// The device's usable size (a quota), in bytes or with a unit: 500MB, 2GB. Needed where
    /// the file system reports no size.
    #[arg(long, value_name = "BYTES", value_parser = report::parse_bytes)]
    capacity: Option<u64>,
    /// Where tracks go on the device, below Music/.
    #[arg(long, value_name = "STR", default_value = wmdm::sync::DEFAULT_TEMPLATE)]
    template: String,
    /// FAT/exFAT name rules (most players): reserved characters become `_`, names compare
    /// without case. Without it the device's own rules still apply: FAT's on FAT, exFAT and
    /// FUSE block devices, and ASCII-only names on fusefat (or wherever the file system refuses
    /// other names).
    #[arg(long)]
    fat: bool,
    /// The playlist file format written on the device.
    #[arg(long, value_enum, value_name = "FORMAT", default_value = "m3u8")]
    playlist_format: Format,
    /// Print the plan and the estimate; change nothing (the device is opened read-only).
    #[arg(long)]
    dry_run: bool,
    /// Print exactly one JSON object (the sync's counts) instead of the human summary.
    #[arg(long)]
    json: bool,
    /// Delete this library's partnership with the device (what was copied stays) and exit.
    #[arg(long)]
    delete_partnership: bool,
    /// Where the library cache and the partnership table live. Default: a folder per library under $XDG_STATE_HOME (or
    /// ~/.local/state) named wmdm-sync.
    #[arg(long, value_name = "DIR")]
    state: Option<PathBuf>,
    /// Only build a demo library of --tracks tracks in DIR, and exit (for scripts/bench.sh).
    #[arg(long, value_name = "DIR", hide = true)]
    make_demo: Option<PathBuf>,
    /// Only check the device folder DIR as a finished sync must leave it (no temporary files,
    /// no "(2)" duplicates, every ledger entry present with its size), print each violation,
    /// and exit 1 when there is one (for scripts/crashkill.sh). Reads only.
    #[arg(long, value_name = "DIR", hide = true)]
    verify: Option<PathBuf>,
    /// A user's file that --verify must not count (repeatable).
    #[arg(long, value_name = "PATH", hide = true)]
    allow: Vec<PathBuf>,
    /// Tracks in the demo library.
    #[arg(long, value_name = "N", default_value_t = 300, hide = true)]
    tracks: usize,
    #[command(flatten)]
    transcode: support::transcode::TranscodeArgs,
}

/// Where one run reads and writes.
struct Setup {
    library: PathBuf,
    device: PathBuf,
    state: PathBuf,
    capacity: Option<u64>,
    auto: Option<String>,
    demo: Option<PathBuf>,
}

// A resync allocates per file (names, paths, entries) on several threads at once, where
// glibc's allocator spends more than the work itself. Built without transparent huge pages
// (Cargo.toml says why).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // The crate's spans and events (per sync, per device operation, handshake failures) on
    // standard error, as RUST_LOG asks; nothing without it.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            // Each span's busy and idle time when it closes: where a run spends its time.
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .with_timer(tracing_subscriber::fmt::time::uptime())
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // clap's first paragraph, on one line ("invalid value ... [possible values: ...]").
            let text = e.to_string();
            let first = text.split("\n\n").next().unwrap_or("bad arguments");
            let line: Vec<&str> = first
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            eprintln!("sync: {}", line.join(" ").trim_start_matches("error: "));
            return ExitCode::from(2);
        }
    };
    match run(&cli) {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            eprintln!("sync: {}", failure.message());
            ExitCode::from(failure.code())
        }
    }
}

fn run(cli: &Cli) -> Result<u8, Failure> {
    if let Some(dir) = &cli.verify {
        let problems = support::verify::check(dir, &cli.allow);
        for p in &problems {
            println!("violation: {p}");
        }
        return Ok(u8::from(!problems.is_empty()));
    }
    if let Some(dir) = &cli.make_demo {
        let made = demo::build(dir, cli.tracks)
            .map_err(|e| Failure::other("building the demo library", e))?;
        println!(
            "{} tracks, {} in {}",
            made.tracks,
            human_bytes(made.bytes),
            dir.display()
        );
        return Ok(0);
    }
    if cli.watch {
        return watch(cli);
    }
    if cli.library.is_some() && cli.device.is_none() {
        return Err(Failure::usage(
            "--library needs --device DIR (or --watch)".into(),
        ));
    }
    // Arguments are checked before anything is touched.
    PathTemplate::parse(&cli.template)
        .map_err(|e| Failure::usage(format!("--template {:?}: {e}", cli.template)))?;
    if let Some(text) = &cli.auto {
        parse_auto_playlist(text).map_err(|e| Failure::usage(format!("--auto {text:?}: {e}")))?;
    }
    let setup = prepare(cli)?;
    check_state(&setup)?;
    let conversions =
        support::transcode::prepare(&cli.transcode, &setup.state, setup.demo.is_some())?;
    // `--device mtp:SERIAL` (or `mtp-virtual:DIR`) is an MTP device, not a folder.
    let mtp = support::mtp::provider(&setup.device, cli.dry_run, setup.capacity).transpose()?;
    if mtp.is_none() {
        device::check_device(&setup.device, cli.dry_run)?;
    }
    let say = |s: String| {
        if !cli.json {
            println!("{s}");
        }
    };

    // A missing library is a usage error found before the device is touched.
    if !setup.library.is_dir() {
        return Err(Failure::usage(format!(
            "the library folder {} does not exist",
            setup.library.display()
        )));
    }
    // The device: the folder through the fs provider, behind an authenticated manager.
    let policy = if cli.fat {
        NamePolicy::fat(NameMode::Reject)
    } else {
        NamePolicy::permissive()
    };
    // A dry run opens the device read-only: the provider refuses every write, so planning
    // cannot create `.wmdm/`, recover a journal or delete anything.
    // Durable at the sync's flushes: the engine orders its journal, batches and ledger with
    // them (group commit), instead of several syncs per file.
    let mut options = DeviceOptions::default()
        .policy(policy)
        .read_only(cli.dry_run)
        .durability(Durability::AtFlush);
    if let Some(bytes) = setup.capacity {
        options = options.quota(bytes);
    }
    if let Some(p) = &conversions.profile {
        options.profile = p.clone();
    }
    // Every party authenticates with the certificate the example ships (examples/certs), on
    // a thread of its own, while the folder device is opened on another (its ID map is read
    // then): the handshakes and the device share nothing with the library, loaded meanwhile.
    let root = setup.device.clone();
    let authenticating = std::thread::spawn(move || {
        let provider: Arc<dyn wmdm::provider::ServiceProvider> = match mtp {
            Some(mtp) => mtp,
            None => Arc::new(support::OpenedAside::start(move || {
                Arc::new(FsProvider::new(FsConfig::root(&root).options(options)))
            })),
        };
        support::manager(provider)
    });

    // The library: a folder scanned incrementally (the cache lives in the state folder). It
    // is loaded as its cache left it and shared at once, then scanned on a thread that holds
    // it meanwhile: the device is opened, and on a resync locked and listed, while the scan
    // runs, and nothing is planned before the scan has ended (`Scan::finish`, called from the
    // session's `start_after`).
    let started = Instant::now();
    let (library, loaded) = FolderLibrary::open_cached(
        &setup.library,
        setup.state.join("library"),
        Arc::new(SystemClock),
        // The cache is saved once, after the sync, with the hashes its copies learned.
        ScanOptions {
            defer_cache_save: true,
            ..ScanOptions::default()
        },
    )
    .map_err(|e| match e {
        e if e == Error::PathNotFound => Failure::usage(format!(
            "the library folder {} does not exist",
            setup.library.display()
        )),
        // A state folder inside the music folder: the arguments are wrong (exit 2).
        e if e == Error::InvalidArg => Failure::usage(e.report()),
        e => Failure::other("opening the library", e),
    })?;
    let library = Arc::new(RwLock::new(library));
    let mut scan = Scan::start(&library, loaded, started);
    let shared: SharedLibrary = library.clone();
    // The scan left its cache to be saved once, when the run ends (on whatever path: a sync,
    // a dry run, a busy device, an error), with the hashes the copies computed, so that the
    // next run reads no source again to learn them.
    let _save_cache = SaveCacheOnExit(library.clone());
    let manager = authenticating
        .join()
        .map_err(|_| Failure::other("starting the device manager", Error::Fail))?
        .map_err(|e| Failure::other("starting the device manager", e))?;

    let services = SyncServices::open(
        manager.clone(),
        shared,
        &setup.state.join("sync"),
        "wmdm example",
        Arc::new(SystemClock),
    )
    .map_err(|e| Failure::other("opening the partnership table", e))?;
    if services.device_count() == 0 {
        return Err(Failure::device(format!(
            "no device at {}",
            setup.device.display()
        )));
    }
    let device = services
        .device(0)
        .map_err(|e| Failure::device_error(&setup.device, e))?;
    let events = services.events().channel();
    // Only a resync of a partnered device overlaps the scan with the device's side; every
    // other way waits for the library first, as its messages and usage errors come first.
    let resync = device.status() == SyncDeviceStatus::PartnershipExists
        && !cli.dry_run
        && !cli.delete_partnership;
    if !resync {
        scan.finish(&setup, cli, &say)?;
    }

    if cli.delete_partnership {
        device
            .delete_partnership()
            .map_err(|e| Failure::device_error(&setup.device, e))?;
        say(format!(
            "deleted the partnership with {}; its files stay on the device",
            device.device_name()
        ));
        return Ok(0);
    }
    let choice = Choice {
        playlists: &cli.playlists,
        auto: setup.auto.as_deref(),
        defaults: cli.playlists.is_empty() && cli.auto.is_none(),
    };
    let layout = Layout {
        template: &cli.template,
        fat: cli.fat,
        wpl: cli.playlist_format == Format::Wpl,
    };
    if cli.dry_run && device.status() != SyncDeviceStatus::PartnershipExists {
        // No partnership yet, and a dry run must not make one: plan from the device as it is.
        let index = (1..=16u8)
            .find(|i| services.partnerships().by_index(*i).is_none())
            .ok_or_else(|| Failure::other("planning", Error::TooManySessions))?;
        let mut lib = library.write().unwrap_or_else(PoisonError::into_inner);
        let lines = selection::select(&mut lib, &choice, index)?;
        let mut settings = selection::layout(PlanSettings::default(), &layout)?;
        settings.reserve_percent = cli.reserve_percent.unwrap_or(0);
        let wmdm_device = manager
            .devices()
            .and_then(|d| d.into_iter().next().ok_or(Error::NoPda))
            .map_err(|e| Failure::device_error(&setup.device, e))?;
        // As a session would: names the device takes, whatever `--fat` says.
        settings.apply_device_names(&wmdm_device);
        conversions.preview(&mut settings, &wmdm_device);
        let root = wmdm_device
            .storages()
            .and_then(|s| s.into_iter().next().ok_or(Error::NoPda))
            .map_err(|e| Failure::device_error(&setup.device, e))?;
        let plan = selection::preview(&root, &*lib, index, &settings)
            .map_err(|e| Failure::device_error(&setup.device, e))?;
        print_dry_run(cli, &say, lines, &plan, &*lib);
        say("(no partnership yet: nothing was copied, and none was made)".into());
        return Ok(0);
    }
    device::partner(&setup.device, &services, &device, &events, &say)?;
    // What the session needs from the library, once its scan has ended: the selection in
    // priority order, the layout and conversions, the reserve.
    let mut prepare_session = || -> Result<(), Failure> {
        scan.finish(&setup, cli, &say)?;
        let index = device.partnership_index();
        let lines = selection::select(
            &mut library.write().unwrap_or_else(PoisonError::into_inner),
            &choice,
            index,
        )?;
        device.set_settings(selection::layout(device.settings(), &layout)?);
        conversions.apply(&device);
        if let Some(m) = &conversions.missing {
            say(format!(
                "not converting: {m}; tracks that need it are left out"
            ));
        }
        if let Some(n) = cli.reserve_percent {
            device
                .set_item_info("PercentSpaceReserved", &n.to_string())
                .map_err(|e| Failure::other("setting the reserve", e))?;
        }
        let quota = setup
            .capacity
            .map_or_else(String::new, |c| format!(", quota {}", human_bytes(c)));
        say(format!("selection, in priority order{quota}:"));
        for line in &lines {
            say(line.clone());
        }
        Ok(())
    };

    // Ctrl-C only raises a flag: the loop stops the engine between two steps, so the ledger
    // is written and the next run resumes. A second Ctrl-C leaves at once (the journal still
    // lets the next run finish the job).
    let _ = ctrlc::set_handler(|| {
        if STOP.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    });

    if cli.dry_run {
        prepare_session()?;
        let plan = device
            .plan()
            .map_err(|e| Failure::device_error(&setup.device, e))?;
        let lib = library.read().unwrap_or_else(PoisonError::into_inner);
        print_dry_run(cli, &say, Vec::new(), &plan, &*lib);
        return Ok(0);
    }

    let first = sync_once(
        &device,
        &library,
        &events,
        cli,
        &setup,
        Some(&mut prepare_session),
        if setup.demo.is_some() {
            "first sync"
        } else {
            "sync"
        },
    )?;
    if first.interrupted {
        return Ok(130);
    }
    let mut last = first;
    if setup.demo.is_some() && !cli.json {
        let second = sync_once(
            &device,
            &library,
            &events,
            cli,
            &setup,
            None,
            "second sync (nothing changed)",
        )?;
        if second.interrupted {
            return Ok(130);
        }
        last = second;
        if let Some(base) = &setup.demo {
            // The next demo run starts from an empty device again.
            std::fs::write(base.join("demo.done"), b"")
                .map_err(|e| Failure::other("writing the demo marker", e.into()))?;
            say(format!(
                "\ndemo files: {}  (run again for a fresh demo; --help for real folders)",
                base.display()
            ));
        }
    }
    if last.summary.transcode.missing_encoder > 0 {
        let plan = device
            .plan()
            .map_err(|e| Failure::device_error(&setup.device, e))?;
        let lib = library.read().unwrap_or_else(PoisonError::into_inner);
        support::transcode::report_missing(&plan, &*lib, conversions.missing.as_deref());
        return Ok(3);
    }
    Ok(if last.summary.errors > 0 { 3 } else { 0 })
}

/// The library's scan, on a thread that holds the library until it ends.
struct Scan {
    /// The scan's thread, until [`Scan::finish`] joins it.
    thread: Option<std::thread::JoinHandle<(wmdm::Result<wmdm::library::ScanReport>, Duration)>>,
    /// What loading the cache found.
    loaded: wmdm::library::ScanReport,
    library: Arc<RwLock<FolderLibrary>>,
}

impl Scan {
    /// Starts the scan: returns once its thread holds the library, so that nothing reads the
    /// library as its cache left it.
    fn start(
        library: &Arc<RwLock<FolderLibrary>>,
        loaded: wmdm::library::ScanReport,
        started: Instant,
    ) -> Scan {
        let (holding, held) = mpsc::sync_channel(0);
        let shared = library.clone();
        let library = library.clone();
        let thread = std::thread::spawn(move || {
            let mut lib = library.write().unwrap_or_else(PoisonError::into_inner);
            let _ = holding.send(());
            (lib.rescan(), started.elapsed())
        });
        // The thread holds the library from here, or ended without it (then `finish` says).
        let _ = held.recv();
        Scan {
            thread: Some(thread),
            loaded,
            library: shared,
        }
    }

    /// Waits for the scan (once; later calls do nothing), says what it found and checks the
    /// playlists asked for by name.
    fn finish(&mut self, setup: &Setup, cli: &Cli, say: &dyn Fn(String)) -> Result<(), Failure> {
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        let (scanned, scan_time) = thread
            .join()
            .map_err(|_| Failure::other("scanning the library", Error::Fail))?;
        let mut scan = scanned.map_err(|e| match e {
            e if e == Error::PathNotFound => Failure::usage(format!(
                "the library folder {} does not exist",
                setup.library.display()
            )),
            e => Failure::other("scanning the library", e),
        })?;
        scan.problems.splice(0..0, self.loaded.problems.drain(..));
        let lib = self.library.read().unwrap_or_else(PoisonError::into_inner);
        say(format!(
            "library {}: {} tracks, {} playlists (scanned in {} ms: {} read, {} from the cache{})",
            setup.library.display(),
            lib.tracks().len(),
            lib.playlists().len(),
            scan_time.as_millis(),
            scan.tags_read,
            scan.unchanged,
            if scan.problems.is_empty() {
                String::new()
            } else {
                format!(", {} files skipped", scan.problems.len())
            },
        ));
        selection::check_playlists(&*lib, &cli.playlists)?;
        Ok(())
    }
}

/// Saves the library's scan cache when dropped, if a sync has not already (the scan was told
/// to leave it: [`ScanOptions::defer_cache_save`]).
struct SaveCacheOnExit(Arc<RwLock<FolderLibrary>>);

impl Drop for SaveCacheOnExit {
    fn drop(&mut self) {
        // A cache that cannot be written costs the next run time, not correctness.
        if let Err(e) = self
            .0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .save_cache_if_stale()
        {
            eprintln!("sync: could not save the library cache: {e}");
        }
    }
}

/// Resolves where the library, device and state are; in demo mode builds the demo library.
/// `--watch` (support/watch.rs): the library's sync runtime left running.
fn watch(cli: &Cli) -> Result<u8, Failure> {
    let library = cli.library.as_deref().unwrap_or(std::path::Path::new("."));
    let state = match &cli.state {
        Some(s) => s.clone(),
        None => report::default_state_dir(library)?,
    };
    std::fs::create_dir_all(&state)
        .map_err(|e| Failure::other("making the state folder", e.into()))?;
    let policy = if cli.fat {
        NamePolicy::fat(NameMode::Reject)
    } else {
        NamePolicy::permissive()
    };
    let mut options = DeviceOptions::default().policy(policy);
    if let Some(bytes) = cli.capacity {
        options = options.quota(bytes);
    }
    support::watch::run(support::watch::Watch {
        library,
        state: &state,
        mount_roots: if cli.mount_roots.is_empty() {
            support::watch::default_mount_roots()
        } else {
            cli.mount_roots.clone()
        },
        device: cli.device.as_deref(),
        choice: Choice {
            playlists: &cli.playlists,
            auto: cli.auto.as_deref(),
            defaults: cli.playlists.is_empty() && cli.auto.is_none(),
        },
        layout: Layout {
            template: &cli.template,
            fat: cli.fat,
            wpl: cli.playlist_format == Format::Wpl,
        },
        options,
    })
}

fn prepare(cli: &Cli) -> Result<Setup, Failure> {
    if let (Some(library), Some(device)) = (&cli.library, &cli.device) {
        let state = match &cli.state {
            Some(s) => s.clone(),
            None => report::default_state_dir(library)?,
        };
        return Ok(Setup {
            library: library.clone(),
            device: device.clone(),
            state,
            capacity: cli.capacity,
            auto: cli.auto.clone(),
            demo: None,
        });
    }
    let base = support::target_dir().join("wmdm-demo");
    let library = base.join("library");
    let device = base.join("Demo Player");
    let state = cli.state.clone().unwrap_or_else(|| base.join("state"));
    let io = |what: &'static str| move |e: std::io::Error| Failure::other(what, e.into());
    let made = base.join("library.done");
    let bytes = if made.exists() {
        std::fs::read_to_string(&made)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
    } else {
        None
    };
    let bytes = match bytes {
        Some(b) => b,
        None => {
            if !cli.json {
                println!(
                    "building the demo library ({} tracks) in {}",
                    cli.tracks,
                    library.display()
                );
            }
            let made_now = demo::build(&library, cli.tracks)
                .map_err(|e| Failure::other("building the demo library", e))?;
            std::fs::write(&made, made_now.bytes.to_string())
                .map_err(io("writing the demo marker"))?;
            made_now.bytes
        }
    };
    // A finished demo starts over; an interrupted one resumes.
    if base.join("demo.done").exists() {
        for dir in [&device, &state.join("sync")] {
            if dir.exists() {
                std::fs::remove_dir_all(dir).map_err(io("resetting the demo device"))?;
            }
        }
        std::fs::remove_file(base.join("demo.done")).map_err(io("resetting the demo"))?;
    }
    std::fs::create_dir_all(&device).map_err(io("creating the demo device"))?;
    // The device holds about 60% of the library, so priorities decide what goes.
    let capacity = cli.capacity.unwrap_or(bytes / 10 * 6);
    let auto = cli
        .auto
        .clone()
        .or_else(|| cli.playlists.is_empty().then(|| demo::DEMO_AUTO.to_owned()));
    Ok(Setup {
        library,
        device,
        state,
        capacity: Some(capacity),
        auto,
        demo: Some(base),
    })
}

/// `--dry-run`'s output: the selection (when not printed yet), then the plan.
fn print_dry_run(
    cli: &Cli,
    say: &dyn Fn(String),
    lines: Vec<String>,
    plan: &SyncPlan,
    lib: &dyn Library,
) {
    if cli.json {
        println!("{}", report::plan_json(plan));
        return;
    }
    if !lines.is_empty() {
        say("selection, in priority order:".into());
    }
    for line in lines {
        say(line);
    }
    report::print_plan(plan, lib);
}

struct Outcome {
    summary: SyncSummary,
    interrupted: bool,
}

/// One sync: plan (for the reasons shown), start, step with a progress bar until done or
/// Ctrl-C, then the summary.
fn sync_once(
    device: &SyncDevice,
    library: &Arc<RwLock<FolderLibrary>>,
    events: &mpsc::Receiver<SyncEvent>,
    cli: &Cli,
    setup: &Setup,
    ready: Option<&mut dyn FnMut() -> Result<(), Failure>>,
    title: &str,
) -> Result<Outcome, Failure> {
    let started = Instant::now();
    // The device is locked and its listing under way while `ready` finishes the library; its
    // failure ends the start with nothing planned (and is reported as itself).
    let mut failed = None;
    let begun = device.start_after(|| match ready {
        Some(ready) => ready().map_err(|f| {
            failed = Some(f);
            Error::Abort
        }),
        None => Ok(()),
    });
    if let Some(f) = failed {
        return Err(f);
    }
    begun.map_err(|e| Failure::from_sync(&setup.device, device, e))?;
    let engine = device.engine();
    let bar = if cli.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::with_draw_target(Some(100), ProgressDrawTarget::stderr())
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {prefix} [{wide_bar}] {pos:>3}% {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(title.to_owned());
    bar.enable_steady_tick(Duration::from_millis(120));
    let mut interrupted = false;
    let mut errors: Vec<(String, Error)> = Vec::new();
    while device.step() {
        let s = engine.summary();
        bar.set_position(u64::from(device.progress()));
        bar.set_message(format!(
            "{} copied, {} deleted, {}{}",
            s.copied,
            s.deleted,
            human_bytes(s.bytes_copied),
            support::transcode::progress_note(&s)
        ));
        collect_errors(
            events,
            &library.read().unwrap_or_else(PoisonError::into_inner),
            &mut errors,
        );
        if STOP.load(Ordering::SeqCst) {
            device.stop();
            interrupted = true;
            break;
        }
    }
    bar.finish_and_clear();
    collect_errors(
        events,
        &library.read().unwrap_or_else(PoisonError::into_inner),
        &mut errors,
    );
    let elapsed = started.elapsed();
    let summary = engine.summary();
    // The item errors first: whatever ends the run, they say what did not make it.
    for (e, _) in errors.iter().take(20) {
        eprintln!("sync: {e}");
    }
    if errors.len() > 20 {
        eprintln!("sync: ... and {} more item errors", errors.len() - 20);
    }
    let full = errors
        .iter()
        .filter(|(_, e)| e.kind() == wmdm::ErrorKind::StorageFull)
        .count();
    let full_failure = || {
        Failure::Full(format!(
            "the device {} is full: {full} item{} did not fit (is another program writing to it?); make room and run again",
            setup.device.display(),
            if full == 1 { "" } else { "s" }
        ))
    };
    if !summary.completed && !interrupted {
        // An MTP device is not a folder: only its connection says whether it went away.
        if (!support::mtp::is_mtp(&setup.device) && !setup.device.is_dir()) || !device.connected() {
            return Err(Failure::device(format!(
                "the device {} went away during the sync; reconnect it and run again to resume",
                setup.device.display()
            )));
        }
        if full > 0 {
            return Err(full_failure());
        }
        if device::is_full(&setup.device) {
            return Err(Failure::Full(format!(
                "the device {} is full: the sync could not write its ledger (is another program writing to it?); make room and run again to finish",
                setup.device.display()
            )));
        }
        return Err(Failure::Other(format!(
            "the sync of {} could not write its ledger; run again to finish",
            setup.device.display()
        )));
    }
    if cli.json {
        println!("{}", report::summary_json(&summary, elapsed));
    } else {
        // The reasons for what is left out come from the plan the run applied.
        let plan: Option<SyncPlan> = engine.last_plan();
        let lib = library.read().unwrap_or_else(PoisonError::into_inner);
        report::print_summary(title, &summary, plan.as_ref(), &*lib, elapsed, device);
        if interrupted {
            println!(
                "stopped by Ctrl-C: what was copied stays; run the same command again to finish"
            );
        }
    }
    if full > 0 {
        return Err(full_failure());
    }
    Ok(Outcome {
        summary,
        interrupted,
    })
}

/// Turns DeviceSyncError events into one line each, with the error.
fn collect_errors(
    events: &mpsc::Receiver<SyncEvent>,
    lib: &FolderLibrary,
    out: &mut Vec<(String, Error)>,
) {
    for event in events.try_iter() {
        if let SyncEvent::DeviceSyncError { item, error, .. } = event {
            let line = match item {
                SyncItem::Track(id) => match lib.track(id) {
                    // The copy is checked against the bytes planned: a file edited while it
                    // was copied fails that check, and the next sync copies the new bytes.
                    Some(t) if error == Error::ProcessFailed && changed_since_scan(t) => format!(
                        "{}: the library file changed while it was being copied; the next sync copies it",
                        t.path.display()
                    ),
                    Some(t) => format!("{}: {error}", t.relative_path),
                    None => format!("track {}: {error}", id.0),
                },
                SyncItem::Playlist(name) => format!("playlist {name}: {error}"),
                SyncItem::DeviceObject(path) => format!("{path}: {error}"),
            };
            out.push((line, error));
        }
    }
}

/// True when the track's file is no longer what the library scan saw (size or time).
fn changed_since_scan(t: &wmdm::library::Track) -> bool {
    std::fs::metadata(&t.path)
        .is_ok_and(|m| m.len() != t.size || m.modified().is_ok_and(|at| at != t.modified))
}

/// `--state` must be a folder (or not exist yet; it is made): a file there is a usage error
/// naming it, not a missing library.
fn check_state(setup: &Setup) -> Result<(), Failure> {
    if let Ok(md) = std::fs::metadata(&setup.state)
        && !md.is_dir()
    {
        return Err(Failure::usage(format!(
            "the state folder {} is a file, not a folder (--state DIR)",
            setup.state.display()
        )));
    }
    std::fs::create_dir_all(&setup.state).map_err(|e| {
        Failure::usage(format!(
            "the state folder {} cannot be made: {e}",
            setup.state.display()
        ))
    })?;
    match std::fs::metadata(&setup.library) {
        Ok(md) if md.is_dir() => Ok(()),
        Ok(_) => Err(Failure::usage(format!(
            "the library {} is not a folder",
            setup.library.display()
        ))),
        Err(_) => Err(Failure::usage(format!(
            "the library folder {} does not exist",
            setup.library.display()
        ))),
    }
}
