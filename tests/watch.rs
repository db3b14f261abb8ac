//! `sync --watch` as a user runs it: the example binary left running over a mount root, a
//! partnered device folder that appears (under another name than before), is pulled while it
//! syncs, and comes back; the sync resumes and finishes, and SIGINT ends the process cleanly.
//!
//! Unix only: it sends SIGINT with kill(1).
#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[path = "common/example.rs"]
mod example_bin;
use example_bin::example;

const WAIT: Duration = Duration::from_secs(60);

/// The watcher's stdout, line by line, with what was read so far for messages.
struct Lines {
    rx: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Lines {
    /// Waits for a line containing `needle`; returns it.
    fn wait(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            match self
                .rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no line with {needle:?}; output so far:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// The watcher process, killed if the test ends (or fails) while it still runs.
struct Watcher(Child);

impl Drop for Watcher {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "the watcher did not exit");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn watch_syncs_a_partnered_device_when_it_appears_survives_a_pull_and_exits_on_sigint() {
    let bin = example();
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("lib");
    let media = dir.path().join("media");
    let away = dir.path().join("away");
    let state = dir.path().join("state");
    std::fs::create_dir_all(&media).unwrap();
    std::fs::create_dir_all(away.join("STICK")).unwrap();
    let run = |args: &[&std::ffi::OsStr]| {
        let o = Command::new(bin).args(args).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    run(&[
        "--make-demo".as_ref(),
        lib.as_os_str(),
        "--tracks".as_ref(),
        "150".as_ref(),
    ]);
    // Partnered by an ordinary run that syncs one playlist only, so the watcher has work.
    run(&[
        "--library".as_ref(),
        lib.as_os_str(),
        "--device".as_ref(),
        away.join("STICK").as_os_str(),
        "--state".as_ref(),
        state.as_os_str(),
        "--playlist".as_ref(),
        "Five Stars".as_ref(),
    ]);
    let mut watcher = Watcher(
        Command::new(bin)
            .arg("--watch")
            .arg("--library")
            .arg(&lib)
            .arg("--mount-root")
            .arg(&media)
            .arg("--state")
            .arg(&state)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let child = &mut watcher.0;
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut out = Lines {
        rx,
        seen: Vec::new(),
    };
    out.wait("watching");
    // Plugged in, mounted under another name than it had.
    let plugged = Instant::now();
    std::fs::rename(away.join("STICK"), media.join("STICK1")).unwrap();
    out.wait("STICK: connected");
    let pickup = plugged.elapsed();
    eprintln!("picked up in {} ms", pickup.as_millis());
    assert!(pickup < Duration::from_secs(5), "{pickup:?}");
    out.wait("STICK: syncing");
    out.wait("%");
    // Pulled while it syncs.
    std::fs::rename(media.join("STICK1"), away.join("STICK")).unwrap();
    out.wait("STICK: removed");
    if out.seen.iter().any(|l| l.contains("synced:")) {
        eprintln!("the pull landed after the sync had finished on this machine");
    }
    // Back, under yet another name: the sync resumes and finishes.
    std::fs::rename(away.join("STICK"), media.join("STICK2")).unwrap();
    out.wait("STICK: connected");
    let done = loop {
        let line = out.wait("STICK: s");
        if line.contains("synced:") {
            break line;
        }
    };
    assert!(done.ends_with(" 0 errors"), "{done}");
    // SIGINT: a clean exit.
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    out.wait("stopped");
    let status = wait_exit(child);
    eprintln!("{}", out.seen.join("\n"));
    assert!(status.success(), "{status:?}");
    // The device holds the whole library (every playlist, then the whole library), once,
    // with nothing half-written.
    let device = media.join("STICK2");
    let o = Command::new(bin)
        .arg("--verify")
        .arg(&device)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let mut tracks = Vec::new();
    files_under(&lib, &mut tracks);
    tracks.retain(|p| !p.extension().is_some_and(|e| e == "m3u8" || e == "wpl"));
    let mut copied = Vec::new();
    files_under(&device.join("Music"), &mut copied);
    assert_eq!(copied.len(), tracks.len(), "{copied:?}");
}

/// CPU time (user + system) of a process so far, in clock ticks, from /proc; `None` where
/// there is no /proc.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name (which may hold spaces) start after its ')'.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// The watcher idle for 60 s with a synced device present uses under 1% of a core
/// (100 ticks a second: under 60 ticks). Long: run with `--ignored`.
#[test]
#[ignore]
fn watch_idles_under_one_percent_of_a_core() {
    let bin = example();
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("lib");
    let media = dir.path().join("media");
    let state = dir.path().join("state");
    let stick = media.join("STICK");
    std::fs::create_dir_all(&stick).unwrap();
    for args in [
        vec![
            "--make-demo".as_ref(),
            lib.as_os_str(),
            "--tracks".as_ref(),
            "100".as_ref(),
        ],
        vec![
            "--library".as_ref(),
            lib.as_os_str(),
            "--device".as_ref(),
            stick.as_os_str(),
            "--state".as_ref(),
            state.as_os_str(),
        ],
    ] {
        let o = Command::new(bin).args(&args).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let mut watcher = Watcher(
        Command::new(bin)
            .arg("--watch")
            .arg("--library")
            .arg(&lib)
            .arg("--mount-root")
            .arg(&media)
            .arg("--state")
            .arg(&state)
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let child = &mut watcher.0;
    // Settled: the resync on start is done.
    std::thread::sleep(Duration::from_secs(5));
    let Some(before) = cpu_ticks(child.id()) else {
        eprintln!("no /proc here: nothing measured");
        return;
    };
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(60));
    let after = cpu_ticks(child.id()).unwrap();
    let wall = started.elapsed();
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(wait_exit(child).success());
    let ticks = after - before;
    eprintln!("idle: {ticks} ticks of CPU in {wall:?}");
    assert!(ticks < 60, "{ticks} ticks in {wall:?}");
}
