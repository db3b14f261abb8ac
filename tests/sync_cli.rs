//! The sync example as a user runs it: the binary, its one-line messages and exit statuses
//! (busy 5, full 6, device problems 4, bad arguments 2), and `--dry-run` leaving the device
//! byte-for-byte as it was.
//!
//! Unix only: the scenarios drive Unix tools (`unshare` and a tmpfs for a full medium, `sh` and
//! `flock(1)` for a holder of the device's lock).
#![cfg(unix)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "common/example.rs"]
mod example_bin;
use example_bin::example;

fn run(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(example()).args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    /// A demo library of `tracks` tracks, an empty device folder and a state folder path.
    fn new(tracks: usize) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let o = run(&[
            "--make-demo".as_ref(),
            dir.path().join("lib").as_os_str(),
            "--tracks".as_ref(),
            tracks.to_string().as_ref(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        std::fs::create_dir(dir.path().join("dev")).unwrap();
        Setup { dir }
    }
    fn lib(&self) -> PathBuf {
        self.dir.path().join("lib")
    }
    fn dev(&self) -> PathBuf {
        self.dir.path().join("dev")
    }
    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }
    fn sync(&self, extra: &[&str]) -> Output {
        let mut args: Vec<std::ffi::OsString> = vec![
            "--library".into(),
            self.lib().into(),
            "--device".into(),
            self.dev().into(),
            "--state".into(),
            self.state().into(),
        ];
        args.extend(extra.iter().map(Into::into));
        let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        run(&refs)
    }
}

/// One line on stderr, starting with `sync:`.
fn one_line(o: &Output) -> String {
    let e = stderr(o);
    let last = e.lines().last().unwrap_or_default().to_owned();
    assert!(last.starts_with("sync: "), "{e}");
    last
}

#[test]
fn a_state_path_that_is_a_file_is_named_as_such() {
    let s = Setup::new(2);
    std::fs::write(s.state(), b"not a folder").unwrap();
    let o = s.sync(&[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let line = one_line(&o);
    assert!(line.contains("is a file"), "{line}");
    assert!(line.contains(&s.state().display().to_string()), "{line}");
    assert!(!line.contains("library folder"), "{line}");
}

#[test]
fn a_device_that_is_a_file_is_not_a_folder() {
    let s = Setup::new(2);
    std::fs::remove_dir(s.dev()).unwrap();
    std::fs::write(s.dev(), b"x").unwrap();
    let o = s.sync(&[]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    let line = one_line(&o);
    assert!(line.contains("is not a folder"), "{line}");
    assert!(line.contains(&s.dev().display().to_string()), "{line}");
}

#[test]
fn a_busy_device_exits_5_naming_the_holder() {
    let s = Setup::new(3);
    let o = s.sync(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Another sync holds the device: its record in the lock file, and the kernel lock.
    let lock = s.dev().join(".wmdm/lock");
    let script = "exec 9<>\"$1\" && printf 'wmdm-writer-lock 1\\nhost=elsewhere\\npid=4242\\nprogram=othersync\\nsince=1765000000\\n' >&9 && flock -x 9 && echo locked && exec sleep 60";
    let Ok(mut child) = Command::new("sh")
        .args(["-c", script, "sh"])
        .arg(&lock)
        .stdout(std::process::Stdio::piped())
        .spawn()
    else {
        eprintln!("no sh: skipped");
        return;
    };
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    if line.trim() != "locked" {
        let _ = child.kill();
        eprintln!("no flock(1): skipped");
        return;
    }
    let o = s.sync(&[]);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    let line = one_line(&o);
    assert!(line.contains("is busy"), "{line}");
    assert!(line.contains("othersync (pid 4242 on elsewhere"), "{line}");
    assert!(line.contains(&s.dev().display().to_string()), "{line}");
    // The holder is gone: the same command works.
    let o = s.sync(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Runs the sync with the device folder on a tmpfs of 50 MB that can hold only `inodes` files
/// and folders (a private mount namespace, so nothing outlives the run); `None` where this
/// host cannot make one (not root). The medium reports plenty of free bytes, so the plan
/// admits every track, and the medium fills up during the sync, as when another program
/// writes to it: deterministic, whatever the files' sizes.
fn sync_on_small_fs(s: &Setup, inodes: u32) -> Option<Output> {
    let script = format!(
        "mount -t tmpfs -o size=50m,nr_inodes={inodes} tmpfs \"$1\" || exit 99; shift; exec \"$@\""
    );
    let o = Command::new("unshare")
        .args(["-m", "sh", "-c", &script, "sh"])
        .arg(s.dev())
        .arg(example())
        .arg("--library")
        .arg(s.lib())
        .arg("--device")
        .arg(s.dev())
        .arg("--state")
        .arg(s.state())
        .output()
        .ok()?;
    (o.status.code() != Some(99) && !stderr(&o).contains("unshare:")).then_some(o)
}

#[test]
fn a_device_that_fills_up_is_reported_full_with_its_item_errors() {
    let s = Setup::new(12);
    let Some(o) = sync_on_small_fs(&s, 22) else {
        eprintln!("cannot mount a small file system here: skipped");
        return;
    };
    assert_eq!(o.status.code(), Some(6), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("not enough space on the device"),
        "item errors shown: {e}"
    );
    let line = one_line(&o);
    assert!(line.contains("is full"), "{line}");
    assert!(!line.contains("went away"), "{line}");

    // So full that the sync's own ledger does not fit: full too, not "went away".
    let s = Setup::new(12);
    let o = sync_on_small_fs(&s, 30).expect("mounted above");
    assert_eq!(o.status.code(), Some(6), "{}", stderr(&o));
    let line = one_line(&o);
    assert!(line.contains("is full"), "{line}");
}

/// The paths whose presence or bytes differ between two trees.
fn changed(
    a: &BTreeMap<PathBuf, Option<Vec<u8>>>,
    b: &BTreeMap<PathBuf, Option<Vec<u8>>>,
) -> Vec<PathBuf> {
    a.keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Every file and folder below `root`, with the files' bytes.
fn tree(root: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Option<Vec<u8>>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(base).unwrap().to_path_buf();
            if p.is_dir() {
                out.insert(rel, None);
                walk(base, &p, out);
            } else {
                out.insert(rel, Some(std::fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

#[test]
fn a_dry_run_writes_nothing_on_a_fresh_device() {
    let s = Setup::new(4);
    std::fs::create_dir_all(s.dev().join("Music")).unwrap();
    std::fs::write(s.dev().join("Music/mine.mp3"), b"the user's").unwrap();
    let before = tree(&s.dev());
    let o = s.sync(&["--dry-run"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        changed(&tree(&s.dev()), &before),
        Vec::<PathBuf>::new(),
        "the device changed"
    );
    assert!(!s.dev().join(".wmdm").exists());
    assert!(!s.dev().join(".wmdm-sync").exists());
}

#[test]
fn a_dry_run_writes_nothing_on_a_device_with_an_interrupted_sync() {
    let s = Setup::new(60);
    // A first sync killed part-way (SIGKILL: no clean-up), until one leaves its journal.
    let journal = s.dev().join(".wmdm-sync/journal.txt");
    for delay in [150u64, 250, 400, 80, 600, 40, 900] {
        let mut child = Command::new(example())
            .arg("--library")
            .arg(s.lib())
            .arg("--device")
            .arg(s.dev())
            .arg("--state")
            .arg(s.state())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay));
        let _ = child.kill();
        let _ = child.wait();
        if journal.exists() {
            break;
        }
    }
    if !journal.exists() {
        eprintln!("no kill landed mid-sync on this machine: checking a finished device instead");
    }
    let before = tree(&s.dev());
    let o = s.sync(&["--dry-run"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        changed(&tree(&s.dev()), &before),
        Vec::<PathBuf>::new(),
        "the dry run changed the device"
    );
    // And the real sync afterwards still recovers and finishes.
    let o = s.sync(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!journal.exists());
}

/// A resync starts on the device (its lock, its listing) while the library is scanned; a
/// playlist asked for that the scan does not find is still a usage error naming it, and the
/// device's files stay as they were, its lock free.
#[test]
fn an_unknown_playlist_on_a_resync_is_a_usage_error_that_changes_nothing() {
    let s = Setup::new(6);
    let o = s.sync(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    // The lock file's record is the one thing a start writes before the library is read.
    let content = |t: BTreeMap<PathBuf, Option<Vec<u8>>>| {
        t.into_iter()
            .filter(|(p, _)| !p.ends_with(".wmdm/lock"))
            .collect::<BTreeMap<_, _>>()
    };
    let before = content(tree(&s.dev()));
    let o = s.sync(&["--playlist", "No Such Mix"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let line = one_line(&o);
    assert!(line.contains("\"No Such Mix\""), "{line}");
    assert_eq!(
        changed(&content(tree(&s.dev())), &before),
        Vec::<PathBuf>::new(),
        "the device changed"
    );
    // Nothing holds the device: the next run syncs, copying nothing again.
    let o = s.sync(&["--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("\"copied\":0"), "{out}");
}
