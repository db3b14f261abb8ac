//! Pieces of the sync example: the demo library, the device manager set-up, and the output.

pub mod certs;
pub mod demo;
pub mod device;
pub mod mtp;
pub mod report;
pub mod selection;
pub mod transcode;
pub mod verify;
pub mod watch;

use std::path::PathBuf;
use std::sync::Arc;

use wmdm::manager::{AuthenticatedProvider, DeviceManager};
use wmdm::provider::ServiceProvider;
use wmdm::sac::{
    CertificateRequest, ChannelConfig, Identity, Role, SecureChannelServer, TrustStore,
    private_key_from_pem,
};
use wmdm::time::SystemClock;

// The repository's test keys, public by design: fine for an example, never for a product (a
// real application and provider each hold their own key and a certificate from a real root).
const ROOT: &str = include_str!("../../tests/data/keys/root.pem");
const APP: &str = include_str!("../../tests/data/keys/app.pem");
const MANAGER: &str = include_str!("../../tests/data/keys/manager.pem");
const PROVIDER: &str = include_str!("../../tests/data/keys/provider.pem");

/// A device manager serving `provider`, which the application has authenticated to: every
/// party gets a certificate from the example root, issued afresh on every call.
// The example itself keeps its certificates (`manager_with`); tests/sync_example.rs uses this.
#[allow(dead_code)]
pub fn manager(provider: Arc<dyn ServiceProvider>) -> wmdm::Result<DeviceManager> {
    manager_with(provider, &certs::CertCache::default())
}

/// [`manager`], with the certificates kept in `cache` while they are valid (see [`certs`]):
/// a run then signs nothing with the root key, and pays only for the handshakes.
pub fn manager_with(
    provider: Arc<dyn ServiceProvider>,
    cache: &certs::CertCache,
) -> wmdm::Result<DeviceManager> {
    let root = private_key_from_pem(ROOT)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| wmdm::Error::Fail)?
        .as_secs();
    let now = i64::try_from(now).map_err(|_| wmdm::Error::Fail)?;
    let trust =
        TrustStore::new(Arc::new(SystemClock)).with_root("example root", root.to_public_key())?;
    let config = |pem: &str, role: Role, peer: Role, serial: u64| -> wmdm::Result<ChannelConfig> {
        let key = private_key_from_pem(pem)?;
        let request = CertificateRequest {
            subject: format!("sync example {role:?}"),
            role,
            app_sec: 1000,
            serial,
            not_before: now - 60,
            not_after: now + certs::VALID_SECS,
            public_key: key.to_public_key(),
        };
        let cert = cache.certificate(&request, "example root", &root, &trust, now)?;
        Ok(ChannelConfig::new(
            Identity::new(cert, key)?,
            trust.clone(),
            peer,
        ))
    };
    let server = SecureChannelServer::new(Arc::new(config(
        PROVIDER,
        Role::Provider,
        Role::Manager,
        2,
    )?));
    let manager = DeviceManager::new(config(MANAGER, Role::Manager, Role::Application, 1)?)?;
    manager.add_provider(AuthenticatedProvider::new(provider, server))?;
    manager.authenticate(Arc::new(config(APP, Role::Application, Role::Manager, 3)?))?;
    Ok(manager)
}

/// Cargo's target folder: the example runs from `target/<profile>/examples/`.
pub fn target_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()))
        .filter(|t| t.is_dir())
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
}
