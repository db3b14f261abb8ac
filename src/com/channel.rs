//! The one authentication gate that every COM object of a provider shares.

use std::sync::Arc;

use super::server::ModuleRef;
use crate::error::Result;
use crate::sac::{AuthGate, ChannelConfig, MAC_LEN, OPAQUE_MAC_LEN, SecureChannelServer, Session};

/// The provider's side of the secure authenticated channel: one [`SecureChannelServer`] shared
/// (through an `Arc`) by the service provider object and every device, storage, enumerator and
/// globals object it hands out, so one handshake authenticates them all.
///
/// IComponentAuthenticate on the provider object forwards SACAuth and SACGetProtocols here;
/// every other method calls [`ComChannel::check`] first and fails with
/// [`Error::NotCertified`](crate::Error::NotCertified) until the handshake has succeeded.
#[derive(Debug)]
pub struct ComChannel {
    gate: AuthGate,
    _module: ModuleRef,
}

impl ComChannel {
    /// A channel that waits for pass 0 of a handshake, with the provider's identity and the
    /// roots it trusts.
    pub fn new(config: Arc<ChannelConfig>) -> Arc<ComChannel> {
        Arc::new(ComChannel {
            gate: AuthGate::new(SecureChannelServer::new(config)),
            _module: ModuleRef::new(),
        })
    }

    /// True once a handshake has succeeded (fIsAuthenticated).
    pub fn is_authenticated(&self) -> bool {
        self.gate.is_authenticated()
    }

    /// The gate at the top of every provider method.
    ///
    /// # Errors
    /// [`Error::NotCertified`](crate::Error::NotCertified) before authentication.
    pub fn check(&self) -> Result<()> {
        self.gate.check()
    }

    fn with_session<T>(&self, f: impl FnOnce(&mut Session) -> Result<T>) -> Result<T> {
        self.gate.with_session(f)
    }

    /// The session MAC over `parts`, in order.
    ///
    /// # Errors
    /// [`Error::NotCertified`](crate::Error::NotCertified) before authentication.
    pub fn mac(&self, parts: &[&[u8]]) -> Result<[u8; MAC_LEN]> {
        self.with_session(|s| Ok(s.mac(parts)))
    }

    /// Checks a MAC the client sent.
    ///
    /// # Errors
    /// [`Error::NotCertified`](crate::Error::NotCertified) before authentication; [`Error::MacCheckFailed`](crate::Error::MacCheckFailed) on mismatch.
    pub fn verify_mac(&self, parts: &[&[u8]], mac: &[u8; MAC_LEN]) -> Result<()> {
        self.with_session(|s| s.verify_mac(parts, mac))
    }

    /// The `OPAQUECOMMAND.abMAC` field for a command ([`Session::opaque_mac`]).
    ///
    /// # Errors
    /// [`Error::NotCertified`](crate::Error::NotCertified) before authentication; [`Error::InvalidArg`](crate::Error::InvalidArg) for data longer
    /// than a DWORD.
    pub fn opaque_mac(&self, command: &[u8; 16], data: &[u8]) -> Result<[u8; OPAQUE_MAC_LEN]> {
        self.with_session(|s| s.opaque_mac(command, data))
    }

    /// Checks a whole `OPAQUECOMMAND.abMAC` field ([`Session::verify_opaque_mac`]).
    ///
    /// # Errors
    /// [`Error::NotCertified`](crate::Error::NotCertified) before authentication; [`Error::MacCheckFailed`](crate::Error::MacCheckFailed) on mismatch.
    pub fn verify_opaque_mac(
        &self,
        command: &[u8; 16],
        data: &[u8],
        field: &[u8; OPAQUE_MAC_LEN],
    ) -> Result<()> {
        self.with_session(|s| s.verify_opaque_mac(command, data, field))
    }

    /// EncryptParam, in place.
    ///
    /// # Errors
    /// [`Error::NotCertified`](crate::Error::NotCertified) before authentication; the session's errors.
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
        self.gate.protocols()
    }

    /// SACAuth: one handshake message in, the reply out.
    ///
    /// # Errors
    /// Those of [`ComponentAuthenticate::sac_auth`].
    pub fn sac_auth(&self, protocol: u32, pass: u32, data: &[u8]) -> Result<Vec<u8>> {
        self.gate.sac_auth(protocol, pass, data)
    }
}
