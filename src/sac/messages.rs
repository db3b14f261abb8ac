//! The four handshake messages of SAC_PROTOCOL_V1 and the running transcript.
//!
//! Every message starts with the protocol id (`u32`, 2) and the pass number (`u8`). Layouts are
//! in `docs/security.md`.

use sha2::{Digest, Sha256};

use super::SAC_PROTOCOL_V1;
use super::cert::{Certificate, MAX_CERT_LEN, MAX_RSA_BITS, MIN_RSA_BITS};
use super::codec::{Reader, put_vec16};
use crate::error::{Error, Result};

/// Challenge length: each side's fresh random value.
pub(crate) const NONCE_LEN: usize = 32;
/// The session secret the client carries under the server's key.
pub(crate) const SECRET_LEN: usize = 32;
const MIN_RSA_BYTES: usize = MIN_RSA_BITS / 8;
const MAX_RSA_BYTES: usize = MAX_RSA_BITS / 8;

fn header(pass: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    out.extend_from_slice(&SAC_PROTOCOL_V1.to_le_bytes());
    out.push(pass);
    out
}

fn read_header(r: &mut Reader<'_>, pass: u8) -> Result<()> {
    if r.u32()? != SAC_PROTOCOL_V1 || r.u8()? != pass {
        return Err(Error::InvalidArg);
    }
    Ok(())
}

/// The hash of everything exchanged so far; each message goes in with its length first.
#[derive(Clone)]
pub(crate) struct Transcript(Sha256);

impl Transcript {
    pub(crate) fn new() -> Transcript {
        Transcript(Sha256::new_with_prefix(b"wmdm-sac-v1 transcript"))
    }

    pub(crate) fn add(&mut self, message: &[u8]) {
        self.0.update((message.len() as u64).to_le_bytes());
        self.0.update(message);
    }

    /// The hash of the transcript with `extra` appended, without changing it.
    pub(crate) fn hash_with(&self, label: &[u8], extra: &[u8]) -> [u8; 32] {
        let mut h = self.0.clone();
        h.update(label);
        h.update((extra.len() as u64).to_le_bytes());
        h.update(extra);
        h.finalize().into()
    }

    pub(crate) fn hash(&self) -> [u8; 32] {
        self.0.clone().finalize().into()
    }
}

/// Pass 0, client to server: the client's certificate and challenge.
///
/// The challenge itself is not kept: it enters the keys through the transcript.
pub(crate) struct ClientHello {
    pub(crate) cert: Certificate,
}

pub(crate) fn encode_client_hello(cert: &Certificate, nonce: &[u8; NONCE_LEN]) -> Result<Vec<u8>> {
    let mut out = header(0);
    put_vec16(&mut out, &cert.to_bytes())?;
    out.extend_from_slice(nonce);
    Ok(out)
}

pub(crate) fn parse_client_hello(bytes: &[u8]) -> Result<ClientHello> {
    let mut r = Reader::new(bytes);
    read_header(&mut r, 0)?;
    let cert = Certificate::from_bytes(r.vec16(1, MAX_CERT_LEN)?)?;
    r.array::<NONCE_LEN>()?;
    r.finish()?;
    Ok(ClientHello { cert })
}

/// Pass 0, server to client: the server's certificate, challenge, and its signature over the
/// transcript (which includes the client's challenge).
pub(crate) struct ServerHello<'a> {
    pub(crate) cert: Certificate,
    /// The message up to (not including) the signature field: what is signed.
    pub(crate) unsigned: &'a [u8],
    pub(crate) signature: &'a [u8],
}

pub(crate) fn encode_server_hello_unsigned(
    cert: &Certificate,
    nonce: &[u8; NONCE_LEN],
) -> Result<Vec<u8>> {
    let mut out = header(0);
    put_vec16(&mut out, &cert.to_bytes())?;
    out.extend_from_slice(nonce);
    Ok(out)
}

pub(crate) fn parse_server_hello(bytes: &[u8]) -> Result<ServerHello<'_>> {
    let mut r = Reader::new(bytes);
    read_header(&mut r, 0)?;
    let cert = Certificate::from_bytes(r.vec16(1, MAX_CERT_LEN)?)?;
    r.array::<NONCE_LEN>()?;
    let unsigned = bytes
        .get(..bytes.len() - r.remaining())
        .ok_or(Error::InvalidArg)?;
    let signature = r.vec16(MIN_RSA_BYTES, MAX_RSA_BYTES)?;
    r.finish()?;
    Ok(ServerHello {
        cert,
        unsigned,
        signature,
    })
}

/// Pass 1, client to server: the session secret under the server's key, and the client's
/// signature over the transcript (which includes the server's challenge).
pub(crate) struct KeyExchange<'a> {
    pub(crate) encrypted_secret: &'a [u8],
    pub(crate) unsigned: &'a [u8],
    pub(crate) signature: &'a [u8],
}

pub(crate) fn encode_key_exchange_unsigned(encrypted_secret: &[u8]) -> Result<Vec<u8>> {
    let mut out = header(1);
    put_vec16(&mut out, encrypted_secret)?;
    Ok(out)
}

pub(crate) fn parse_key_exchange(bytes: &[u8]) -> Result<KeyExchange<'_>> {
    let mut r = Reader::new(bytes);
    read_header(&mut r, 1)?;
    let encrypted_secret = r.vec16(MIN_RSA_BYTES, MAX_RSA_BYTES)?;
    let unsigned = bytes
        .get(..bytes.len() - r.remaining())
        .ok_or(Error::InvalidArg)?;
    let signature = r.vec16(MIN_RSA_BYTES, MAX_RSA_BYTES)?;
    r.finish()?;
    Ok(KeyExchange {
        encrypted_secret,
        unsigned,
        signature,
    })
}

/// Pass 1, server to client: the server's key confirmation.
pub(crate) fn encode_server_finished(finished: &[u8; 32]) -> Vec<u8> {
    let mut out = header(1);
    out.extend_from_slice(finished);
    out
}

pub(crate) fn parse_server_finished(bytes: &[u8]) -> Result<[u8; 32]> {
    let mut r = Reader::new(bytes);
    read_header(&mut r, 1)?;
    let finished = r.array()?;
    r.finish()?;
    Ok(finished)
}
