//! Scenarios for the SAC handshake: success, and a precise error for every kind of bad input.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use wmdm::Error;
use wmdm::sac::client::{self, AwaitPass0Reply, AwaitPass1Reply};
use wmdm::sac::server::{ExpectPass0, ExpectPass1};
use wmdm::sac::*;
use wmdm::time::ManualClock;

struct Run {
    clock: ManualClock,
    msg0: Vec<u8>,
    reply0: Vec<u8>,
    msg1: Vec<u8>,
    reply1: Vec<u8>,
    client0: AwaitPass0Reply,
    client1: AwaitPass1Reply,
    server0: ExpectPass0,
    server1: ExpectPass1,
}

fn configs(clock: &ManualClock, client_serial: u64) -> (Arc<ChannelConfig>, Arc<ChannelConfig>) {
    (
        Arc::new(config(Role::Manager, client_serial, Role::Provider, clock)),
        Arc::new(config(Role::Provider, 50, Role::Manager, clock)),
    )
}

/// One clean handshake, keeping every message and every intermediate state.
fn run() -> Run {
    let clock = clock();
    let (c, s) = configs(&clock, 7);
    let (client0, msg0) = client::begin(c).unwrap();
    let server0 = ExpectPass0::new(s);
    let (server1, reply0) = server0.clone().handle_pass0(&msg0).unwrap();
    let (client1, msg1) = client0.clone().handle_reply(&reply0).unwrap();
    let (_, reply1) = server1.clone().handle_pass1(&msg1).unwrap();
    Run {
        clock,
        msg0,
        reply0,
        msg1,
        reply1,
        client0,
        client1,
        server0,
        server1,
    }
}

fn flip(bytes: &[u8], at: usize) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b[at] ^= 0x01;
    b
}

#[test]
fn handshake_succeeds_and_both_sides_agree() {
    let r = run();
    let (server_session, _) = r.server1.clone().handle_pass1(&r.msg1).unwrap();
    let client_session = r.client1.clone().handle_reply(&r.reply1).unwrap();
    assert_eq!(client_session.session_key(), server_session.session_key());
    assert_eq!(client_session.peer_certificate().role(), Role::Provider);
    assert_eq!(server_session.peer_certificate().serial(), 7);
    assert_eq!(client_session.app_sec(), (1007, 1050));
    assert!(client_session.is_authenticated());
    let _ = r.clock;
}

#[test]
fn get_protocols_is_v1_only() {
    let clock = clock();
    let (_, s) = configs(&clock, 7);
    let server = SecureChannelServer::new(s);
    assert_eq!(server.sac_get_protocols(), vec![SAC_PROTOCOL_V1]);
    assert_eq!(SAC_PROTOCOL_V1, 2);
}

#[test]
fn driver_authenticates_and_rejects_other_protocols() {
    let clock = clock();
    let (c, s) = configs(&clock, 7);
    let mut server = SecureChannelServer::new(s);
    let client = SecureChannelClient::new(c);
    assert_eq!(
        client.authenticate(&mut server, 1).unwrap_err(),
        Error::InvalidArg
    );
    assert!(!server.is_authenticated());
    assert_eq!(server.session_mut().unwrap_err(), Error::NotCertified);
    client.authenticate(&mut server, SAC_PROTOCOL_V1).unwrap();
    assert!(server.is_authenticated());
    assert_eq!(
        server.sac_auth(SAC_PROTOCOL_V1, 0, &[]).unwrap_err(),
        Error::CallOutOfSequence,
        "a new pass 0 after success needs reset()"
    );
    server.reset();
    assert!(!server.is_authenticated());
    client.authenticate(&mut server, SAC_PROTOCOL_V1).unwrap();
}

#[test]
fn wrong_protocol_id_is_invalid_arg() {
    let r = run();
    let clock = clock();
    let (_, s) = configs(&clock, 7);
    let mut server = SecureChannelServer::new(s);
    for protocol in [0, 1, 3, u32::MAX] {
        assert_eq!(
            server.sac_auth(protocol, 0, &r.msg0).unwrap_err(),
            Error::InvalidArg
        );
    }
    // The protocol id inside the message is checked too.
    let mut inner = r.msg0.clone();
    inner[0] = 1;
    assert_eq!(
        server.sac_auth(SAC_PROTOCOL_V1, 0, &inner).unwrap_err(),
        Error::InvalidArg
    );
}

#[test]
fn passes_out_of_order_or_repeated_are_out_of_sequence() {
    let r = run();
    let clock = clock();
    let (_, s) = configs(&clock, 7);
    // Another seed: this server's challenge differs from the recorded run's.
    let s = Arc::new(
        (*s).clone()
            .with_random(Arc::new(SeededRandom::new([42; 32]))),
    );
    let mut server = SecureChannelServer::new(s);
    assert_eq!(
        server.sac_auth(2, 1, &r.msg1).unwrap_err(),
        Error::CallOutOfSequence
    );
    assert_eq!(
        server.sac_auth(2, 2, &r.msg0).unwrap_err(),
        Error::CallOutOfSequence
    );
    server.sac_auth(2, 0, &r.msg0).unwrap();
    assert_eq!(
        server.sac_auth(2, 0, &r.msg0).unwrap_err(),
        Error::CallOutOfSequence,
        "repeat of pass 0"
    );
    // The repeat did not disturb the state: the recorded pass 1 answers another challenge, so
    // it fails on the signature.
    assert_eq!(
        server.sac_auth(2, 1, &r.msg1).unwrap_err(),
        Error::NotCertified
    );
    assert!(!server.is_authenticated());
    // Pass 0 messages in pass 1's slot and the other way round are malformed for that pass.
    assert_eq!(
        r.server1.clone().handle_pass1(&r.msg0).unwrap_err(),
        Error::InvalidArg
    );
    assert_eq!(
        r.server0.clone().handle_pass0(&r.msg1).unwrap_err(),
        Error::InvalidArg
    );
    assert_eq!(
        r.client0.clone().handle_reply(&r.reply1).unwrap_err(),
        Error::InvalidArg
    );
    assert_eq!(
        r.client1.clone().handle_reply(&r.reply0).unwrap_err(),
        Error::InvalidArg
    );
}

#[test]
fn pass1_replayed_from_an_earlier_session_fails() {
    let first = run();
    // A second session with the same server identity: the server issues a new challenge.
    let clock = clock();
    let (c, s) = configs(&clock, 7);
    let s = Arc::new(
        (*s).clone()
            .with_random(Arc::new(SeededRandom::new([99; 32]))),
    );
    let (_, msg0) = client::begin(c).unwrap();
    let (server1, _) = ExpectPass0::new(s).handle_pass0(&msg0).unwrap();
    assert_eq!(
        server1.handle_pass1(&first.msg1).unwrap_err(),
        Error::NotCertified
    );
    // Even the exact pass 0 replayed with pass 1 fails: the server's challenge differs.
    let (c2, s2) = configs(&clock, 7);
    let s2 = Arc::new(
        (*s2)
            .clone()
            .with_random(Arc::new(SeededRandom::new([98; 32]))),
    );
    let _ = c2;
    let (server1, _) = ExpectPass0::new(s2).handle_pass0(&first.msg0).unwrap();
    assert_eq!(
        server1.handle_pass1(&first.msg1).unwrap_err(),
        Error::NotCertified
    );
}

#[test]
fn an_old_server_reply_fails_at_the_client() {
    let first = run();
    let clock = clock();
    let (c, _) = configs(&clock, 7);
    let c = Arc::new(
        (*c).clone()
            .with_random(Arc::new(SeededRandom::new([77; 32]))),
    );
    let (client0, _) = client::begin(c).unwrap();
    assert_eq!(
        client0.handle_reply(&first.reply0).unwrap_err(),
        Error::NotCertified
    );
}

#[test]
fn a_flipped_byte_in_each_pass_is_caught() {
    let r = run();
    // Pass 0, client -> server: in the certificate's signed fields (the subject), and in the
    // challenge (the server accepts it, the client then rejects the server's signature).
    let subject_at = 5 + 2 + 4 + 4 + 1 + 4 + 8 + 16 + 2;
    assert_eq!(
        r.server0
            .clone()
            .handle_pass0(&flip(&r.msg0, subject_at))
            .unwrap_err(),
        Error::NotCertified
    );
    let nonce_at = r.msg0.len() - 1;
    let (_, reply0) = r
        .server0
        .clone()
        .handle_pass0(&flip(&r.msg0, nonce_at))
        .unwrap();
    assert_eq!(
        r.client0.clone().handle_reply(&reply0).unwrap_err(),
        Error::NotCertified
    );

    // Pass 0, server -> client: the signature and the challenge.
    let last = r.reply0.len() - 1;
    assert_eq!(
        r.client0
            .clone()
            .handle_reply(&flip(&r.reply0, last))
            .unwrap_err(),
        Error::NotCertified
    );
    let nonce_at = r.reply0.len() - 2 - 256 - 1;
    assert_eq!(
        r.client0
            .clone()
            .handle_reply(&flip(&r.reply0, nonce_at))
            .unwrap_err(),
        Error::NotCertified
    );

    // Pass 1, client -> server: the encrypted secret and the signature.
    for at in [5 + 2 + 10, r.msg1.len() - 1] {
        assert_eq!(
            r.server1
                .clone()
                .handle_pass1(&flip(&r.msg1, at))
                .unwrap_err(),
            Error::NotCertified
        );
    }

    // Pass 1, server -> client: the key confirmation.
    let last = r.reply1.len() - 1;
    assert_eq!(
        r.client1
            .clone()
            .handle_reply(&flip(&r.reply1, last))
            .unwrap_err(),
        Error::MacCheckFailed
    );

    // The header of every message.
    for (i, m) in [&r.msg0, &r.reply0, &r.msg1, &r.reply1]
        .into_iter()
        .enumerate()
    {
        let bad = flip(m, 4);
        let err = match i {
            0 => r.server0.clone().handle_pass0(&bad).map(|_| ()),
            1 => r.client0.clone().handle_reply(&bad).map(|_| ()),
            2 => r.server1.clone().handle_pass1(&bad).map(|_| ()),
            _ => r.client1.clone().handle_reply(&bad).map(|_| ()),
        };
        assert_eq!(err.unwrap_err(), Error::InvalidArg, "message {i}");
    }
}

#[test]
fn every_flipped_bit_anywhere_fails_without_panicking() {
    let r = run();
    for at in (0..r.msg0.len()).step_by(7) {
        let bad = flip(&r.msg0, at);
        if let Ok((_, reply)) = r.server0.clone().handle_pass0(&bad) {
            assert!(r.client0.clone().handle_reply(&reply).is_err(), "byte {at}");
        }
    }
    for at in (0..r.reply0.len()).step_by(7) {
        assert!(
            r.client0
                .clone()
                .handle_reply(&flip(&r.reply0, at))
                .is_err(),
            "byte {at}"
        );
    }
    for at in (0..r.msg1.len()).step_by(5) {
        assert!(
            r.server1.clone().handle_pass1(&flip(&r.msg1, at)).is_err(),
            "byte {at}"
        );
    }
    for at in 0..r.reply1.len() {
        assert!(
            r.client1
                .clone()
                .handle_reply(&flip(&r.reply1, at))
                .is_err(),
            "byte {at}"
        );
    }
}

#[test]
fn truncated_messages_are_invalid_arg() {
    let r = run();
    for cut in [0, 1, 4, 5, 6, 100, r.msg0.len() - 1] {
        assert_eq!(
            r.server0.clone().handle_pass0(&r.msg0[..cut]).unwrap_err(),
            Error::InvalidArg
        );
    }
    for cut in [0, 5, 300, r.reply0.len() - 1] {
        assert_eq!(
            r.client0
                .clone()
                .handle_reply(&r.reply0[..cut])
                .unwrap_err(),
            Error::InvalidArg
        );
    }
    for cut in [0, 5, 200, r.msg1.len() - 1] {
        assert_eq!(
            r.server1.clone().handle_pass1(&r.msg1[..cut]).unwrap_err(),
            Error::InvalidArg
        );
    }
    assert_eq!(
        r.client1
            .clone()
            .handle_reply(&r.reply1[..r.reply1.len() - 1])
            .unwrap_err(),
        Error::InvalidArg
    );
    let mut longer = r.reply1.clone();
    longer.push(0);
    assert_eq!(
        r.client1.clone().handle_reply(&longer).unwrap_err(),
        Error::InvalidArg
    );
}

#[test]
fn absurd_length_fields_are_invalid_arg() {
    let r = run();
    // The certificate length field of pass 0 (bytes 5..7).
    for len in [u16::MAX, 0, 60_000] {
        let mut m = r.msg0.clone();
        m[5..7].copy_from_slice(&len.to_le_bytes());
        assert_eq!(
            r.server0.clone().handle_pass0(&m).unwrap_err(),
            Error::InvalidArg
        );
    }
    // The encrypted-secret length of pass 1.
    let mut m = r.msg1.clone();
    m[5..7].copy_from_slice(&u16::MAX.to_le_bytes());
    assert_eq!(
        r.server1.clone().handle_pass1(&m).unwrap_err(),
        Error::InvalidArg
    );
    // A length inside the certificate (the subject's).
    let mut m = r.msg0.clone();
    let subject_len_at = 5 + 2 + 4 + 4 + 1 + 4 + 8 + 16;
    m[subject_len_at..subject_len_at + 2].copy_from_slice(&u16::MAX.to_le_bytes());
    assert_eq!(
        r.server0.clone().handle_pass0(&m).unwrap_err(),
        Error::InvalidArg
    );
    // A huge message.
    let huge = vec![0xAB; 1 << 20];
    assert_eq!(
        r.server0.clone().handle_pass0(&huge).unwrap_err(),
        Error::InvalidArg
    );
}

#[test]
fn unknown_root_is_not_certified() {
    let clock = clock();
    let (_, s) = configs(&clock, 7);
    let rogue = Certificate::issue(
        &request(Role::Manager, 7),
        "test root",
        untrusted_root_key(),
    )
    .unwrap();
    let c = ChannelConfig::new(
        Identity::new(rogue, manager_key().clone()).unwrap(),
        trust(&clock),
        Role::Provider,
    );
    let (_, msg0) = client::begin(Arc::new(c)).unwrap();
    assert_eq!(
        ExpectPass0::new(s).handle_pass0(&msg0).unwrap_err(),
        Error::NotCertified
    );
}

#[test]
fn expired_and_not_yet_valid_are_not_certified() {
    let clock = clock();
    let (c, s) = configs(&clock, 7);
    let (_, msg0) = client::begin(c.clone()).unwrap();
    clock.advance(Duration::from_secs(366 * DAY as u64));
    assert_eq!(
        ExpectPass0::new(s.clone()).handle_pass0(&msg0).unwrap_err(),
        Error::NotCertified
    );
    let early = ManualClock::at_unix(NOW - 2 * DAY);
    let (c, s) = configs(&early, 7);
    let (_, msg0) = client::begin(c).unwrap();
    assert_eq!(
        ExpectPass0::new(s).handle_pass0(&msg0).unwrap_err(),
        Error::NotCertified
    );
}

#[test]
fn revoked_serials_are_revoked_on_both_sides() {
    let clock = clock();
    let (c, s) = configs(&clock, 7);
    let mut revoking = (*s).clone();
    revoking.trust_mut().revoke(7);
    let (_, msg0) = client::begin(c.clone()).unwrap();
    assert_eq!(
        ExpectPass0::new(Arc::new(revoking))
            .handle_pass0(&msg0)
            .unwrap_err(),
        Error::Revoked
    );
    // The client revokes the server's serial (50).
    let mut c2 = (*c).clone();
    c2.trust_mut().revoke(50);
    let (client0, msg0) = client::begin(Arc::new(c2)).unwrap();
    let (_, reply0) = ExpectPass0::new(s).handle_pass0(&msg0).unwrap();
    assert_eq!(client0.handle_reply(&reply0).unwrap_err(), Error::Revoked);
}

#[test]
fn wrong_role_is_not_certified() {
    let clock = clock();
    // An application certificate presented where a manager is expected.
    let c = Arc::new(config(Role::Application, 3, Role::Provider, &clock));
    let (_, s) = configs(&clock, 7);
    let (_, msg0) = client::begin(c).unwrap();
    assert_eq!(
        ExpectPass0::new(s).handle_pass0(&msg0).unwrap_err(),
        Error::NotCertified
    );
}

#[test]
fn certificates_round_trip_and_keys_must_match() {
    let cert = issue(&request(Role::Provider, 9));
    let parsed = Certificate::from_bytes(&cert.to_bytes()).unwrap();
    assert_eq!(parsed, cert);
    assert_eq!(parsed.subject(), "Provider #9");
    assert_eq!(parsed.issuer(), "test root");
    assert_eq!(parsed.validity(), (NOW - DAY, NOW + 365 * DAY));
    assert_eq!(
        Identity::new(cert, app_key().clone()).unwrap_err(),
        Error::InvalidArg
    );
    let mut bad = request(Role::Provider, 9);
    bad.not_after = bad.not_before - 1;
    assert_eq!(
        Certificate::issue(&bad, "test root", root_key()).unwrap_err(),
        Error::InvalidArg
    );
}
