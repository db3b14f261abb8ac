use std::sync::Arc;

use super::*;
use crate::time::ManualClock;

const ROOT: &str = include_str!("../../tests/data/keys/root.pem");
const APP: &str = include_str!("../../tests/data/keys/app.pem");
const MANAGER: &str = include_str!("../../tests/data/keys/manager.pem");

fn config(
    root: &RsaPrivateKey,
    key_pem: &str,
    role: Role,
    peer: Role,
    seed: u8,
) -> Arc<ChannelConfig> {
    let key = private_key_from_pem(key_pem).unwrap();
    let cert = Certificate::issue(
        &CertificateRequest {
            subject: format!("{role:?}"),
            role,
            app_sec: 100 + u32::from(seed),
            serial: u64::from(seed),
            not_before: 0,
            not_after: 2_000_000_000,
            public_key: key.to_public_key(),
        },
        "root",
        root,
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

fn pair() -> (Session, SecureChannelServer) {
    let root = private_key_from_pem(ROOT).unwrap();
    let client = config(&root, APP, Role::Application, Role::Manager, 1);
    let server = config(&root, MANAGER, Role::Manager, Role::Application, 2);
    let mut server = SecureChannelServer::new(server);
    let session = SecureChannelClient::new(client)
        .authenticate(&mut server, SAC_PROTOCOL_V1)
        .unwrap();
    (session, server)
}

#[test]
fn sessions_agree_and_parameters_round_trip() {
    let (mut client, mut server) = pair();
    let server = server.session_mut().unwrap();
    assert_eq!(client.session_key(), server.session_key());
    assert_eq!(client.app_sec(), (101, 102));
    assert_eq!(server.app_sec(), (102, 101));

    let plain = b"object data".to_vec();
    let mac = client.mac(&[&plain, &(plain.len() as u32).to_le_bytes()]);
    let mut wire = plain.clone();
    client.encrypt_param(&mut wire).unwrap();
    assert_ne!(wire, plain);
    server.decrypt_param(&mut wire).unwrap();
    assert_eq!(wire, plain);
    server
        .verify_mac(&[&wire, &(wire.len() as u32).to_le_bytes()], &mac)
        .unwrap();

    // The other direction uses the other key.
    let mut back = plain.clone();
    server.encrypt_param(&mut back).unwrap();
    client.decrypt_param(&mut back).unwrap();
    assert_eq!(back, plain);

    // A replayed ciphertext decrypts to garbage under the next counter.
    let mut again = plain.clone();
    client.encrypt_param(&mut again).unwrap();
    let mut replay = again.clone();
    server.decrypt_param(&mut again).unwrap();
    server.decrypt_param(&mut replay).unwrap();
    assert_ne!(replay, plain);
}

#[test]
fn mac_handles_are_bounded() {
    let (mut client, _server) = pair();
    let handles: Vec<MacHandle> = (0..MAX_MAC_HANDLES)
        .map(|_| client.mac_init().unwrap())
        .collect();
    assert_eq!(client.mac_init(), Err(Error::TooManySessions));
    client.mac_update(handles[3], b"abc").unwrap();
    client.mac_update(handles[3], b"def").unwrap();
    let mac = client.mac_final(handles[3]).unwrap();
    assert_eq!(mac, client.mac(&[b"abcdef"]));
    assert_eq!(
        client.mac_final(handles[3]),
        Err(Error::InvalidArg),
        "closed handle"
    );
    assert_eq!(client.mac_update(handles[3], b"x"), Err(Error::InvalidArg));
    assert!(client.mac_init().is_ok(), "a freed slot is reused");
    assert_eq!(
        client.verify_mac(&[b"abcdeF"], &mac),
        Err(Error::MacCheckFailed)
    );
}

#[test]
fn set_session_key_keeps_both_ends_in_step() {
    let (mut client, mut server) = pair();
    let server = server.session_mut().unwrap();
    client.set_session_key([9; 32]);
    server.set_session_key([9; 32]);
    let mut data = vec![1, 2, 3];
    client.encrypt_param(&mut data).unwrap();
    server.decrypt_param(&mut data).unwrap();
    assert_eq!(data, vec![1, 2, 3]);
}

fn cheap_pair(key: [u8; 32]) -> (Session, Session) {
    use std::sync::OnceLock;
    static CERT: OnceLock<Certificate> = OnceLock::new();
    let cert = CERT.get_or_init(|| {
        let root = private_key_from_pem(ROOT).unwrap();
        Certificate::issue(
            &CertificateRequest {
                subject: "peer".into(),
                role: Role::Provider,
                app_sec: 1,
                serial: 1,
                not_before: 0,
                not_after: 1,
                public_key: root.to_public_key(),
            },
            "root",
            &root,
        )
        .unwrap()
    });
    (
        Session::new(Side::Client, key, 0, cert.clone()),
        Session::new(Side::Server, key, 0, cert.clone()),
    )
}

proptest::proptest! {
    #[test]
    fn parameters_round_trip_and_any_flip_fails_the_mac(
        key in proptest::array::uniform32(proptest::prelude::any::<u8>()),
        chunks in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 1..300), 1..5),
        flip in proptest::prelude::any::<proptest::sample::Index>(),
    ) {
        let (mut client, mut server) = cheap_pair(key);
        for (i, plain) in chunks.iter().enumerate() {
            let size = (plain.len() as u32).to_le_bytes();
            let mac = client.mac(&[plain, &size]);
            let mut wire = plain.clone();
            client.encrypt_param(&mut wire).unwrap();
            if i == chunks.len() - 1 {
                // Tamper with the last one: the MAC over the decrypted data must fail.
                let at = flip.index(wire.len());
                wire[at] ^= 0x01;
                server.decrypt_param(&mut wire).unwrap();
                proptest::prop_assert_eq!(
                    server.verify_mac(&[&wire, &size], &mac),
                    Err(Error::MacCheckFailed)
                );
            } else {
                server.decrypt_param(&mut wire).unwrap();
                proptest::prop_assert_eq!(&wire, plain);
                proptest::prop_assert!(server.verify_mac(&[&wire, &size], &mac).is_ok());
            }
        }
    }
}

#[test]
fn an_opaque_mac_is_checked_over_all_twenty_bytes() {
    let (client, mut server) = pair();
    let server = server.session_mut().expect("authenticated");
    let guid = [7u8; 16];
    let field = client.opaque_mac(&guid, b"command").expect("mac");
    assert_eq!(field[MAC_LEN..], [0u8; OPAQUE_MAC_LEN - MAC_LEN]);
    assert_eq!(server.verify_opaque_mac(&guid, b"command", &field), Ok(()));
    // The right MAC with padding that is not zero: the provider side used to compare only
    // the first eight bytes and accepted it.
    let mut padded = field;
    padded[OPAQUE_MAC_LEN - 1] = 1;
    assert_eq!(
        server.verify_opaque_mac(&guid, b"command", &padded),
        Err(Error::MacCheckFailed)
    );
    assert_eq!(
        server.verify_opaque_mac(&guid, b"commanD", &field),
        Err(Error::MacCheckFailed)
    );
}
