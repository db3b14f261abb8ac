//! The secure authenticated channel (SAC): IComponentAuthenticate, CSecureChannelServer and
//! CSecureChannelClient, sans-IO.
//!
//! WMDM lets nothing happen before authentication (Microsoft's reference: <https://learn.microsoft.com/en-us/windows/win32/wmdm/component-authentication>). Microsoft's wire format is
//! proprietary, so this module defines its own protocol with the same shape: protocol
//! [`SAC_PROTOCOL_V1`] (2), two passes numbered 0 and 1, one message in and one out per
//! SACAuth call, certificates in a [`SAC_CERT_V1`] format of its own. `docs/security.md`
//! describes every byte, the key schedule and the threat model.
//!
//! * [`Certificate`], [`TrustStore`], [`RevocationList`]: who is trusted.
//! * Server side: [`server::ExpectPass0`] → [`server::ExpectPass1`] → [`Session`], and the
//!   [`SecureChannelServer`] that a provider forwards SACAuth to.
//! * Client side: [`client::begin`] → [`client::AwaitPass0Reply`] →
//!   [`client::AwaitPass1Reply`] → [`Session`], and [`SecureChannelClient::authenticate`].
//! * [`Session`]: 8-byte MACs with at most 20 open handles, in-place parameter encryption,
//!   session keys, the peer's certificate, the application security levels.
//!
//! Nothing here does I/O or reads the clock directly: time comes from the [`TrustStore`]'s
//! [`Clock`](crate::time::Clock), randomness from a [`RandomSource`].
//!
//! ```no_run
//! use std::sync::Arc;
//! use wmdm::sac::*;
//! use wmdm::time::SystemClock;
//!
//! # fn main() -> wmdm::Result<()> {
//! let root_key = private_key_from_pem(&std::fs::read_to_string("root.pem")?)?;
//! let trust = TrustStore::new(Arc::new(SystemClock)).with_root("root", root_key.to_public_key())?;
//! let app_key = private_key_from_pem(&std::fs::read_to_string("app.pem")?)?;
//! let mgr_key = private_key_from_pem(&std::fs::read_to_string("manager.pem")?)?;
//! let issue = |subject: &str, role, serial, key: &rsa::RsaPrivateKey| {
//!     Certificate::issue(
//!         &CertificateRequest {
//!             subject: subject.into(),
//!             role,
//!             app_sec: 1000,
//!             serial,
//!             not_before: 0,
//!             not_after: i64::MAX,
//!             public_key: key.to_public_key(),
//!         },
//!         "root",
//!         &root_key,
//!     )
//! };
//! let app = ChannelConfig::new(
//!     Identity::new(issue("app", Role::Application, 1, &app_key)?, app_key)?,
//!     trust.clone(),
//!     Role::Manager,
//! );
//! let mgr = ChannelConfig::new(
//!     Identity::new(issue("manager", Role::Manager, 2, &mgr_key)?, mgr_key)?,
//!     trust,
//!     Role::Application,
//! );
//! let mut server = SecureChannelServer::new(Arc::new(mgr));
//! let session = SecureChannelClient::new(Arc::new(app)).authenticate(&mut server, SAC_PROTOCOL_V1)?;
//! assert!(server.is_authenticated());
//! assert_eq!(session.peer_certificate().subject(), "manager");
//! # Ok(()) }
//! ```

mod cert;
pub mod client;
mod codec;
mod ephemeral;
mod gate;
mod messages;
mod rng;
mod schedule;
pub mod server;
mod session;

use std::fmt;
use std::sync::Arc;

use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};

pub use cert::{
    CERT_MAGIC, Certificate, CertificateRequest, MAX_CERT_LEN, MAX_RSA_BITS, MIN_RSA_BITS,
    RevocationList, Role, SAC_CERT_V1, TrustAnchor, TrustStore,
};
pub use client::SecureChannelClient;
pub use ephemeral::EphemeralCredentials;
pub(crate) use gate::AuthGate;
pub use rng::{OsRandom, RandomSource, SeededRandom};
pub use server::SecureChannelServer;
pub use session::{
    MAC_LEN, MAX_MAC_HANDLES, MAX_PARAM_LEN, MacHandle, OPAQUE_MAC_LEN, SESSION_KEY_LEN, Session,
    Side,
};

use crate::error::{Error, Result};

/// `SAC_PROTOCOL_V1`: the only protocol this crate speaks (WMDM accepts only it, too).
pub const SAC_PROTOCOL_V1: u32 = 2;

/// IComponentAuthenticate: what a SAC server exposes to its client.
pub trait ComponentAuthenticate: Send + fmt::Debug {
    /// SACGetProtocols: the protocols this side speaks; `[2]`.
    fn sac_get_protocols(&self) -> Vec<u32>;

    /// SACAuth: one message of pass `pass` in, the reply out.
    ///
    /// # Errors
    /// [`Error::InvalidArg`] for a protocol other than [`SAC_PROTOCOL_V1`] or a malformed
    /// message; [`Error::CallOutOfSequence`] for the wrong pass or a repeat; the certificate
    /// and signature errors of the passes ([`Error::NotCertified`], [`Error::Revoked`]).
    fn sac_auth(&mut self, protocol: u32, pass: u32, data: &[u8]) -> Result<Vec<u8>>;
}

/// One side's certificate and the private key that goes with it (SetCertificate's `pbAppCert`
/// and `pbAppPVK`).
#[derive(Clone)]
pub struct Identity {
    certificate: Certificate,
    key: RsaPrivateKey,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("certificate", &self.certificate)
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// Pairs a certificate with its private key.
    ///
    /// # Errors
    /// [`Error::InvalidArg`] when the key is not the one the certificate names.
    pub fn new(certificate: Certificate, key: RsaPrivateKey) -> Result<Identity> {
        if &RsaPublicKey::from(&key) != certificate.public_key() {
            return Err(Error::InvalidArg
                .context("the private key is not the one the certificate names: certificate")
                .subject(format!("'{}'", certificate.subject())));
        }
        Ok(Identity { certificate, key })
    }

    /// The certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The public half of the key.
    pub fn public_key(&self) -> RsaPublicKey {
        self.key.to_public_key()
    }

    /// The modulus size in bits.
    pub fn key_bits(&self) -> usize {
        self.key.size() * 8
    }
}

/// Everything one side of a channel needs: who it is, whom it trusts, which role it expects
/// the peer to have, and where randomness comes from.
#[derive(Clone, Debug)]
pub struct ChannelConfig {
    identity: Identity,
    trust: TrustStore,
    peer_role: Role,
    random: Arc<dyn RandomSource>,
}

impl ChannelConfig {
    /// A configuration that draws randomness from the operating system.
    pub fn new(identity: Identity, trust: TrustStore, peer_role: Role) -> ChannelConfig {
        ChannelConfig {
            identity,
            trust,
            peer_role,
            random: Arc::new(OsRandom),
        }
    }

    /// Replaces the randomness source (tests use [`SeededRandom`]).
    pub fn with_random(mut self, random: Arc<dyn RandomSource>) -> ChannelConfig {
        self.random = random;
        self
    }

    /// Replaces the role the peer's certificate must carry (the device manager uses one
    /// identity toward applications and toward providers).
    pub fn with_peer_role(mut self, role: Role) -> ChannelConfig {
        self.peer_role = role;
        self
    }

    /// This side's identity.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// This side's trust store.
    pub fn trust(&self) -> &TrustStore {
        &self.trust
    }

    /// The trust store, to revoke serials after construction.
    pub fn trust_mut(&mut self) -> &mut TrustStore {
        &mut self.trust
    }

    /// The role the peer's certificate must carry.
    pub fn peer_role(&self) -> Role {
        self.peer_role
    }
}

/// Parses an RSA private key from PEM (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`).
///
/// # Errors
/// [`Error::InvalidArg`] when the text is neither.
pub fn private_key_from_pem(pem: &str) -> Result<RsaPrivateKey> {
    RsaPrivateKey::from_pkcs8_pem(pem)
        .or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem))
        .map_err(|e| {
            Error::with_source(crate::ErrorCode::InvalidArg, e.to_string())
                .context("the private key is neither PKCS#8 nor PKCS#1 PEM")
        })
}

/// Parses an RSA private key from DER (PKCS#8 or PKCS#1).
///
/// # Errors
/// [`Error::InvalidArg`] when the bytes are neither.
pub fn private_key_from_der(der: &[u8]) -> Result<RsaPrivateKey> {
    RsaPrivateKey::from_pkcs8_der(der)
        .or_else(|_| RsaPrivateKey::from_pkcs1_der(der))
        .map_err(|e| {
            Error::with_source(crate::ErrorCode::InvalidArg, e.to_string())
                .context("the private key is neither PKCS#8 nor PKCS#1 DER")
        })
}

/// Parses an RSA public key from PEM (SPKI `PUBLIC KEY` or PKCS#1 `RSA PUBLIC KEY`): how a
/// root's public key is shipped to those who trust it, without its private half.
///
/// # Errors
/// [`Error::InvalidArg`] when the text is neither.
pub fn public_key_from_pem(pem: &str) -> Result<RsaPublicKey> {
    use rsa::pkcs1::DecodeRsaPublicKey;
    use rsa::pkcs8::DecodePublicKey;
    RsaPublicKey::from_public_key_pem(pem)
        .or_else(|_| RsaPublicKey::from_pkcs1_pem(pem))
        .map_err(|_| Error::InvalidArg)
}

fn put_signature(out: &mut Vec<u8>, signature: &[u8]) -> Result<()> {
    codec::put_vec16(out, signature)
}

#[cfg(test)]
mod tests;
