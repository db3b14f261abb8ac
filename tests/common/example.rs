//! The sync example's binary for the tests that run it as a user would (`#[path]`-included by
//! each: it needs nothing else from `common`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The example binary, built for this test profile once per test process (a no-op when
/// `cargo test` built it already).
pub fn example() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        // <target>/<profile>/deps/<this test>
        let profile_dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
        let target = profile_dir.parent().unwrap();
        let mut build = Command::new(env!("CARGO"));
        build
            .args(["build", "--quiet", "--example", "sync", "--manifest-path"])
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
            .env("CARGO_TARGET_DIR", target);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            build.arg("--release");
        }
        assert!(build.status().unwrap().success(), "building the example");
        profile_dir.join("examples").join("sync")
    })
}
