//! The server's pass 1: the client's encrypted session secret and its signature over the
//! transcript.
//!
//! Random bytes never carry a valid signature, so the target builds pass 1 itself with the
//! fixed test keys: the recorded message, or secrets of many lengths encrypted under the
//! server's key and signed with the client's key over the transcript, or the recorded
//! ciphertext damaged and signed again (`pool`); then it may damage the message
//! (fields, length prefixes, signature bytes, a message of another pass or session). A
//! message that was not changed after signing passes the signature check, so the decryption
//! and the secret's length are what decide: only a 32-byte secret authenticates.
#![no_main]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use wmdm::Error;

mod mutate;
mod sac_forge;
mod sac_setup;

/// What the message was built to be.
#[derive(Clone, Copy)]
enum Built {
    /// The recorded pass 1.
    Recorded,
    /// Signed over its own bytes; `secret_len`: the secret decrypts, of this length;
    /// `framed`: the ciphertext's length is within the field's bounds (256..=512).
    Signed {
        secret_len: Option<usize>,
        framed: bool,
    },
}

/// Pass 1 messages signed with the client's key over handshake `a`'s transcript, built once
/// (an RSA signature each): secrets of every interesting length encrypted under the server's
/// key, and the recorded ciphertext damaged (a bit of its first, middle or last byte, one byte
/// short or long, all zeros, all ones: above the modulus).
fn pool() -> &'static [(Vec<u8>, Built)] {
    static P: OnceLock<Vec<(Vec<u8>, Built)>> = OnceLock::new();
    P.get_or_init(|| {
        let s = sac_setup::states();
        let transcript = sac_forge::Transcript::new(&[&s.a.msg0, &s.a.reply0]);
        let mut out = Vec::new();
        let mut add = |encrypted: Vec<u8>, secret_len: Option<usize>| {
            let framed = (256..=512).contains(&encrypted.len());
            let mut msg = vec![2, 0, 0, 0, 1];
            sac_forge::put_vec16(&mut msg, &encrypted);
            let digest = transcript.hash_with(b"client signature", &msg);
            sac_forge::put_vec16(&mut msg, &sac_forge::sign(&s.client_key, &digest));
            out.push((msg, Built::Signed { secret_len, framed }));
        };
        for (i, len) in [0usize, 1, 16, 31, 32, 32, 33, 64, 190]
            .into_iter()
            .enumerate()
        {
            let secret: Vec<u8> = (0..len).map(|b| (b * 7 + i) as u8).collect();
            let ct = sac_forge::encrypt(&s.server_public, &secret, i as u64).unwrap();
            add(ct, Some(len));
        }
        let recorded = &s.a.msg1;
        let len = usize::from(u16::from_le_bytes([recorded[5], recorded[6]]));
        let ct = recorded[7..7 + len].to_vec();
        for damage in 0..7 {
            let mut c = ct.clone();
            match damage {
                0 => c[0] ^= 1,
                1 => c[len / 2] ^= 0x10,
                2 => c[len - 1] ^= 0x80,
                3 => {
                    c.pop();
                }
                4 => c.push(0),
                5 => c.iter_mut().for_each(|b| *b = 0),
                _ => c.iter_mut().for_each(|b| *b = 0xff),
            }
            add(c, None);
        }
        out
    })
}

fn build(u: &mut Unstructured<'_>) -> Result<(Vec<u8>, Built)> {
    if u.ratio(1, 4)? {
        return Ok((sac_setup::states().a.msg1.clone(), Built::Recorded));
    }
    let (msg, how) = u.choose(pool())?;
    Ok((msg.clone(), *how))
}

fuzz_target!(|data: &[u8]| {
    let s = sac_setup::states();
    let mut u = Unstructured::new(data);
    let Ok((built, how)) = build(&mut u) else {
        return;
    };
    let mut msg = built.clone();
    let mut marks = vec![0, 4, 5];
    mutate::vec16_marks(&msg, 5, 2, &mut marks);
    let _ = mutate::mutate(&mut u, &mut msg, &marks, &sac_setup::all_messages());
    let result = s.a.server1.clone().handle_pass1(&msg);
    if msg == s.a.msg1 {
        // The recorded message, whatever the way there (a replay from the pool).
        let (_, reply) = result.expect("the recorded pass 1 failed");
        assert_eq!(reply, s.a.reply1);
        return;
    }
    if msg != built {
        // Changed after signing: the signature (or the framing) must fail it.
        assert!(
            result.is_err(),
            "a pass 1 changed after signing was accepted"
        );
        return;
    }
    match (how, result) {
        (
            Built::Signed {
                secret_len: Some(32),
                ..
            },
            Ok((session, reply)),
        ) => {
            assert_eq!(&reply[..5], &[2, 0, 0, 0, 1]);
            assert_eq!(reply.len(), 37);
            assert_eq!(session.peer_certificate().subject(), "Manager");
        }
        (Built::Signed { framed: true, .. }, Err(e)) => assert_eq!(e, Error::NotCertified),
        (Built::Signed { framed: false, .. }, Err(e)) => assert_eq!(e, Error::InvalidArg),
        (_, Ok(_)) => panic!("a secret that is not 32 bytes, or not ours, was accepted"),
        (Built::Recorded, Err(e)) => panic!("the recorded pass 1 failed: {e}"),
    }
});
