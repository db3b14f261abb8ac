//! The server side (CSecureChannelServer): one type per expected pass, and the
//! [`SecureChannelServer`] that dispatches SACAuth calls to them.

use std::fmt;
use std::sync::Arc;

use rsa::{Oaep, Pkcs1v15Sign};
use sha2::Sha256;

use super::messages::{
    NONCE_LEN, SECRET_LEN, Transcript, encode_server_finished, encode_server_hello_unsigned,
    parse_client_hello, parse_key_exchange,
};
use super::rng::Drbg;
use super::schedule::{handshake_keys, hmac};
use super::session::{Session, Side};
use super::{ChannelConfig, ComponentAuthenticate, SAC_PROTOCOL_V1, put_signature};
use crate::error::{Error, Result};
use crate::sac::cert::Certificate;

/// The server before pass 0: waiting for the client's certificate and challenge.
#[derive(Clone)]
pub struct ExpectPass0 {
    config: Arc<ChannelConfig>,
}

impl fmt::Debug for ExpectPass0 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ExpectPass0")
    }
}

/// The server after pass 0: waiting for the session secret and the client's signature.
#[derive(Clone)]
pub struct ExpectPass1 {
    config: Arc<ChannelConfig>,
    transcript: Transcript,
    client_cert: Certificate,
}

impl fmt::Debug for ExpectPass1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExpectPass1")
            .field("client", &self.client_cert)
            .finish_non_exhaustive()
    }
}

impl ExpectPass0 {
    /// A fresh server.
    pub fn new(config: Arc<ChannelConfig>) -> ExpectPass0 {
        ExpectPass0 { config }
    }

    /// Pass 0: checks the client's certificate, answers with this side's certificate, a fresh
    /// challenge and a signature over the transcript.
    ///
    /// # Errors
    /// [`Error::InvalidArg`] for a malformed, truncated or over-long message or the wrong
    /// protocol id inside it; [`Error::NotCertified`] for a certificate from an unknown root,
    /// with a bad signature, outside its validity window or of the wrong role;
    /// [`Error::Revoked`] for a revoked serial; [`Error::Fail`] when randomness or signing
    /// fails.
    pub fn handle_pass0(self, data: &[u8]) -> Result<(ExpectPass1, Vec<u8>)> {
        let hello = parse_client_hello(data)?;
        self.config
            .trust
            .verify(&hello.cert, self.config.peer_role)?;
        let mut nonce = [0u8; NONCE_LEN];
        self.config.random.fill(&mut nonce)?;
        let mut transcript = Transcript::new();
        transcript.add(data);
        let mut reply = encode_server_hello_unsigned(&self.config.identity.certificate, &nonce)?;
        let digest = transcript.hash_with(b"server signature", &reply);
        let mut rng = Drbg::seeded(self.config.random.as_ref())?;
        let signature = self
            .config
            .identity
            .key
            .sign_with_rng(&mut rng, Pkcs1v15Sign::new::<Sha256>(), &digest)
            .map_err(|_| Error::Fail)?;
        put_signature(&mut reply, &signature)?;
        transcript.add(&reply);
        Ok((
            ExpectPass1 {
                config: self.config,
                transcript,
                client_cert: hello.cert,
            },
            reply,
        ))
    }
}

impl ExpectPass1 {
    /// The client's certificate, checked in pass 0 (not yet proven: the client proves it holds
    /// the key in pass 1).
    pub fn client_certificate(&self) -> &Certificate {
        &self.client_cert
    }

    /// Pass 1: recovers the session secret, checks the client's signature over the whole
    /// transcript (so a pass 1 recorded from another session, which answered another
    /// challenge, fails), derives the keys and answers with a key confirmation.
    ///
    /// # Errors
    /// [`Error::InvalidArg`] for a malformed message; [`Error::NotCertified`] when the secret
    /// does not decrypt or the signature does not verify; [`Error::Fail`] when randomness
    /// fails.
    pub fn handle_pass1(self, data: &[u8]) -> Result<(Session, Vec<u8>)> {
        let kx = parse_key_exchange(data)?;
        let digest = self.transcript.hash_with(b"client signature", kx.unsigned);
        self.client_cert
            .public_key()
            .verify(Pkcs1v15Sign::new::<Sha256>(), &digest, kx.signature)
            .map_err(|_| Error::NotCertified)?;
        let mut rng = Drbg::seeded(self.config.random.as_ref())?;
        // The one private-key decryption of the handshake; blinded (RUSTSEC-2023-0071, see
        // docs/security.md).
        let secret = self
            .config
            .identity
            .key
            .decrypt_blinded(&mut rng, Oaep::new::<Sha256>(), kx.encrypted_secret)
            .map_err(|_| Error::NotCertified)?;
        let secret = zeroize::Zeroizing::new(secret);
        if secret.len() != SECRET_LEN {
            return Err(Error::NotCertified);
        }
        let mut transcript = self.transcript;
        transcript.add(data);
        let keys = handshake_keys(&secret, &transcript.hash());
        let finished = hmac(
            &keys.finished_key,
            &[b"server finished", &transcript.hash()],
        );
        let session = Session::new(
            Side::Server,
            keys.session_key,
            self.config.identity.certificate.app_sec(),
            self.client_cert,
        );
        Ok((session, encode_server_finished(&finished)))
    }
}

enum State {
    Pass0(ExpectPass0),
    Pass1(Box<ExpectPass1>),
    Done(Box<Session>),
}

/// CSecureChannelServer: holds the server's state between SACAuth calls, so a provider (or the
/// manager, toward applications) can forward IComponentAuthenticate to it.
///
/// A call for the wrong pass, or a repeat, is [`Error::CallOutOfSequence`] and leaves the state
/// as it was. A message that fails its checks sends the server back to pass 0, so the client
/// must start again. Once authenticated, the session stays until [`reset`](Self::reset).
pub struct SecureChannelServer {
    config: Arc<ChannelConfig>,
    state: State,
}

impl fmt::Debug for SecureChannelServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Pass0(_) => "ExpectPass0",
            State::Pass1(_) => "ExpectPass1",
            State::Done(_) => "Authenticated",
        };
        f.debug_struct("SecureChannelServer")
            .field("state", &state)
            .finish_non_exhaustive()
    }
}

impl SecureChannelServer {
    /// SetCertificate: a server with this side's identity, waiting for pass 0.
    pub fn new(config: Arc<ChannelConfig>) -> SecureChannelServer {
        SecureChannelServer {
            state: State::Pass0(ExpectPass0::new(config.clone())),
            config,
        }
    }

    /// fIsAuthenticated.
    pub fn is_authenticated(&self) -> bool {
        matches!(self.state, State::Done(_))
    }

    /// The session, once authenticated.
    pub fn session(&self) -> Option<&Session> {
        match &self.state {
            State::Done(s) => Some(s),
            _ => None,
        }
    }

    /// The session, for MACs and parameter encryption.
    ///
    /// # Errors
    /// [`Error::NotCertified`] before the handshake has succeeded.
    pub fn session_mut(&mut self) -> Result<&mut Session> {
        match &mut self.state {
            State::Done(s) => Ok(s),
            _ => Err(Error::NotCertified),
        }
    }

    /// Forgets any session and waits for a new pass 0.
    pub fn reset(&mut self) {
        self.state = State::Pass0(ExpectPass0::new(self.config.clone()));
    }
}

impl ComponentAuthenticate for SecureChannelServer {
    fn sac_get_protocols(&self) -> Vec<u32> {
        vec![SAC_PROTOCOL_V1]
    }

    fn sac_auth(&mut self, protocol: u32, pass: u32, data: &[u8]) -> Result<Vec<u8>> {
        if protocol != SAC_PROTOCOL_V1 {
            return Err(Error::InvalidArg);
        }
        let expected = match &self.state {
            State::Pass0(_) => 0,
            State::Pass1(_) => 1,
            State::Done(_) => return Err(Error::CallOutOfSequence),
        };
        if pass != expected {
            return Err(Error::CallOutOfSequence);
        }
        let fresh = State::Pass0(ExpectPass0::new(self.config.clone()));
        let (next, out) = match std::mem::replace(&mut self.state, fresh) {
            State::Pass0(s) => match s.handle_pass0(data) {
                Ok((next, out)) => (State::Pass1(Box::new(next)), Ok(out)),
                Err(e) => (State::Pass0(ExpectPass0::new(self.config.clone())), Err(e)),
            },
            State::Pass1(s) => match s.handle_pass1(data) {
                Ok((session, out)) => (State::Done(Box::new(session)), Ok(out)),
                Err(e) => (State::Pass0(ExpectPass0::new(self.config.clone())), Err(e)),
            },
            State::Done(s) => (State::Done(s), Err(Error::CallOutOfSequence)),
        };
        self.state = next;
        out
    }
}
