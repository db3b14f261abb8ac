//! Shared by the SAC fuzz targets: a recorded handshake between fixed test keys, with every
//! intermediate state, built once.
#![allow(dead_code)]

use std::sync::{Arc, OnceLock};

use wmdm::sac::client::{self, AwaitPass0Reply, AwaitPass1Reply};
use wmdm::sac::server::{ExpectPass0, ExpectPass1};
use wmdm::sac::*;
use wmdm::time::ManualClock;

pub struct States {
    pub server0: ExpectPass0,
    pub server1: ExpectPass1,
    pub client0: AwaitPass0Reply,
    pub client1: AwaitPass1Reply,
}

fn config(root: &str, key: &str, role: Role, peer: Role, serial: u64) -> Arc<ChannelConfig> {
    let root = private_key_from_pem(root).unwrap();
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
            .with_random(Arc::new(SeededRandom::new([serial as u8; 32]))),
    )
}

pub fn states() -> &'static States {
    static S: OnceLock<States> = OnceLock::new();
    S.get_or_init(|| {
        let root = include_str!("../../tests/data/keys/root.pem");
        let c = config(
            root,
            include_str!("../../tests/data/keys/manager.pem"),
            Role::Manager,
            Role::Provider,
            1,
        );
        let s = config(
            root,
            include_str!("../../tests/data/keys/provider.pem"),
            Role::Provider,
            Role::Manager,
            2,
        );
        let (client0, msg0) = client::begin(c).unwrap();
        let server0 = ExpectPass0::new(s);
        let (server1, reply0) = server0.clone().handle_pass0(&msg0).unwrap();
        let (client1, _) = client0.clone().handle_reply(&reply0).unwrap();
        States {
            server0,
            server1,
            client0,
            client1,
        }
    })
}
