//! Shared by the SAC fuzz targets: what a target needs to build valid messages of its own
//! (the transcript hash and signatures as docs/security.md specifies them, made with the
//! fixed test keys) and to drive an authenticated session pair.
#![allow(dead_code)]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use rsa::{Oaep, Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha256};
use wmdm::Error;
use wmdm::sac::{MAC_LEN, MAX_MAC_HANDLES, MacHandle, Session};

/// The running transcript hash `T` of docs/security.md ("The handshake, pass by pass"),
/// written from the document, not from the crate: if the two disagree, a message the
/// target signs fails its check and the target says so.
#[derive(Clone)]
pub struct Transcript(Sha256);

impl Transcript {
    pub fn new(messages: &[&[u8]]) -> Transcript {
        let mut t = Sha256::new_with_prefix(b"wmdm-sac-v1 transcript");
        for m in messages {
            t.update((m.len() as u64).to_le_bytes());
            t.update(m);
        }
        Transcript(t)
    }

    /// `T ‖ label ‖ m`.
    pub fn hash_with(&self, label: &[u8], m: &[u8]) -> [u8; 32] {
        let mut h = self.0.clone();
        h.update(label);
        h.update((m.len() as u64).to_le_bytes());
        h.update(m);
        h.finalize().into()
    }
}

/// RSASSA-PKCS1-v1_5/SHA-256 over a digest.
pub fn sign(key: &RsaPrivateKey, digest: &[u8; 32]) -> Vec<u8> {
    key.sign(Pkcs1v15Sign::new::<Sha256>(), digest).unwrap()
}

/// A deterministic generator for OAEP's padding: the harness must be reproducible.
pub struct Counter(pub u64);

impl rand_core::RngCore for Counter {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> std::result::Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for Counter {}

/// RSAES-OAEP (SHA-256) of `secret` under `key`.
pub fn encrypt(key: &RsaPublicKey, secret: &[u8], seed: u64) -> Option<Vec<u8>> {
    key.encrypt(&mut Counter(seed), Oaep::new::<Sha256>(), secret)
        .ok()
}

/// `u16`-LE length, then the bytes.
pub fn put_vec16(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// Drives two authenticated sessions of one handshake against each other: MACs one side
/// makes verify on the other and fail once damaged; parameters one side encrypts, the other
/// decrypts to the same bytes; MAC handles are bounded, and each is finalised once. Every
/// handle opened is closed again, so a session reused across inputs starts each one alike.
pub fn exercise(client: &mut Session, server: &mut Session, u: &mut Unstructured<'_>) {
    assert_eq!(client.session_key(), server.session_key());
    let mut handles: Vec<(bool, MacHandle)> = Vec::new();
    let _ = steps(client, server, u, &mut handles);
    for (on_client, h) in handles {
        let s = if on_client {
            &mut *client
        } else {
            &mut *server
        };
        assert!(s.mac_final(h).is_ok());
    }
}

fn steps(
    client: &mut Session,
    server: &mut Session,
    u: &mut Unstructured<'_>,
    handles: &mut Vec<(bool, MacHandle)>,
) -> Result<()> {
    while !u.is_empty() {
        let on_client: bool = u.arbitrary()?;
        let (from, to) = if on_client {
            (&mut *client, &mut *server)
        } else {
            (&mut *server, &mut *client)
        };
        match u.int_in_range(0..=4u8)? {
            0 => {
                let a: &[u8] = u.arbitrary()?;
                let b: &[u8] = u.arbitrary()?;
                let mut mac = from.mac(&[a, b]);
                assert_eq!(to.verify_mac(&[a, b], &mac), Ok(()));
                let i = u.int_in_range(0..=MAC_LEN * 8 - 1)?;
                mac[i / 8] ^= 1 << (i % 8);
                assert_eq!(to.verify_mac(&[a, b], &mac), Err(Error::MacCheckFailed));
            }
            1 => {
                let plain: Vec<u8> = u.arbitrary()?;
                let mut data = plain.clone();
                from.encrypt_param(&mut data).unwrap();
                if !plain.is_empty() {
                    assert_ne!(data, plain, "a parameter crossed the channel in clear");
                }
                to.decrypt_param(&mut data).unwrap();
                assert_eq!(data, plain, "a parameter did not survive the channel");
            }
            2 => match from.mac_init() {
                Ok(h) => handles.push((on_client, h)),
                Err(e) => {
                    assert_eq!(e, Error::TooManySessions);
                    assert_eq!(from.open_mac_handles(), MAX_MAC_HANDLES);
                }
            },
            3 if !handles.is_empty() => {
                let (side, h) = handles[u.choose_index(handles.len())?];
                let s = if side { &mut *client } else { &mut *server };
                let data: &[u8] = u.arbitrary()?;
                s.mac_update(h, data).unwrap();
            }
            _ if !handles.is_empty() => {
                let (side, h) = handles.swap_remove(u.choose_index(handles.len())?);
                let s = if side { &mut *client } else { &mut *server };
                s.mac_final(h).unwrap();
                assert_eq!(s.mac_final(h), Err(Error::InvalidArg));
                assert_eq!(s.mac_update(h, b"x"), Err(Error::InvalidArg));
            }
            _ => {}
        }
    }
    Ok(())
}

/// The harness's clock (`ManualClock::default()`): 2026-01-01T00:00:00Z.
pub const NOW: i64 = 1_767_225_600;

/// Certificates for `key`, issued once per process (an RSA signature each: signing per input
/// would slow the target to a few inputs a second): every role, validity windows at and around
/// now (valid, expired by a second, valid from the next second, the extremes), odd subjects
/// and levels, by the trusted root and by a key that is not the root's under the root's name.
/// Each with the role it is valid for now (`None`: none).
pub fn cert_pool(
    key: &RsaPublicKey,
    root: &RsaPrivateKey,
    impostor: &RsaPrivateKey,
) -> Vec<(Vec<u8>, Option<wmdm::sac::Role>)> {
    use wmdm::sac::{Certificate, CertificateRequest, Role};
    let windows = [
        (NOW, NOW),
        (i64::MIN, i64::MAX),
        (0, NOW - 1),
        (NOW + 1, i64::MAX),
        (i64::MIN, NOW),
        (NOW, NOW + 1),
    ];
    let subjects = ["Provider", "é ü \u{263a}", "x", &"s".repeat(255)];
    let mut out = Vec::new();
    for (i, &(not_before, not_after)) in windows.iter().enumerate() {
        for role in [Role::Application, Role::Manager, Role::Provider] {
            for trusted in [true, false] {
                if !trusted && i > 1 {
                    continue; // an impostor is refused whatever its window
                }
                let request = CertificateRequest {
                    subject: subjects[out.len() % subjects.len()].to_owned(),
                    role,
                    app_sec: [0, 1, 1000, u32::MAX][out.len() % 4],
                    serial: [0, 1, u64::MAX][out.len() % 3],
                    not_before,
                    not_after,
                    public_key: key.clone(),
                };
                let issuer = if trusted { root } else { impostor };
                let cert = Certificate::issue(&request, "root", issuer).unwrap();
                let valid = trusted && not_before <= NOW && NOW <= not_after;
                out.push((cert.to_bytes(), valid.then_some(role)));
            }
        }
    }
    out
}
