//! A partnership belongs to the device, not to its mount point: the same folder device
//! mounted at another path is the same partnership (no copy again, no "(2)" files), another
//! device at the old path is not, and tables from before serials migrate.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use common::sync::*;
use wmdm::library::{MemoryLibrary, Playlist, TrackId};
use wmdm::providers::fs::{DeviceOptions, FsConfig, FsProvider};
use wmdm::sync::{PARTNERSHIPS_FILE_NAME, SyncDevice, SyncDeviceStatus, SyncServices};
use wmdm::time::ManualClock;

/// An MP3 of `frames` silent frames: distinct lengths give distinct bytes.
fn mp3(frames: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for _ in 0..frames {
        v.extend_from_slice(&[0xFF, 0xFB, 0x90, 0xC0]);
        v.extend_from_slice(&[0u8; 413]);
    }
    v
}

struct World {
    dir: tempfile::TempDir,
    state: PathBuf,
    library: Arc<RwLock<MemoryLibrary>>,
    clock: ManualClock,
}

fn world(n: u64) -> World {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let mut lib = MemoryLibrary::new();
    for i in 1..=n {
        lib.add_track(track(i, "Artist", "Album"), mp3(i as usize + 1));
    }
    let mut p = Playlist::new_static("Mix", (1..=n).map(TrackId).collect());
    p.sync.set_priority(1, 1).unwrap();
    lib.add_playlist(p);
    World {
        dir,
        state,
        library: Arc::new(RwLock::new(lib)),
        clock: common::clock(),
    }
}

/// Adds track `id` (`frames` long) to `lib` in a new static playlist `name`, synced to
/// partnership 1 at `priority`.
fn add_selected(lib: &mut MemoryLibrary, id: u64, frames: usize, name: &str, priority: u32) {
    lib.add_track(track(id, "Artist", "Album"), mp3(frames));
    let mut p = Playlist::new_static(name, vec![TrackId(id)]);
    p.sync.set_priority(1, priority).unwrap();
    lib.add_playlist(p);
}

impl World {
    /// A new process: a provider over the folder at `root`, services from the state folder.
    fn open(&self, root: &Path) -> SyncServices {
        let provider = Arc::new(FsProvider::new(
            FsConfig::root(root).options(DeviceOptions::default().durable(false)),
        ));
        let manager = manager_with(provider, &self.clock);
        services(&manager, &self.library, &self.state, "Home", &self.clock)
    }

    /// [`open`](Self::open), and the only device partnered.
    fn open_partnered(&self, root: &Path) -> (SyncServices, SyncDevice) {
        let a = self.open(root);
        let da = a.device(0).unwrap();
        da.create_partnership().unwrap();
        a.poll().unwrap();
        (a, da)
    }

    fn mount(&self, name: &str) -> PathBuf {
        let p = self.dir.path().join("media").join(name);
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    fn table(&self) -> String {
        std::fs::read_to_string(self.state.join(PARTNERSHIPS_FILE_NAME)).unwrap()
    }
}

fn files(root: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.retain(|p| !p.starts_with(".wmdm"));
    out.sort();
    out
}

/// Partners the only device and runs a sync; returns (index, copied).
fn partner_and_sync(services: &SyncServices) -> (u8, u32) {
    let d = services.device(0).unwrap();
    if d.status() != SyncDeviceStatus::PartnershipExists {
        d.create_partnership().unwrap();
        services.poll().unwrap();
    }
    assert_eq!(d.status(), SyncDeviceStatus::PartnershipExists);
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!(s.errors, 0, "{s:?}");
    (d.partnership_index(), s.copied)
}

#[test]
fn the_same_stick_at_another_mount_point_is_the_same_partnership() {
    let w = world(4);
    let first = w.mount("STICK");
    let (index, copied) = partner_and_sync(&w.open(&first));
    assert_eq!(copied, 4);
    let before = files(&first);
    assert_eq!(before.len(), 5, "{before:?}");

    // Unmounted, then mounted again elsewhere (another label, another port).
    let second = w.dir.path().join("media").join("STICK1");
    std::fs::rename(&first, &second).unwrap();
    let services = w.open(&second);
    assert_eq!(
        services.device_count(),
        1,
        "one device, not a new one beside the old"
    );
    let d = services.device(0).unwrap();
    assert_eq!(d.status(), SyncDeviceStatus::PartnershipExists);
    assert_eq!(d.partnership_index(), index);
    assert_eq!(d.key(), d.device_id(), "the key is the serial number");
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!((s.copied, s.deleted, s.errors), (0, 0, 0), "{s:?}");
    let after = files(&second);
    assert_eq!(after, before);
    assert!(!after.iter().any(|p| p.contains("(2)")), "{after:?}");
    // The table remembers where the device was last seen, in one slot.
    let table = services.partnerships();
    assert_eq!(table.partnerships().len(), 1);
    assert_eq!(
        table.partnerships()[0].device,
        second.canonicalize().unwrap().to_string_lossy()
    );
}

#[test]
fn another_device_at_the_old_mount_point_is_not_the_partner() {
    let w = world(2);
    let first = w.mount("STICK");
    partner_and_sync(&w.open(&first));
    std::fs::rename(&first, w.dir.path().join("media/elsewhere")).unwrap();
    // A different, empty stick mounted where the first one was.
    let other = w.mount("STICK");
    let services = w.open(&other);
    let d = services.device(0).unwrap();
    assert_eq!(d.status(), SyncDeviceStatus::NewDevice);
    assert_eq!(d.partnership_index(), 0);
}

#[test]
fn a_table_from_before_serials_migrates_on_first_use() {
    let w = world(3);
    let first = w.mount("PLAYER");
    let (index, _) = partner_and_sync(&w.open(&first));
    // The table as an older version wrote it: rows keyed by the path, some without a serial.
    let old: String = w
        .table()
        .lines()
        .filter(|l| !l.starts_with("serial="))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(old.contains("device="));
    std::fs::write(w.state.join(PARTNERSHIPS_FILE_NAME), &old).unwrap();

    // First use at the old path: matched by path once, and upgraded to the serial.
    let services = w.open(&first);
    let d = services.device(0).unwrap();
    assert_eq!(d.status(), SyncDeviceStatus::PartnershipExists);
    assert_eq!(d.partnership_index(), index);
    let serial = d.device_id();
    assert!(!serial.is_empty());
    assert!(
        w.table().contains(&format!("serial={serial}")),
        "{}",
        w.table()
    );
    drop(services);

    // From then on the device is found by its serial anywhere.
    let moved = w.dir.path().join("media/PLAYER2");
    std::fs::rename(&first, &moved).unwrap();
    let services = w.open(&moved);
    let d = services.device(0).unwrap();
    assert_eq!(d.status(), SyncDeviceStatus::PartnershipExists);
    let s = d.run(&mut |_| {}).unwrap();
    assert_eq!((s.copied, s.deleted, s.errors), (0, 0, 0), "{s:?}");
    assert!(!files(&moved).iter().any(|p| p.contains("(2)")));
}

#[test]
fn a_table_written_with_paths_and_serials_finds_the_moved_device() {
    // Tables of earlier versions already held `serial=`, keyed by `device=`: they need no
    // rewrite, only the lookup by serial.
    let w = world(2);
    let first = w.mount("A");
    partner_and_sync(&w.open(&first));
    let table = w.table();
    assert!(table.contains("serial=") && table.contains("device="));
    let moved = w.dir.path().join("media/B");
    std::fs::rename(&first, &moved).unwrap();
    let services = w.open(&moved);
    let d = services.device(0).unwrap();
    assert_eq!(d.status(), SyncDeviceStatus::PartnershipExists);
    assert_eq!(d.run(&mut |_| {}).unwrap().copied, 0);
}

// ---- one writer per device ----

/// Two libraries' worth of processes on one folder device: each its own provider, manager
/// and services over the same state folder (two terminals running the same sync).
#[test]
fn a_second_sync_of_a_folder_device_is_busy_until_the_first_ends() {
    let w = world(6);
    let root = w.mount("PLAYER");
    let (_a, da) = w.open_partnered(&root);
    da.start().unwrap();
    assert!(da.step(), "the first sync is under way");

    let b = w.open(&root);
    let db = b.device(0).unwrap();
    assert_eq!(db.status(), SyncDeviceStatus::PartnershipExists);
    assert_eq!(db.start(), Err(wmdm::Error::Busy));
    let holder = db.lock_holder().expect("the holder is named");
    assert_eq!(holder.pid, std::process::id());
    assert!(!holder.program.is_empty());
    assert!(
        holder
            .to_string()
            .contains(&format!("pid {}", std::process::id()))
    );
    assert_eq!(db.run(&mut |_| {}).unwrap_err(), wmdm::Error::Busy);

    // The first finishes: the lock is free, and the second, run again, has nothing left to
    // do. (Run again as a new process, as the command does: a folder device handle kept open
    // while another process writes the folder does not see that process's new unique IDs.)
    let s = da.run(&mut |_| {}).unwrap();
    assert_eq!(s.errors, 0, "{s:?}");
    assert_eq!(db.lock_holder(), None);
    drop((db, b));
    let b = w.open(&root);
    let db = b.device(0).unwrap();
    let s = db.run(&mut |_| {}).unwrap();
    assert_eq!((s.copied, s.deleted, s.errors), (0, 0, 0), "{s:?}");
    assert!(!files(&root).iter().any(|p| p.contains("(2)")));
    // A stopped session releases the lock too.
    add_selected(&mut w.library.write().unwrap(), 7, 30, "More", 2);
    db.start().unwrap();
    assert_eq!(da.start(), Err(wmdm::Error::Busy));
    db.stop();
    da.start().unwrap();
    da.run(&mut |_| {}).unwrap();
}

#[test]
fn the_lock_of_a_killed_process_is_free_at_once() {
    let w = world(2);
    let root = w.mount("PLAYER");
    let (_a, da) = w.open_partnered(&root);
    let lock = root.join(".wmdm/lock");
    assert!(lock.exists(), "creating the partnership took the lock");
    // Another process holds the lock file (as a sync would), then is killed with SIGKILL.
    // The shell opens the file, flock(1) locks that open file, and the shell becomes `sleep`
    // holding it: one process holds the lock, as a sync would.
    let Ok(mut child) = std::process::Command::new("sh")
        .arg("-c")
        .arg("exec 9>>\"$1\" && flock -x 9 && exec sleep 60")
        .arg("sh")
        .arg(&lock)
        .spawn()
    else {
        eprintln!("no sh here: skipping the other-process half");
        return;
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while da.lock_holder().is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    if da.lock_holder().is_none() {
        let _ = child.kill();
        let _ = child.wait();
        eprintln!("no flock(1) here: skipping the other-process half");
        return;
    }
    assert_eq!(da.start(), Err(wmdm::Error::Busy));
    let holder = da.lock_holder().expect("held by the other process");
    assert!(holder.to_string().contains("another program"), "{holder}");
    child.kill().unwrap(); // SIGKILL: no clean-up of its own
    child.wait().unwrap();
    da.start()
        .expect("the kernel released the dead holder's lock");
    da.run(&mut |_| {}).unwrap();
}

#[test]
fn the_memory_device_models_the_same_rule() {
    let f = fixture_partnered_device(4, 3000, 1 << 20);
    f.select("Mix", &[1, 2, 3, 4], 1);
    let a = f.sync_device();
    a.start().unwrap();
    assert!(a.step());
    // A second library's services (another process) on the same device.
    let state = tempfile::tempdir().unwrap();
    let other = services(&f.manager, &f.library, state.path(), "Other", &f.clock);
    let b = other.device_by_key(&f.device.serial()).unwrap();
    b.create_partnership().unwrap();
    other.poll().unwrap();
    assert_eq!(
        b.status(),
        SyncDeviceStatus::PartnershipAnother,
        "making it was refused"
    );
    assert_eq!(b.lock_holder().map(|h| h.pid), Some(std::process::id()));
    // The first holder dies without releasing: the lock is free for the next writer.
    assert!(f.device.writer_died().is_some());
    b.create_partnership().unwrap();
    other.poll().unwrap();
    assert_eq!(b.status(), SyncDeviceStatus::PartnershipExists);
    b.start().unwrap();
    assert_eq!(b.lock_holder().map(|h| h.pid), Some(std::process::id()));
    b.stop();
    assert_eq!(b.lock_holder(), None);
}

#[test]
fn start_after_holds_the_device_while_the_application_finishes_its_library() {
    let w = world(6);
    let root = w.mount("PLAYER");
    let (a, da) = w.open_partnered(&root);
    // The application is still scanning: it holds the library on another thread and adds a
    // track, which `ready` waits for. Meanwhile the device is this session's: a second
    // library (another process) finds it busy.
    let library = w.library.clone();
    let scan = std::thread::spawn(move || {
        let mut lib = library.write().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        add_selected(&mut lib, 7, 30, "More", 2);
    });
    let mut calls = 0;
    da.start_after(|| {
        calls += 1;
        let b = w.open(&root);
        assert_eq!(b.device(0).unwrap().start(), Err(wmdm::Error::Busy));
        scan.join().map_err(|_| wmdm::Error::Fail)
    })
    .unwrap();
    assert_eq!(calls, 1);
    while da.step() {}
    let s = da.engine().summary();
    assert_eq!(
        (s.copied, s.errors),
        (7, 0),
        "the track added in ready is planned: {s:?}"
    );

    // A `ready` that fails: nothing is planned or written, and the lock is free at once.
    add_selected(&mut w.library.write().unwrap(), 8, 31, "Last", 3);
    let before = files(&root);
    assert_eq!(
        da.start_after(|| Err(wmdm::Error::Abort)),
        Err(wmdm::Error::Abort)
    );
    assert!(!da.engine().is_running());
    assert_eq!(files(&root), before, "nothing written");
    assert_eq!(da.lock_holder(), None);
    drop((da, a));
    let b = w.open(&root);
    let s = b.device(0).unwrap().run(&mut |_| {}).unwrap();
    assert_eq!((s.copied, s.errors), (1, 0), "{s:?}");
    assert!(!files(&root).iter().any(|p| p.contains("(2)")));
}
