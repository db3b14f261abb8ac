//! The client side (CSecureChannelClient): one type per awaited reply, and
//! [`SecureChannelClient::authenticate`], which drives both passes against an
//! IComponentAuthenticate.

use std::fmt;
use std::sync::Arc;

use rsa::{Oaep, Pkcs1v15Sign};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::cert::Certificate;
use super::messages::{
    NONCE_LEN, SECRET_LEN, Transcript, encode_client_hello, encode_key_exchange_unsigned,
    parse_server_finished, parse_server_hello,
};
use super::rng::Drbg;
use super::schedule::{handshake_keys, hmac};
use super::session::{Session, Side};
use super::{ChannelConfig, ComponentAuthenticate, SAC_PROTOCOL_V1, put_signature};
use crate::error::ResultExt;
use crate::error::{Error, Result};

/// The client after sending pass 0: waiting for the server's certificate, challenge and
/// signature.
#[derive(Clone)]
pub struct AwaitPass0Reply {
    config: Arc<ChannelConfig>,
    transcript: Transcript,
}

impl fmt::Debug for AwaitPass0Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AwaitPass0Reply")
    }
}

/// The client after sending pass 1: waiting for the server's key confirmation.
#[derive(Clone)]
pub struct AwaitPass1Reply {
    config: Arc<ChannelConfig>,
    transcript: Transcript,
    server_cert: Certificate,
    secret: Zeroizing<[u8; SECRET_LEN]>,
}

impl fmt::Debug for AwaitPass1Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwaitPass1Reply")
            .field("server", &self.server_cert)
            .finish_non_exhaustive()
    }
}

/// Starts a handshake: the pass 0 message (this side's certificate and a fresh challenge).
///
/// # Errors
/// [`Error::Fail`] when randomness fails; [`Error::InvalidArg`] if the certificate cannot be
/// encoded.
pub fn begin(config: Arc<ChannelConfig>) -> Result<(AwaitPass0Reply, Vec<u8>)> {
    let mut nonce = [0u8; NONCE_LEN];
    config.random.fill(&mut nonce)?;
    let hello = encode_client_hello(&config.identity.certificate, &nonce)?;
    let mut transcript = Transcript::new();
    transcript.add(&hello);
    Ok((AwaitPass0Reply { config, transcript }, hello))
}

impl AwaitPass0Reply {
    /// Handles the server's pass 0 reply: checks its certificate and its signature over the
    /// transcript (which contains this side's fresh challenge, so an old reply fails), then
    /// produces pass 1: a fresh session secret under the server's key, signed with this side's
    /// key over the transcript.
    ///
    /// # Errors
    /// [`Error::InvalidArg`] for a malformed reply; [`Error::NotCertified`] for an untrusted,
    /// expired or wrong-role certificate or a bad signature; [`Error::Revoked`] for a revoked
    /// serial; [`Error::Fail`] when randomness or an RSA operation fails.
    pub fn handle_reply(self, reply: &[u8]) -> Result<(AwaitPass1Reply, Vec<u8>)> {
        let hello = parse_server_hello(reply)?;
        self.config
            .trust
            .verify(&hello.cert, self.config.peer_role)?;
        let digest = self
            .transcript
            .hash_with(b"server signature", hello.unsigned);
        hello
            .cert
            .public_key()
            .verify(Pkcs1v15Sign::new::<Sha256>(), &digest, hello.signature)
            .map_err(|_| Error::NotCertified)?;
        let mut transcript = self.transcript;
        transcript.add(reply);

        let mut secret = Zeroizing::new([0u8; SECRET_LEN]);
        self.config.random.fill(&mut *secret)?;
        let mut rng = Drbg::seeded(self.config.random.as_ref())?;
        let encrypted = hello
            .cert
            .public_key()
            .encrypt(&mut rng, Oaep::new::<Sha256>(), &*secret)
            .map_err(|_| Error::Fail)?;
        let mut message = encode_key_exchange_unsigned(&encrypted)?;
        let digest = transcript.hash_with(b"client signature", &message);
        let signature = self
            .config
            .identity
            .key
            .sign_with_rng(&mut rng, Pkcs1v15Sign::new::<Sha256>(), &digest)
            .map_err(|_| Error::Fail)?;
        put_signature(&mut message, &signature)?;
        transcript.add(&message);
        Ok((
            AwaitPass1Reply {
                config: self.config,
                transcript,
                server_cert: hello.cert,
                secret,
            },
            message,
        ))
    }
}

impl AwaitPass1Reply {
    /// The server's certificate (checked, and its key proven by the pass 0 signature).
    pub fn server_certificate(&self) -> &Certificate {
        &self.server_cert
    }

    /// Handles the server's key confirmation; on success the channel is authenticated.
    ///
    /// # Errors
    /// [`Error::InvalidArg`] for a malformed reply; [`Error::MacCheckFailed`] when the
    /// confirmation does not match (the server derived different keys).
    pub fn handle_reply(self, reply: &[u8]) -> Result<Session> {
        let finished = parse_server_finished(reply)?;
        let keys = handshake_keys(&*self.secret, &self.transcript.hash());
        let expected = hmac(
            &keys.finished_key,
            &[b"server finished", &self.transcript.hash()],
        );
        // Constant-time comparison: fold the differences.
        let diff = expected
            .iter()
            .zip(finished.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if diff != 0 {
            return Err(Error::MacCheckFailed);
        }
        Ok(Session::new(
            Side::Client,
            keys.session_key,
            self.config.identity.certificate.app_sec(),
            self.server_cert,
        ))
    }
}

/// CSecureChannelClient: drives the handshake against a peer's IComponentAuthenticate.
#[derive(Clone, Debug)]
pub struct SecureChannelClient {
    config: Arc<ChannelConfig>,
}

impl SecureChannelClient {
    /// SetCertificate: a client with this side's identity.
    pub fn new(config: Arc<ChannelConfig>) -> SecureChannelClient {
        SecureChannelClient { config }
    }

    /// Authenticate(dwProtocolID): runs passes 0 and 1 against `peer`.
    ///
    /// # Errors
    /// [`Error::InvalidArg`] for a protocol other than [`SAC_PROTOCOL_V1`];
    /// [`Error::NotSupported`] when the peer does not offer it; otherwise any error of the
    /// passes, on either side.
    pub fn authenticate(
        &self,
        peer: &mut dyn ComponentAuthenticate,
        protocol: u32,
    ) -> Result<Session> {
        if protocol != SAC_PROTOCOL_V1 {
            return Err(Error::InvalidArg
                .context("unknown secure-channel protocol")
                .subject(protocol));
        }
        if !peer.sac_get_protocols().contains(&protocol) {
            return Err(Error::NotSupported
                .context("the peer does not offer secure-channel protocol")
                .subject(protocol));
        }
        let result = (|| {
            let (state, msg0) = begin(self.config.clone()).context("starting the handshake")?;
            let reply0 = peer
                .sac_auth(protocol, 0, &msg0)
                .context("the peer refused handshake pass 0")?;
            let (state, msg1) = state
                .handle_reply(&reply0)
                .context("checking the peer's pass 0 reply")?;
            let reply1 = peer
                .sac_auth(protocol, 1, &msg1)
                .context("the peer refused handshake pass 1")?;
            state
                .handle_reply(&reply1)
                .context("checking the peer's pass 1 reply")
        })();
        match &result {
            Ok(_) => tracing::debug!("secure-channel handshake done"),
            Err(e) => tracing::warn!(error = %e, "secure-channel handshake failed"),
        }
        result.map_err(|e| e.context("authenticating"))
    }
}
