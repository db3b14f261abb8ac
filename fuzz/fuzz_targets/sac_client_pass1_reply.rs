//! The client's last check: the server's key confirmation (pass 1 reply).
//!
//! Random bytes never pass its HMAC, so the target starts from the genuine confirmation of a
//! recorded handshake and damages it on purpose (fields, length, MAC bytes, a message of
//! another pass or session). Only the genuine reply may authenticate, every other one fails
//! with the documented error; once authenticated, the two sessions must agree (MACs,
//! parameter encryption, MAC handles).
#![no_main]

use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use wmdm::Error;

mod mutate;
mod sac_forge;
mod sac_setup;

fuzz_target!(|data: &[u8]| {
    let s = sac_setup::states();
    let mut u = Unstructured::new(data);
    let mut reply = s.a.reply1.clone();
    // Header (protocol, pass), then the 32-byte confirmation: its first, middle and last bytes.
    let marks = [0, 4, 5, 6, 20, 36, 37];
    let _ = mutate::mutate(&mut u, &mut reply, &marks, &sac_setup::all_messages());
    let genuine = reply == s.a.reply1;
    match s.a.client1.clone().handle_reply(&reply) {
        Ok(mut client) => {
            assert!(genuine, "a forged key confirmation was accepted");
            assert_eq!(client.peer_certificate().subject(), "Provider");
            let mut server = s.a.server_session.lock().unwrap();
            // Fresh counters for this input (the key is the handshake's own).
            let key = server.session_key();
            server.set_session_key(key);
            sac_forge::exercise(&mut client, &mut server, &mut u);
        }
        Err(e) => {
            assert!(!genuine, "the genuine key confirmation failed: {e}");
            // A well-formed reply with the wrong MAC is a MAC failure; anything else malformed.
            let well_formed = reply.len() == 37 && reply[..5] == s.a.reply1[..5];
            let want = if well_formed {
                Error::MacCheckFailed
            } else {
                Error::InvalidArg
            };
            assert_eq!(e, want, "{reply:02x?}");
        }
    }
});
