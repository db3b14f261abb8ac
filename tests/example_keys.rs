//! No example binary holds the root's private key: a provider or application ships its own key
//! and a certificate issued ahead of time (`examples/issue_cert.rs`, docs/security.md), never
//! the key that mints certificates everyone trusts.
//!
//! The host examples are built for this test's profile (a no-op when `cargo test` built them),
//! then every file in `<target>/<profile>/examples/` is searched, together with the Windows
//! DLLs (`com_server.dll`, `wmp_server.dll`) wherever they were built for
//! `x86_64-pc-windows-gnu` in the same target folder (the Wine leg builds them; under Wine this
//! test's own profile folder holds them).

use std::path::{Path, PathBuf};
use std::process::Command;

use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use wmdm::sac::private_key_from_pem;

/// Byte strings any embedding of the root's private key contains: each line of its PEM text
/// (an `include_str!`), and its private exponent and first prime big- and little-endian (DER,
/// or numbers compiled in).
fn needles() -> Vec<Vec<u8>> {
    let pem = include_str!("data/keys/root.pem");
    let key = private_key_from_pem(pem).expect("the root key");
    let mut out: Vec<Vec<u8>> = pem
        .lines()
        .filter(|l| l.len() >= 60 && !l.starts_with("-----"))
        .map(|l| l.as_bytes().to_vec())
        .collect();
    for n in [key.d(), &key.primes()[0]] {
        let be = n.to_bytes_be();
        let le = n.to_bytes_le();
        out.push(be);
        out.push(le);
    }
    assert!(key.size() >= 256, "a 2048-bit root");
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(hay, needle).is_some()
}

fn binaries(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            // The binaries cargo names after their example (`sync`, `com_server.dll`), not
            // their hashed twins (hard links), metadata (`.rmeta`) or dependency lists (`.d`).
            let stem = p.file_stem().map(|s| s.to_string_lossy().into_owned());
            let ext = p.extension().map(|e| e.to_string_lossy().into_owned());
            stem.is_some_and(|s| !s.contains('-') && !s.starts_with("lib"))
                && ext.is_none_or(|e| e == "exe" || e == "dll")
        })
        .collect()
}

#[test]
fn no_example_binary_contains_the_root_private_key() {
    let exe = std::env::current_exe().unwrap();
    // <target>/<profile>/deps/<this test>
    let profile_dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
    let target = profile_dir.parent().unwrap().to_path_buf();
    let profile = profile_dir.file_name().unwrap().to_owned();
    if !cfg!(windows) {
        let mut build = Command::new(env!("CARGO"));
        build
            .args(["build", "--quiet", "--examples", "--manifest-path"])
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
            .env("CARGO_TARGET_DIR", &target);
        if profile == "release" {
            build.arg("--release");
        }
        assert!(build.status().unwrap().success(), "building the examples");
    }
    let mut files = binaries(&profile_dir.join("examples"));
    let windows = target
        .join("x86_64-pc-windows-gnu")
        .join(&profile)
        .join("examples");
    files.extend(binaries(&windows));
    let names: Vec<String> = files
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    for example in ["sync", "issue_cert", "custom_provider", "handshake"] {
        assert!(
            names
                .iter()
                .any(|n| n == example || n == &format!("{example}.exe")),
            "the {example} example was built: {names:?}"
        );
    }
    let needles = needles();
    let mut found = Vec::new();
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        if needles.iter().any(|n| contains(&bytes, n)) {
            found.push(file.display().to_string());
        }
    }
    assert!(
        found.is_empty(),
        "the root's private key is in {found:?}; ship a certificate and the holder's own key instead"
    );
    println!("searched {} example binaries: {names:?}", files.len());
}

#[test]
fn the_search_finds_a_key_embedded_as_text_or_numbers() {
    // The check must be able to fail: a file holding the PEM, or the key's DER, is caught.
    let needles = needles();
    let pem = include_bytes!("data/keys/root.pem");
    let padded = [b"prefix".as_slice(), pem, b"suffix"].concat();
    assert!(needles.iter().any(|n| contains(&padded, n)));
    let key = private_key_from_pem(include_str!("data/keys/root.pem")).unwrap();
    let der = rsa::pkcs1::EncodeRsaPrivateKey::to_pkcs1_der(&key).unwrap();
    assert!(needles.iter().any(|n| contains(der.as_bytes(), n)));
    assert!(!needles.iter().any(|n| contains(&[0u8; 4096], n)));
}

#[test]
fn the_shipped_certificates_hold_their_keys_and_verify_at_the_tests_clock_and_now() {
    use std::sync::Arc;
    use wmdm::sac::{Certificate, Role, TrustStore, public_key_from_pem};
    use wmdm::time::{Clock, ManualClock, SystemClock};
    let root = public_key_from_pem(include_str!("../examples/certs/root.pub.pem")).unwrap();
    let shipped: [(&[u8], &str, Role); 4] = [
        (
            include_bytes!("../examples/certs/com_provider.cert"),
            include_str!("data/keys/provider.pem"),
            Role::Provider,
        ),
        (
            include_bytes!("../examples/certs/sync_app.cert"),
            include_str!("data/keys/app.pem"),
            Role::Application,
        ),
        (
            include_bytes!("../examples/certs/sync_manager.cert"),
            include_str!("data/keys/manager.pem"),
            Role::Manager,
        ),
        (
            include_bytes!("../examples/certs/sync_provider.cert"),
            include_str!("data/keys/provider.pem"),
            Role::Provider,
        ),
    ];
    // The COM end-to-end test checks the DLL's certificate with the tests' fixed clock; the
    // sync example with the system's.
    let clocks: [Arc<dyn Clock>; 2] = [Arc::new(ManualClock::default()), Arc::new(SystemClock)];
    for (cert, pem, role) in shipped {
        let cert = Certificate::from_bytes(cert).unwrap();
        let key = private_key_from_pem(pem).unwrap();
        assert_eq!(
            cert.public_key(),
            &key.to_public_key(),
            "{:?}",
            cert.subject()
        );
        for clock in &clocks {
            let trust = TrustStore::new(clock.clone())
                .with_root("test root", root.clone())
                .unwrap();
            trust.verify(&cert, role).unwrap();
        }
    }
}
