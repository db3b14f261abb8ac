//! The sync example keeps its certificates in its state folder (`examples/support/certs.rs`):
//! a valid kept certificate is used as it is; a missing, damaged, foreign or expiring one is
//! issued again; a dry run (no saving) writes nothing.

#[allow(dead_code)]
#[path = "../examples/support/mod.rs"]
mod support;

use std::sync::Arc;

use support::certs::{CertCache, MIN_LEFT_SECS, VALID_SECS};
use wmdm::sac::{CertificateRequest, Role, TrustStore, private_key_from_pem};
use wmdm::time::SystemClock;

const ROOT: &str = include_str!("data/keys/root.pem");
const APP: &str = include_str!("data/keys/app.pem");
const MANAGER: &str = include_str!("data/keys/manager.pem");

fn now() -> i64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    i64::try_from(secs).unwrap()
}

struct Rig {
    root: rsa::RsaPrivateKey,
    trust: TrustStore,
    request: CertificateRequest,
}

fn rig(pem: &str) -> Rig {
    let root = private_key_from_pem(ROOT).unwrap();
    let trust = TrustStore::new(Arc::new(SystemClock))
        .with_root("example root", root.to_public_key())
        .unwrap();
    let key = private_key_from_pem(pem).unwrap();
    let request = CertificateRequest {
        subject: "sync example Application".into(),
        role: Role::Application,
        app_sec: 1000,
        serial: 3,
        not_before: 0,
        not_after: 0,
        public_key: key.to_public_key(),
    };
    Rig {
        root,
        trust,
        request,
    }
}

impl Rig {
    fn get(&self, cache: &CertCache, now: i64) -> (i64, i64) {
        let cert = cache
            .certificate(&self.request, "example root", &self.root, &self.trust, now)
            .unwrap();
        self.trust.verify(&cert, Role::Application).unwrap();
        assert_eq!(cert.public_key(), &self.request.public_key);
        cert.validity()
    }
}

#[test]
fn a_kept_certificate_is_reused_while_valid_and_replaced_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let cache = CertCache::at(dir.path().join("certs"), true);
    let r = rig(APP);
    let t = now();
    let first = r.get(&cache, t);
    assert_eq!(first, (t - 60, t + VALID_SECS));
    // Later, within its validity: the kept one, not a new one (whose window would start later).
    assert_eq!(r.get(&cache, t + 100), first);

    let files: Vec<_> = std::fs::read_dir(dir.path().join("certs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let file = &files[0];

    // Close to its expiry: issued again (dated from that moment, so not yet valid now).
    let late = t + VALID_SECS - MIN_LEFT_SECS + 1;
    let renewed = cache
        .certificate(&r.request, "example root", &r.root, &r.trust, late)
        .unwrap();
    assert_eq!(renewed.validity(), (late - 60, late + VALID_SECS));

    // Damaged: issued again, and the file mended.
    std::fs::write(file, b"WSAC not a certificate").unwrap();
    let t2 = now();
    assert_eq!(r.get(&cache, t2), (t2 - 60, t2 + VALID_SECS));
    assert_eq!(r.get(&cache, t2 + 100), (t2 - 60, t2 + VALID_SECS));

    // A certificate of another key at the same place (a state folder copied from elsewhere,
    // or the keys changed): never used for this one.
    let other = rig(MANAGER);
    let other_cache = CertCache::at(dir.path().join("other"), true);
    other.get(&other_cache, t);
    let other_file = std::fs::read_dir(dir.path().join("other"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::copy(other_file, file).unwrap();
    // (`get` checks the certificate is for this key.)
    let t3 = now();
    assert_eq!(r.get(&cache, t3), (t3 - 60, t3 + VALID_SECS));
}

#[test]
fn a_cache_that_may_not_save_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cache = CertCache::at(dir.path().join("certs"), false);
    let r = rig(APP);
    let t = now();
    assert_eq!(r.get(&cache, t), (t - 60, t + VALID_SECS));
    assert!(!dir.path().join("certs").exists());
}

#[test]
fn the_example_manager_authenticates_with_kept_certificates() {
    use wmdm::providers::fs::{DeviceOptions, FsConfig, FsProvider};
    let dir = tempfile::tempdir().unwrap();
    let device = dir.path().join("device");
    std::fs::create_dir(&device).unwrap();
    let cache = CertCache::at(dir.path().join("certs"), true);
    for _ in 0..2 {
        let provider = FsProvider::new(
            FsConfig::root(&device).options(DeviceOptions::default().durable(false)),
        );
        let manager = support::manager_with(Arc::new(provider), &cache).unwrap();
        assert_eq!(manager.devices().unwrap().len(), 1);
    }
    assert_eq!(
        std::fs::read_dir(dir.path().join("certs")).unwrap().count(),
        3
    );
}
