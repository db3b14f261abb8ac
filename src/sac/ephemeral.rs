//! Credentials for a channel whose two ends live in one process: a root, and certificates for
//! the application, the device manager and the provider, made in memory when first asked for.
//!
//! Inside one process the secure channel protects nothing: both ends share the address space,
//! so whoever could read the channel's traffic could read the keys as easily. WMDM still
//! requires every party to authenticate before it calls a device (the manager refuses an
//! unauthenticated application, a provider refuses an unauthenticated manager), so the
//! in-process path runs the same handshake, with credentials nobody outside the process has
//! and that die with it. Explicit certificates ([`Certificate::issue`], `docs/security.md`)
//! stay for the COM path and for providers loaded from elsewhere, which are separate parties.
//!
//! The RSA keys are generated once per process (2048-bit key generation takes a noticeable
//! fraction of a second; certificates are cheap and are issued per call, valid around the
//! caller's clock).

use std::sync::{Arc, OnceLock};

use rsa::RsaPrivateKey;

use super::{
    Certificate, CertificateRequest, ChannelConfig, Identity, MIN_RSA_BITS, Role, TrustStore,
};
use crate::error::{Error, Result};
use crate::time::Clock;

/// The root's name in ephemeral certificates.
const ROOT_NAME: &str = "wmdm in-process root";

/// How long ephemeral certificates are valid either side of the clock's "now": long enough
/// for any process, so that a [`ManualClock`](crate::time::ManualClock) that a test moves
/// forward by days still sees them valid.
const VALIDITY_SECS: i64 = 10 * 365 * 86_400;

/// The process's keys: the root's, and one per party.
struct Keys {
    root: RsaPrivateKey,
    application: RsaPrivateKey,
    manager: RsaPrivateKey,
    provider: RsaPrivateKey,
}

fn keys() -> Result<&'static Keys> {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    if let Some(k) = KEYS.get() {
        return Ok(k);
    }
    // One key pair serves the root and the three parties. Inside one process the channel
    // protects nothing (every party can read every other's memory), so separate keys would buy
    // nothing but start-up time: an RSA key takes a noticeable fraction of a second to make,
    // and the paved path makes these at its first start in each process.
    let key = RsaPrivateKey::new(&mut rand_core::OsRng, MIN_RSA_BITS).map_err(|_| {
        Error::Fail.context("making the in-process key (is the system's random source there?)")
    })?;
    let made = Keys {
        root: key.clone(),
        application: key.clone(),
        manager: key.clone(),
        provider: key,
    };
    // Two threads racing here both generate; one set wins, which is harmless.
    Ok(KEYS.get_or_init(|| made))
}

/// Certificates for the three parties of one process, issued by a root made in memory.
///
/// ```
/// use std::sync::Arc;
/// use wmdm::sac::{EphemeralCredentials, Role};
/// use wmdm::time::SystemClock;
///
/// let creds = EphemeralCredentials::new(Arc::new(SystemClock))?;
/// assert_eq!(creds.config(Role::Provider)?.peer_role(), Role::Manager);
/// # Ok::<(), wmdm::Error>(())
/// ```
#[derive(Clone)]
pub struct EphemeralCredentials {
    trust: TrustStore,
    now: i64,
}

impl std::fmt::Debug for EphemeralCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EphemeralCredentials")
            .field("root", &ROOT_NAME)
            .finish_non_exhaustive()
    }
}

impl EphemeralCredentials {
    /// Credentials whose certificates are valid around `clock`'s now; the trust store reads
    /// `clock` too.
    ///
    /// # Errors
    /// [`Error::Fail`] when the operating system's random generator is unavailable.
    pub fn new(clock: Arc<dyn Clock>) -> Result<EphemeralCredentials> {
        let now = super::cert::unix_seconds(clock.now());
        let trust = TrustStore::new(clock).with_root(ROOT_NAME, keys()?.root.to_public_key())?;
        Ok(EphemeralCredentials { trust, now })
    }

    /// The channel configuration for `role`, expecting the peer WMDM puts opposite it: a
    /// manager for the application and the provider, a provider for the manager (which
    /// [`DeviceManager::new`](crate::manager::DeviceManager::new) also turns toward
    /// applications).
    ///
    /// # Errors
    /// [`Error::Fail`] when signing fails.
    pub fn config(&self, role: Role) -> Result<ChannelConfig> {
        let keys = keys()?;
        let (key, serial, peer) = match role {
            Role::Application => (&keys.application, 1, Role::Manager),
            Role::Manager => (&keys.manager, 2, Role::Provider),
            Role::Provider => (&keys.provider, 3, Role::Manager),
        };
        let request = CertificateRequest {
            subject: format!("wmdm in-process {role:?}"),
            role,
            app_sec: 1000,
            serial,
            not_before: self.now.saturating_sub(VALIDITY_SECS),
            not_after: self.now.saturating_add(VALIDITY_SECS),
            public_key: key.to_public_key(),
        };
        let cert = Certificate::issue(&request, ROOT_NAME, &keys.root)?;
        Ok(ChannelConfig::new(
            Identity::new(cert, key.clone())?,
            self.trust.clone(),
            peer,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sac::{SecureChannelClient, SecureChannelServer};
    use crate::time::ManualClock;

    #[test]
    fn the_three_parties_authenticate_to_each_other_and_an_outsider_does_not() {
        let clock = Arc::new(ManualClock::default());
        let creds = EphemeralCredentials::new(clock.clone()).expect("credentials");
        let mut provider =
            SecureChannelServer::new(Arc::new(creds.config(Role::Provider).expect("provider")));
        let manager = creds.config(Role::Manager).expect("manager");
        SecureChannelClient::new(Arc::new(manager))
            .authenticate(&mut provider, super::super::SAC_PROTOCOL_V1)
            .expect("the manager authenticates to the provider");
        // A certificate from another root is refused: the ephemeral root is the only one.
        let other = RsaPrivateKey::new(&mut rand_core::OsRng, MIN_RSA_BITS).expect("key");
        let request = CertificateRequest {
            subject: "outsider".into(),
            role: Role::Manager,
            app_sec: 1000,
            serial: 9,
            not_before: 0,
            not_after: i64::MAX,
            public_key: other.to_public_key(),
        };
        let cert = Certificate::issue(&request, ROOT_NAME, &other).expect("issue");
        let outsider = ChannelConfig::new(
            Identity::new(cert, other).expect("identity"),
            creds.trust.clone(),
            Role::Provider,
        );
        let mut provider =
            SecureChannelServer::new(Arc::new(creds.config(Role::Provider).expect("provider")));
        let refused = SecureChannelClient::new(Arc::new(outsider))
            .authenticate(&mut provider, super::super::SAC_PROTOCOL_V1);
        assert!(
            refused.is_err(),
            "a certificate from another root is refused"
        );
    }
}
