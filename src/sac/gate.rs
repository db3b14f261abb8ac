//! The one authentication gate: a [`SecureChannelServer`] behind a lock, with a lock-free
//! "has the handshake succeeded" that every call checks first (fIsAuthenticated, or
//! `WMDM_E_NOTCERTIFIED`).
//!
//! The device manager guards its application handles with one, each provider handle the
//! manager holds with another, and the COM provider shares one between all its objects.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{ComponentAuthenticate, SecureChannelServer, Session};
use crate::error::{Error, Result};

/// A channel server and whether its handshake has succeeded.
#[derive(Debug)]
pub(crate) struct AuthGate {
    server: Mutex<SecureChannelServer>,
    /// Mirrors the server's state after every change, so the check every call makes takes
    /// no lock.
    authenticated: AtomicBool,
}

impl AuthGate {
    /// A gate closed until `server` completes a handshake.
    pub(crate) fn new(server: SecureChannelServer) -> AuthGate {
        let authenticated = AtomicBool::new(server.is_authenticated());
        AuthGate {
            server: Mutex::new(server),
            authenticated,
        }
    }

    fn lock(&self) -> MutexGuard<'_, SecureChannelServer> {
        // A panic while the lock was held leaves the server consistent (every transition is
        // one assignment), so a poisoned lock is used as it is: the gate then answers as the
        // server's state says, the same everywhere.
        self.server.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// fIsAuthenticated.
    pub(crate) fn is_authenticated(&self) -> bool {
        self.authenticated.load(Ordering::Acquire)
    }

    /// The check at the top of every guarded call.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before a handshake has succeeded (or after [`reset`](Self::reset)).
    pub(crate) fn check(&self) -> Result<()> {
        if self.is_authenticated() {
            Ok(())
        } else {
            Err(Error::NotCertified)
        }
    }

    /// Runs `f` with the authenticated session, holding the lock for its duration.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before authentication; `f`'s errors.
    pub(crate) fn with_session<T>(&self, f: impl FnOnce(&mut Session) -> Result<T>) -> Result<T> {
        let mut server = self.lock();
        f(server.session_mut()?)
    }

    /// Drops the session: the gate is closed until the next handshake.
    pub(crate) fn reset(&self) {
        let mut server = self.lock();
        server.reset();
        self.authenticated
            .store(server.is_authenticated(), Ordering::Release);
    }

    /// SACGetProtocols.
    pub(crate) fn protocols(&self) -> Vec<u32> {
        self.lock().sac_get_protocols()
    }

    /// SACAuth: one handshake message in, the reply out; the gate opens when the last pass
    /// succeeds.
    ///
    /// # Errors
    /// Those of [`ComponentAuthenticate::sac_auth`].
    pub(crate) fn sac_auth(&self, protocol: u32, pass: u32, data: &[u8]) -> Result<Vec<u8>> {
        let mut server = self.lock();
        let reply = server.sac_auth(protocol, pass, data);
        self.authenticated
            .store(server.is_authenticated(), Ordering::Release);
        reply
    }
}
