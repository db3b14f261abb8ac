//! Pieces of the sync example: the demo library, the device manager set-up, and the output.

pub mod demo;
pub mod device;
pub mod mtp;
pub mod report;
pub mod selection;
pub mod transcode;
pub mod verify;
pub mod watch;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use wmdm::Error;
use wmdm::flags::DeviceEnumPreference;
use wmdm::manager::{AuthenticatedProvider, DeviceManager};
use wmdm::provider::{DeviceRef, ServiceProvider};
use wmdm::sac::{
    Certificate, ChannelConfig, Identity, Role, SecureChannelServer, TrustStore,
    private_key_from_pem, public_key_from_pem,
};
use wmdm::time::SystemClock;

// The example ships what each party of a real deployment would hold: its own private key and
// a certificate issued ahead of time by the root (`examples/issue_cert.rs`, valid for a century
// so the example never goes stale), plus the root's public key to check the others against.
// The root's private key is not here. The keys are the repository's test keys, public by
// design: fine for an example, never for a product.
const ROOT_NAME: &str = "test root";
const ROOT_PUBLIC: &str = include_str!("../certs/root.pub.pem");
const APP: (&str, &[u8]) = (
    include_str!("../../tests/data/keys/app.pem"),
    include_bytes!("../certs/sync_app.cert"),
);
const MANAGER: (&str, &[u8]) = (
    include_str!("../../tests/data/keys/manager.pem"),
    include_bytes!("../certs/sync_manager.cert"),
);
const PROVIDER: (&str, &[u8]) = (
    include_str!("../../tests/data/keys/provider.pem"),
    include_bytes!("../certs/sync_provider.cert"),
);

/// A device manager serving `provider`, which the application has authenticated to, every
/// party with its shipped certificate. Nothing is signed at run time: only the handshakes run.
pub fn manager(provider: Arc<dyn ServiceProvider>) -> wmdm::Result<DeviceManager> {
    manager_of(vec![provider])
}

/// [`manager`] over several providers (watch mode: the mount roots' folders, and MTP devices
/// with the `mtp` feature).
pub fn manager_of(providers: Vec<Arc<dyn ServiceProvider>>) -> wmdm::Result<DeviceManager> {
    let _span = tracing::debug_span!("device manager").entered();
    let trust = TrustStore::new(Arc::new(SystemClock))
        .with_root(ROOT_NAME, public_key_from_pem(ROOT_PUBLIC)?)?;
    let config = |(pem, cert): (&str, &[u8]), peer: Role| -> wmdm::Result<ChannelConfig> {
        let identity = Identity::new(Certificate::from_bytes(cert)?, private_key_from_pem(pem)?)?;
        Ok(ChannelConfig::new(identity, trust.clone(), peer))
    };
    let manager = DeviceManager::new(config(MANAGER, Role::Application)?)?;
    let provider_config = Arc::new(config(PROVIDER, Role::Manager)?);
    for provider in providers {
        let server = SecureChannelServer::new(provider_config.clone());
        manager.add_provider(AuthenticatedProvider::new(provider, server))?;
    }
    let app = Arc::new(config(APP, Role::Manager)?);
    // The manager's handshake with a provider happens at its first device listing; made
    // here, it runs while the library is scanned instead of after, and beside the
    // application's own handshake.
    manager.authenticate_beside_providers(app)?;
    let _ = manager.devices();
    Ok(manager)
}

/// A provider opened on a thread of its own, answering once it is open: the folder device's
/// ID map (a megabyte after a first sync of 10,000 files) is read while the handshakes run,
/// which need no device, instead of before them. The manager asks for devices only after its
/// handshake, so nothing waits unless the opening is slower than both handshakes.
#[derive(Debug)]
pub struct OpenedAside(Mutex<Opening>);

#[derive(Debug)]
enum Opening {
    Pending(JoinHandle<Arc<dyn ServiceProvider>>),
    Open(Arc<dyn ServiceProvider>),
    /// The opening thread panicked.
    Failed,
}

impl OpenedAside {
    /// Starts `open` on a new thread.
    pub fn start(open: impl FnOnce() -> Arc<dyn ServiceProvider> + Send + 'static) -> OpenedAside {
        OpenedAside(Mutex::new(Opening::Pending(std::thread::spawn(open))))
    }

    /// The provider, once open (waiting for the opening thread the first time).
    fn provider(&self) -> wmdm::Result<Arc<dyn ServiceProvider>> {
        let mut state = self.0.lock().map_err(|_| Error::Fail)?;
        *state = match std::mem::replace(&mut *state, Opening::Failed) {
            Opening::Pending(opening) => opening.join().map_or(Opening::Failed, Opening::Open),
            settled => settled,
        };
        match &*state {
            Opening::Open(p) => Ok(p.clone()),
            _ => Err(Error::Fail.context("opening the device's provider")),
        }
    }
}

impl ServiceProvider for OpenedAside {
    fn device_count(&self) -> wmdm::Result<u32> {
        self.provider()?.device_count()
    }

    fn devices(&self) -> wmdm::Result<Vec<DeviceRef>> {
        self.provider()?.devices()
    }

    fn create_device(&self, pnp_path: &str) -> wmdm::Result<Vec<DeviceRef>> {
        self.provider()?.create_device(pnp_path)
    }

    fn set_device_enum_preference(&self, preference: DeviceEnumPreference) -> wmdm::Result<()> {
        self.provider()?.set_device_enum_preference(preference)
    }

    fn revocation_url(&self) -> wmdm::Result<String> {
        self.provider()?.revocation_url()
    }
}

/// Cargo's target folder: the example runs from `target/<profile>/examples/`.
pub fn target_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()))
        .filter(|t| t.is_dir())
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
}
