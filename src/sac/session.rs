//! An authenticated session: MACs with bounded handles, parameter encryption, session keys.

use std::fmt;

use chacha20::ChaCha20;
use chacha20::cipher::{KeyIvInit, StreamCipher};
use hmac::Mac;
use zeroize::Zeroize;

use super::cert::Certificate;
use super::schedule::{HmacSha256, TrafficKeys, traffic_keys};
use crate::error::{Error, Result};

/// `WMDM_MAC_LENGTH` / `SAC_MAC_LEN`: a MAC is 8 bytes.
pub const MAC_LEN: usize = 8;

/// The size of `OPAQUECOMMAND.abMAC`: 20 bytes, of which the MAC fills the first
/// [`MAC_LEN`] (the header's `WMDM_MAC_LENGTH` is 8; the structure's array is 20).
pub const OPAQUE_MAC_LEN: usize = 20;

/// How many MAC handles may be open at once, as in CSecureChannelServer's `aMacInfo[20]`.
pub const MAX_MAC_HANDLES: usize = 20;

/// The length of a session key in this protocol (WMDM's `SAC_SESSION_KEYLEN` is 8; this
/// protocol uses 32 bytes, see `docs/security.md`).
pub const SESSION_KEY_LEN: usize = 32;

/// The largest parameter one [`Session::encrypt_param`] call accepts (ChaCha20's 32-bit block
/// counter allows 256 GiB; the limit keeps well inside it).
pub const MAX_PARAM_LEN: u64 = 1 << 36;

/// Which end of the handshake a session belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// The side that sent pass 0 (CSecureChannelClient: an application, or the manager toward
    /// a provider).
    Client,
    /// The side that answered (CSecureChannelServer: a provider, or the manager toward an
    /// application).
    Server,
}

/// An open MAC computation (WMDM's `HMAC` handle): from [`Session::mac_init`] to
/// [`Session::mac_final`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MacHandle(u32);

/// A session after a successful handshake: what CSecureChannelServer and
/// CSecureChannelClient offer once `fIsAuthenticated()` is true.
///
/// Parameter encryption uses one key and one counter per direction: each
/// [`encrypt_param`](Session::encrypt_param) on one side pairs with one
/// [`decrypt_param`](Session::decrypt_param) on the other, in the same order. A skipped or
/// reordered parameter decrypts to garbage, which the MAC that accompanies every encrypted
/// parameter (§4.3) then rejects.
pub struct Session {
    side: Side,
    session_key: [u8; 32],
    keys: TrafficKeys,
    sent: u64,
    received: u64,
    macs: Vec<Option<HmacSha256>>,
    local_app_sec: u32,
    peer: Certificate,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("side", &self.side)
            .field("peer", &self.peer)
            .field("sent", &self.sent)
            .field("received", &self.received)
            .field("open_macs", &self.open_mac_handles())
            .finish_non_exhaustive()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.session_key.zeroize();
        self.keys.zeroize();
    }
}

impl Session {
    pub(crate) fn new(
        side: Side,
        session_key: [u8; 32],
        local_app_sec: u32,
        peer: Certificate,
    ) -> Session {
        Session {
            side,
            keys: traffic_keys(&session_key),
            session_key,
            sent: 0,
            received: 0,
            macs: (0..MAX_MAC_HANDLES).map(|_| None).collect(),
            local_app_sec,
            peer,
        }
    }

    /// `fIsAuthenticated()`: a session exists only after a successful handshake, so this is
    /// always true; it is here so callers can ask the same question WMDM code asks.
    pub fn is_authenticated(&self) -> bool {
        true
    }

    /// Which end of the handshake this session is.
    pub fn side(&self) -> Side {
        self.side
    }

    /// GetRemoteAppCert: the peer's certificate.
    pub fn peer_certificate(&self) -> &Certificate {
        &self.peer
    }

    /// GetAppSec: `(local, remote)` application security levels, from this side's and the
    /// peer's certificates.
    pub fn app_sec(&self) -> (u32, u32) {
        (self.local_app_sec, self.peer.app_sec())
    }

    /// GetSessionKey: the 32-byte session key every traffic key derives from.
    pub fn session_key(&self) -> [u8; SESSION_KEY_LEN] {
        self.session_key
    }

    /// SetSessionKey: replaces the session key (as WMDM does to share a provider's key with a
    /// secure content provider). The traffic keys are derived again and both parameter
    /// counters restart at zero, so both ends must switch together.
    pub fn set_session_key(&mut self, key: [u8; SESSION_KEY_LEN]) {
        self.session_key.zeroize();
        self.keys.zeroize();
        self.session_key = key;
        self.keys = traffic_keys(&key);
        self.sent = 0;
        self.received = 0;
    }

    /// MACInit: opens a MAC computation keyed with the session's MAC key.
    ///
    /// # Errors
    /// [`Error::TooManySessions`] when [`MAX_MAC_HANDLES`] handles are already open (WMDM's
    /// fixed `aMacInfo[20]` table); close one with [`mac_final`](Session::mac_final).
    pub fn mac_init(&mut self) -> Result<MacHandle> {
        let free = self
            .macs
            .iter()
            .position(Option::is_none)
            .ok_or(Error::TooManySessions)?;
        let mac = HmacSha256::new_from_slice(&self.keys.mac).map_err(|_| Error::Fail)?;
        let slot = self.macs.get_mut(free).ok_or(Error::TooManySessions)?;
        *slot = Some(mac);
        Ok(MacHandle(free as u32))
    }

    fn slot(&mut self, handle: MacHandle) -> Result<&mut Option<HmacSha256>> {
        let slot = self
            .macs
            .get_mut(handle.0 as usize)
            .ok_or(Error::InvalidArg)?;
        if slot.is_none() {
            return Err(Error::InvalidArg);
        }
        Ok(slot)
    }

    /// MACUpdate: adds one parameter's bytes.
    ///
    /// # Errors
    /// [`Error::InvalidArg`] for a handle that is not open.
    pub fn mac_update(&mut self, handle: MacHandle, data: &[u8]) -> Result<()> {
        if let Some(mac) = self.slot(handle)? {
            mac.update(data);
        }
        Ok(())
    }

    /// MACFinal: the 8-byte MAC (HMAC-SHA256 truncated); the handle is closed.
    ///
    /// # Errors
    /// [`Error::InvalidArg`] for a handle that is not open.
    pub fn mac_final(&mut self, handle: MacHandle) -> Result<[u8; MAC_LEN]> {
        let mac = self.slot(handle)?.take().ok_or(Error::InvalidArg)?;
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; MAC_LEN];
        out.copy_from_slice(full.get(..MAC_LEN).ok_or(Error::Fail)?);
        Ok(out)
    }

    /// How many MAC handles are open.
    pub fn open_mac_handles(&self) -> usize {
        self.macs.iter().filter(|m| m.is_some()).count()
    }

    /// The MAC of `parts`, added in order (init, one update per part, final), without using a
    /// handle slot.
    pub fn mac(&self, parts: &[&[u8]]) -> [u8; MAC_LEN] {
        let mut out = [0u8; MAC_LEN];
        if let Ok(mut mac) = HmacSha256::new_from_slice(&self.keys.mac) {
            for p in parts {
                mac.update(p);
            }
            let full = mac.finalize().into_bytes();
            for (o, b) in out.iter_mut().zip(full.iter()) {
                *o = *b;
            }
        }
        out
    }

    /// Recomputes the MAC of `parts` and compares it with `expected` in constant time.
    ///
    /// # Errors
    /// [`Error::MacCheckFailed`] when they differ.
    pub fn verify_mac(&self, parts: &[&[u8]], expected: &[u8; MAC_LEN]) -> Result<()> {
        let mut mac = HmacSha256::new_from_slice(&self.keys.mac).map_err(|_| Error::Fail)?;
        for p in parts {
            mac.update(p);
        }
        mac.verify_truncated_left(expected)
            .map_err(|_| Error::MacCheckFailed)
    }

    /// The MAC WMDM puts in `OPAQUECOMMAND.abMAC`: over the command GUID (`command`, in its
    /// Windows memory layout), the data length as a DWORD, then the data. The field is
    /// [`OPAQUE_MAC_LEN`] bytes ([OPAQUECOMMAND](https://learn.microsoft.com/en-us/windows/win32/wmdm/opaquecommand));
    /// the [`MAC_LEN`]-byte MAC fills its start and the rest is zero.
    ///
    /// # Errors
    /// [`Error::InvalidArg`] for data longer than a DWORD can count.
    pub fn opaque_mac(&self, command: &[u8; 16], data: &[u8]) -> Result<[u8; OPAQUE_MAC_LEN]> {
        let len = u32::try_from(data.len()).map_err(|_| Error::InvalidArg)?;
        let mac = self.mac(&[command, &len.to_le_bytes(), data]);
        let mut field = [0u8; OPAQUE_MAC_LEN];
        field[..MAC_LEN].copy_from_slice(&mac);
        Ok(field)
    }

    /// Checks an `OPAQUECOMMAND.abMAC`: all [`OPAQUE_MAC_LEN`] bytes, in constant time, so a
    /// field whose MAC is right but whose padding is not zero is refused as well. The one
    /// check of opaque commands, on the manager's side and on the provider's (COM included).
    ///
    /// # Errors
    /// [`Error::MacCheckFailed`] when the field differs; [`Error::InvalidArg`] as
    /// [`opaque_mac`](Self::opaque_mac).
    pub fn verify_opaque_mac(
        &self,
        command: &[u8; 16],
        data: &[u8],
        field: &[u8; OPAQUE_MAC_LEN],
    ) -> Result<()> {
        let expected = self.opaque_mac(command, data)?;
        let diff = expected
            .iter()
            .zip(field.iter())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y));
        if diff == 0 {
            Ok(())
        } else {
            Err(Error::MacCheckFailed)
        }
    }

    fn apply(key: &[u8; 32], counter: u64, data: &mut [u8]) -> Result<()> {
        if data.len() as u64 > MAX_PARAM_LEN {
            return Err(Error::InvalidArg);
        }
        let mut nonce = [0u8; 12];
        nonce[..8].copy_from_slice(&counter.to_le_bytes());
        let mut cipher = ChaCha20::new(key.into(), &nonce.into());
        cipher
            .try_apply_keystream(data)
            .map_err(|_| Error::InvalidArg)
    }

    /// EncryptParam: encrypts `data` in place (ChaCha20, this side's sending key, the next
    /// sending counter).
    ///
    /// # Errors
    /// [`Error::InvalidArg`] for a parameter over [`MAX_PARAM_LEN`] bytes;
    /// [`Error::Unexpected`] if the counter is exhausted (after 2^64 parameters).
    pub fn encrypt_param(&mut self, data: &mut [u8]) -> Result<()> {
        let key = match self.side {
            Side::Client => self.keys.client_to_server,
            Side::Server => self.keys.server_to_client,
        };
        Self::apply(&key, self.sent, data)?;
        self.sent = self.sent.checked_add(1).ok_or(Error::Unexpected)?;
        Ok(())
    }

    /// DecryptParam: decrypts `data` in place (the peer's sending key and the next receiving
    /// counter).
    ///
    /// # Errors
    /// As [`Session::encrypt_param`].
    pub fn decrypt_param(&mut self, data: &mut [u8]) -> Result<()> {
        let key = match self.side {
            Side::Client => self.keys.server_to_client,
            Side::Server => self.keys.client_to_server,
        };
        Self::apply(&key, self.received, data)?;
        self.received = self.received.checked_add(1).ok_or(Error::Unexpected)?;
        Ok(())
    }
}
