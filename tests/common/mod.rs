//! Shared fixtures: the fixed RSA keys under tests/data/keys, certificates issued from them,
//! and channel configurations (keys are never generated at test time); small audio files
//! built at test time ([`audio`]).
#![allow(dead_code, unreachable_pub, unused_imports)]

pub mod audio;
pub mod flat;
pub mod sync;

pub use audio::*;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use rsa::RsaPrivateKey;
use wmdm::sac::{
    Certificate, CertificateRequest, ChannelConfig, Identity, Role, SeededRandom, TrustStore,
    private_key_from_pem,
};
use wmdm::time::ManualClock;

/// The ManualClock default: 2026-01-01T00:00:00Z.
pub const NOW: i64 = 1_767_225_600;
pub const DAY: i64 = 86_400;

fn load(name: &str) -> RsaPrivateKey {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "data", "keys", name]
        .iter()
        .collect();
    let pem = std::fs::read_to_string(path).expect("test key");
    private_key_from_pem(&pem).expect("valid test key")
}

macro_rules! key_fn {
    ($f:ident, $file:literal) => {
        pub fn $f() -> &'static RsaPrivateKey {
            static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
            KEY.get_or_init(|| load($file))
        }
    };
}

key_fn!(root_key, "root.pem");
key_fn!(app_key, "app.pem");
key_fn!(manager_key, "manager.pem");
key_fn!(provider_key, "provider.pem");
key_fn!(untrusted_root_key, "untrusted_root.pem");

pub fn key_for(role: Role) -> &'static RsaPrivateKey {
    match role {
        Role::Application => app_key(),
        Role::Manager => manager_key(),
        Role::Provider => provider_key(),
    }
}

/// A certificate request valid from a day ago for a year.
pub fn request(role: Role, serial: u64) -> CertificateRequest {
    CertificateRequest {
        subject: format!("{role:?} #{serial}"),
        role,
        app_sec: 1000 + serial as u32,
        serial,
        not_before: NOW - DAY,
        not_after: NOW + 365 * DAY,
        public_key: key_for(role).to_public_key(),
    }
}

pub fn issue(request: &CertificateRequest) -> Certificate {
    Certificate::issue(request, "test root", root_key()).expect("issue")
}

pub fn clock() -> ManualClock {
    ManualClock::default()
}

pub fn trust(clock: &ManualClock) -> TrustStore {
    TrustStore::new(Arc::new(clock.clone()))
        .with_root("test root", root_key().to_public_key())
        .expect("root")
}

pub fn identity(role: Role, serial: u64) -> Identity {
    Identity::new(issue(&request(role, serial)), key_for(role).clone()).expect("identity")
}

/// A configuration for `role` expecting a `peer`, with deterministic randomness.
pub fn config(role: Role, serial: u64, peer: Role, clock: &ManualClock) -> ChannelConfig {
    ChannelConfig::new(identity(role, serial), trust(clock), peer)
        .with_random(Arc::new(SeededRandom::new([serial as u8; 32])))
}

/// A provider wrapped with its channel server (serial 50).
pub fn wrap_provider(
    provider: Arc<dyn wmdm::provider::ServiceProvider>,
    clock: &ManualClock,
) -> wmdm::manager::AuthenticatedProvider {
    let server = wmdm::sac::SecureChannelServer::new(Arc::new(config(
        Role::Provider,
        50,
        Role::Manager,
        clock,
    )));
    wmdm::manager::AuthenticatedProvider::new(provider, server)
}

/// A device manager (serial 20) with the given flat provider registered, not yet
/// authenticated by the application.
pub fn unauthenticated_manager(
    provider: Arc<flat::FlatProvider>,
    clock: &ManualClock,
) -> wmdm::manager::DeviceManager {
    let mgr =
        wmdm::manager::DeviceManager::new(config(Role::Manager, 20, Role::Application, clock))
            .expect("manager");
    mgr.add_provider(wrap_provider(provider, clock))
        .expect("add");
    mgr
}

/// The application's channel configuration (serial 10).
pub fn app_config(clock: &ManualClock) -> Arc<ChannelConfig> {
    Arc::new(config(Role::Application, 10, Role::Manager, clock))
}

/// A manager the application has authenticated to, with one flat provider holding the
/// named devices.
pub fn manager(
    names: &[&str],
    clear_channel: bool,
) -> (wmdm::manager::DeviceManager, Arc<flat::FlatProvider>) {
    let clock = clock();
    let provider = flat::FlatProvider::new(names, clear_channel);
    let mgr = unauthenticated_manager(provider.clone(), &clock);
    mgr.authenticate(app_config(&clock))
        .expect("app authenticates");
    (mgr, provider)
}

/// A provider object's whole content, read through its own I/O in reads of `chunk` bytes
/// (small ones exercise the provider's partial reads).
pub fn read_storage(
    file: &dyn wmdm::provider::Storage,
    chunk: usize,
) -> Result<Vec<u8>, wmdm::Error> {
    let mut io = file.open(wmdm::flags::OpenMode::READ)?;
    let mut out = Vec::new();
    let mut buf = vec![0u8; chunk];
    loop {
        let n = io.read(&mut buf)?;
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    io.close()?;
    Ok(out)
}
