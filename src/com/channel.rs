//! The one authentication gate that every COM object of a provider shares.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::server::ModuleRef;
use crate::error::{Error, Result};
use crate::sac::{ChannelConfig, ComponentAuthenticate, MAC_LEN, SecureChannelServer, Session};

/// The provider's side of the secure authenticated channel: one [`SecureChannelServer`] shared
/// (through an `Arc`) by the service provider object and every device, storage, enumerator and
/// globals object it hands out, so one handshake authenticates them all.
///
/// IComponentAuthenticate on the provider object forwards SACAuth and SACGetProtocols here;
/// every other method calls [`ComChannel::check`] first and fails with
/// [`Error::NotCertified`] until the handshake has succeeded.
#[derive(Debug)]
pub struct ComChannel {
    server: Mutex<SecureChannelServer>,
    /// Mirrors the server's state so that the gate, which every call passes, takes no lock.
    authenticated: AtomicBool,
    _module: ModuleRef,
}

impl ComChannel {
    /// A channel that waits for pass 0 of a handshake, with the provider's identity and the
    /// roots it trusts.
    pub fn new(config: Arc<ChannelConfig>) -> Arc<ComChannel> {
        Arc::new(ComChannel {
            server: Mutex::new(SecureChannelServer::new(config)),
            authenticated: AtomicBool::new(false),
            _module: ModuleRef::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, SecureChannelServer> {
        // A panic while the lock was held (caught at the COM boundary) leaves the server in a
        // consistent state: every transition is a single assignment.
        self.server.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// True once a handshake has succeeded (fIsAuthenticated).
    pub fn is_authenticated(&self) -> bool {
        self.authenticated.load(Ordering::Acquire)
    }

    /// The gate at the top of every provider method.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication.
    pub fn check(&self) -> Result<()> {
        if self.is_authenticated() {
            Ok(())
        } else {
            Err(Error::NotCertified)
        }
    }

    fn with_session<T>(&self, f: impl FnOnce(&mut Session) -> Result<T>) -> Result<T> {
        let mut server = self.lock();
        f(server.session_mut()?)
    }

    /// The session MAC over `parts`, in order.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication.
    pub fn mac(&self, parts: &[&[u8]]) -> Result<[u8; MAC_LEN]> {
        self.with_session(|s| Ok(s.mac(parts)))
    }

    /// Checks a MAC the client sent.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; [`Error::MacCheckFailed`] on mismatch.
    pub fn verify_mac(&self, parts: &[&[u8]], mac: &[u8; MAC_LEN]) -> Result<()> {
        self.with_session(|s| s.verify_mac(parts, mac))
    }

    /// EncryptParam, in place.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; the session's errors.
    pub fn encrypt(&self, data: &mut [u8]) -> Result<()> {
        self.with_session(|s| s.encrypt_param(data))
    }

    /// DecryptParam, in place.
    ///
    /// # Errors
    /// As [`ComChannel::encrypt`].
    pub fn decrypt(&self, data: &mut [u8]) -> Result<()> {
        self.with_session(|s| s.decrypt_param(data))
    }

    /// SACGetProtocols.
    pub fn protocols(&self) -> Vec<u32> {
        self.lock().sac_get_protocols()
    }

    /// SACAuth: one handshake message in, the reply out.
    ///
    /// # Errors
    /// Those of [`ComponentAuthenticate::sac_auth`].
    pub fn sac_auth(&self, protocol: u32, pass: u32, data: &[u8]) -> Result<Vec<u8>> {
        let mut server = self.lock();
        let reply = server.sac_auth(protocol, pass, data);
        self.authenticated
            .store(server.is_authenticated(), Ordering::Release);
        reply
    }
}
