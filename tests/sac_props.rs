//! Properties: arbitrary bytes never panic and never authenticate, on either side of either
//! pass, and certificate parsing round-trips or rejects.

mod common;

use std::sync::{Arc, OnceLock};

use common::*;
use proptest::prelude::*;
use wmdm::sac::client::{self, AwaitPass0Reply, AwaitPass1Reply};
use wmdm::sac::server::{ExpectPass0, ExpectPass1};
use wmdm::sac::*;

struct States {
    server0: ExpectPass0,
    server1: ExpectPass1,
    client0: AwaitPass0Reply,
    client1: AwaitPass1Reply,
    msgs: [Vec<u8>; 4],
    cert: Vec<u8>,
}

fn states() -> &'static States {
    static S: OnceLock<States> = OnceLock::new();
    S.get_or_init(|| {
        let clock = clock();
        let c = Arc::new(config(Role::Manager, 7, Role::Provider, &clock));
        let s = Arc::new(config(Role::Provider, 50, Role::Manager, &clock));
        let (client0, msg0) = client::begin(c).unwrap();
        let server0 = ExpectPass0::new(s);
        let (server1, reply0) = server0.clone().handle_pass0(&msg0).unwrap();
        let (client1, msg1) = client0.clone().handle_reply(&reply0).unwrap();
        let (_, reply1) = server1.clone().handle_pass1(&msg1).unwrap();
        States {
            server0,
            server1,
            client0,
            client1,
            msgs: [msg0, reply0, msg1, reply1],
            cert: issue(&request(Role::Provider, 3)).to_bytes(),
        }
    })
}

/// Either arbitrary bytes, or a real message with a few bytes overwritten.
fn mutated(which: usize) -> impl Strategy<Value = Vec<u8>> {
    let base = move || {
        let s = states();
        if which == 4 {
            s.cert.clone()
        } else {
            s.msgs[which].clone()
        }
    };
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..1200),
        proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4).prop_map(
            move |edits| {
                let mut m = base();
                for (i, v) in edits {
                    let at = i.index(m.len());
                    if m[at] == v {
                        m[at] ^= 0x80;
                    } else {
                        m[at] = v;
                    }
                }
                // Two edits at one place can put the original byte back; a message equal to
                // the real one is no mutation (and is rightly accepted).
                if m == base() {
                    let at = m.len() / 2;
                    m[at] ^= 0x80;
                }
                m
            }
        ),
        any::<prop::sample::Index>().prop_map(move |i| {
            let m = base();
            let cut = i.index(m.len());
            m[..cut].to_vec()
        }),
    ]
}

proptest! {
    #[test]
    fn server_pass0_never_panics(data in mutated(0)) {
        let s = states();
        if let Ok((_, reply)) = s.server0.clone().handle_pass0(&data) {
            // Only the challenge may change and still be accepted; the client then refuses.
            prop_assert!(s.client0.clone().handle_reply(&reply).is_err());
        }
    }

    #[test]
    fn client_pass0_reply_never_panics(data in mutated(1)) {
        prop_assert!(states().client0.clone().handle_reply(&data).is_err());
    }

    #[test]
    fn server_pass1_never_panics(data in mutated(2)) {
        prop_assert!(states().server1.clone().handle_pass1(&data).is_err());
    }

    #[test]
    fn client_pass1_reply_never_panics(data in mutated(3)) {
        prop_assert!(states().client1.clone().handle_reply(&data).is_err());
    }

    #[test]
    fn certificate_parsing_rejects_or_round_trips(data in mutated(4)) {
        if let Ok(cert) = Certificate::from_bytes(&data) {
            prop_assert_eq!(cert.to_bytes(), data);
        }
    }
}
