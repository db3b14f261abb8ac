//! A program outside the wmdm repository: syncs a music folder to a device folder through the
//! paved path and checks that the files arrived, then that a second sync copies nothing.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use wmdm::SyncJob;

fn files_under(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            files_under(&path, ext, out)?;
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
    Ok(())
}

fn run(base: &Path) -> Result<(), String> {
    let (music, player, state) = (base.join("Music"), base.join("Player"), base.join("state"));
    let io = |e: std::io::Error| e.to_string();
    std::fs::create_dir_all(&music).map_err(io)?;
    std::fs::create_dir_all(&player).map_err(io)?;
    for song in ["one", "two", "three"] {
        std::fs::write(music.join(format!("{song}.wav")), wmdm::easy::silent_wav(4_000))
            .map_err(io)?;
    }
    std::fs::write(music.join("First.m3u8"), "one.wav\ntwo.wav\n").map_err(io)?;
    std::fs::write(music.join("Second.m3u8"), "three.wav\n").map_err(io)?;

    let syncer = SyncJob::folder(&music)
        .to_folder(&player)
        .state_dir(&state)
        .playlist("First")
        .playlist("Second")
        .open()
        .map_err(|e| format!("open: {e}"))?;
    let report = syncer.sync(|_| {}).map_err(|e| format!("sync: {e}"))?;
    println!("{report}");
    let mut copied = Vec::new();
    files_under(&player, "wav", &mut copied).map_err(io)?;
    if copied.len() != 3 || report.summary.copied != 3 {
        return Err(format!("expected 3 tracks on the device, found {copied:?}"));
    }
    let mut lists = Vec::new();
    files_under(&player, "m3u8", &mut lists).map_err(io)?;
    if lists.len() != 2 {
        return Err(format!("expected 2 playlists on the device, found {lists:?}"));
    }
    let again = syncer.sync(|_| {}).map_err(|e| format!("resync: {e}"))?;
    if again.summary.copied != 0 {
        return Err(format!("a resync copied again: {again}"));
    }
    Ok(())
}

fn main() -> ExitCode {
    let base = std::env::temp_dir().join(format!("wmdm-outside-{}", std::process::id()));
    let result = run(&base);
    let _ = std::fs::remove_dir_all(&base);
    match result {
        Ok(()) => {
            println!("outside crate: synced through the paved path");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("outside crate: {e}");
            ExitCode::FAILURE
        }
    }
}
