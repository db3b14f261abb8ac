//! Shared by the SAC fuzz targets: recorded handshakes between the fixed test keys
//! (tests/data/keys), with every intermediate state and every message, built once.
//!
//! Two sessions are recorded with different randomness, so a target can replay a message of
//! the other session (a valid message that answers another challenge).
#![allow(dead_code)]

use std::sync::{Arc, Mutex, OnceLock};

use wmdm::sac::client::{self, AwaitPass0Reply, AwaitPass1Reply};
use wmdm::sac::server::{ExpectPass0, ExpectPass1};
use wmdm::sac::*;
use wmdm::time::ManualClock;

/// One complete handshake: the state each side was in before each message, and the messages.
pub struct Handshake {
    pub server0: ExpectPass0,
    pub server1: ExpectPass1,
    pub client0: AwaitPass0Reply,
    pub client1: AwaitPass1Reply,
    /// Pass 0, client to server.
    pub msg0: Vec<u8>,
    /// The server's pass 0 reply.
    pub reply0: Vec<u8>,
    /// Pass 1, client to server.
    pub msg1: Vec<u8>,
    /// The server's pass 1 reply (key confirmation).
    pub reply1: Vec<u8>,
    /// The server's session once authenticated (Session is not Clone: a target that uses it
    /// must leave it as it found it).
    pub server_session: Mutex<Session>,
}

pub struct States {
    /// The handshake the targets attack.
    pub a: Handshake,
    /// Another session between the same parties: its messages are replays for `a`.
    pub b: Handshake,
    /// The client's (manager's) private key: a target re-signs mutated messages with it, so
    /// that the checks after the signature are reached.
    pub client_key: rsa::RsaPrivateKey,
    /// The server's (provider's) public key: a target encrypts chosen secrets under it.
    pub server_public: rsa::RsaPublicKey,
    /// The server's private key: a target signs pass 0 replies of its own with it.
    pub server_key: rsa::RsaPrivateKey,
    /// The trusted root's key: a target issues certificates of its own with it.
    pub root_key: rsa::RsaPrivateKey,
    /// A key that is not the root's, to issue certificates that must not be trusted.
    pub impostor_key: rsa::RsaPrivateKey,
}

const ROOT: &str = include_str!("../../tests/data/keys/root.pem");
const MANAGER: &str = include_str!("../../tests/data/keys/manager.pem");
const PROVIDER: &str = include_str!("../../tests/data/keys/provider.pem");

fn config(key: &str, role: Role, peer: Role, serial: u64, seed: u8) -> Arc<ChannelConfig> {
    let root = private_key_from_pem(ROOT).unwrap();
    let key = private_key_from_pem(key).unwrap();
    let cert = Certificate::issue(
        &CertificateRequest {
            subject: format!("{role:?}"),
            role,
            app_sec: 1,
            serial,
            not_before: 0,
            not_after: i64::MAX,
            public_key: key.to_public_key(),
        },
        "root",
        &root,
    )
    .unwrap();
    let trust = TrustStore::new(Arc::new(ManualClock::default()))
        .with_root("root", root.to_public_key())
        .unwrap();
    Arc::new(
        ChannelConfig::new(Identity::new(cert, key).unwrap(), trust, peer)
            .with_random(Arc::new(SeededRandom::new([seed; 32]))),
    )
}

fn handshake(seed: u8) -> Handshake {
    let c = config(MANAGER, Role::Manager, Role::Provider, 1, seed);
    let s = config(
        PROVIDER,
        Role::Provider,
        Role::Manager,
        2,
        seed.wrapping_add(1),
    );
    let (client0, msg0) = client::begin(c).unwrap();
    let server0 = ExpectPass0::new(s);
    let (server1, reply0) = server0.clone().handle_pass0(&msg0).unwrap();
    let (client1, msg1) = client0.clone().handle_reply(&reply0).unwrap();
    let (server_session, reply1) = server1.clone().handle_pass1(&msg1).unwrap();
    // The recording is only useful if it is a real handshake.
    let client_session = client1.clone().handle_reply(&reply1).unwrap();
    assert_eq!(client_session.session_key(), server_session.session_key());
    Handshake {
        server0,
        server1,
        client0,
        client1,
        msg0,
        reply0,
        msg1,
        reply1,
        server_session: Mutex::new(server_session),
    }
}

pub fn states() -> &'static States {
    static S: OnceLock<States> = OnceLock::new();
    S.get_or_init(|| States {
        a: handshake(1),
        b: handshake(7),
        client_key: private_key_from_pem(MANAGER).unwrap(),
        server_public: private_key_from_pem(PROVIDER).unwrap().to_public_key(),
        server_key: private_key_from_pem(PROVIDER).unwrap(),
        root_key: private_key_from_pem(ROOT).unwrap(),
        impostor_key: private_key_from_pem(include_str!(
            "../../tests/data/keys/untrusted_root.pem"
        ))
        .unwrap(),
    })
}

/// Every recorded message, for replays in the wrong place.
pub fn all_messages() -> Vec<&'static [u8]> {
    let s = states();
    let mut out = Vec::new();
    for h in [&s.a, &s.b] {
        out.extend([&h.msg0[..], &h.reply0, &h.msg1, &h.reply1]);
    }
    out
}

/// Pass 0 messages with certificates of the pool (`sac_forge::cert_pool`) for the client's key,
/// and the role each is valid for now. Built once.
pub fn pass0_pool() -> &'static [(Vec<u8>, Option<Role>)] {
    static P: OnceLock<Vec<(Vec<u8>, Option<Role>)>> = OnceLock::new();
    P.get_or_init(|| {
        let s = states();
        let public = s.client_key.to_public_key();
        crate::sac_forge::cert_pool(&public, &s.root_key, &s.impostor_key)
            .into_iter()
            .enumerate()
            .map(|(i, (cert, valid))| {
                let mut msg = vec![2, 0, 0, 0, 0];
                crate::sac_forge::put_vec16(&mut msg, &cert);
                msg.extend_from_slice(&[i as u8; 32]);
                (msg, valid)
            })
            .collect()
    })
}

/// Pass 0 replies to handshake `a`'s pass 0 with certificates of the pool for the server's key,
/// each signed with the server's key over the transcript, and the role each is valid for now.
/// Built once.
pub fn reply0_pool() -> &'static [(Vec<u8>, Option<Role>)] {
    static P: OnceLock<Vec<(Vec<u8>, Option<Role>)>> = OnceLock::new();
    P.get_or_init(|| {
        let s = states();
        let transcript = crate::sac_forge::Transcript::new(&[&s.a.msg0]);
        crate::sac_forge::cert_pool(&s.server_public, &s.root_key, &s.impostor_key)
            .into_iter()
            .enumerate()
            .map(|(i, (cert, valid))| {
                let mut msg = vec![2, 0, 0, 0, 0];
                crate::sac_forge::put_vec16(&mut msg, &cert);
                msg.extend_from_slice(&[i as u8; 32]);
                let digest = transcript.hash_with(b"server signature", &msg);
                crate::sac_forge::put_vec16(
                    &mut msg,
                    &crate::sac_forge::sign(&s.server_key, &digest),
                );
                (msg, valid)
            })
            .collect()
    })
}
