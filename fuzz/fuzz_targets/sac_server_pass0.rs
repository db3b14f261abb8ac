//! The server's pass 0: the client's certificate and challenge.
//!
//! Besides damage to the recorded message, the target offers client certificates issued with
//! the fixed root key (every role, validity windows at and around now, odd subjects; some by
//! a key that is not the root's: `sac_forge::cert_pool`), so every certificate check is passed
//! or failed on purpose, then may damage the message (fields, length prefixes, a message of
//! another pass or session). An unchanged message is accepted exactly when its certificate is
//! the root's, valid now and a manager's.
#![no_main]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use wmdm::Error;
use wmdm::sac::Role;

mod mutate;
mod sac_forge;
mod sac_setup;

/// The message and whether it must be accepted.
fn build(u: &mut Unstructured<'_>) -> Result<(Vec<u8>, bool)> {
    let s = sac_setup::states();
    if u.ratio(1, 4)? {
        return Ok((s.a.msg0.clone(), true));
    }
    let (msg, valid) = u.choose(sac_setup::pass0_pool())?;
    Ok((msg.clone(), *valid == Some(Role::Manager)))
}

fuzz_target!(|data: &[u8]| {
    let s = sac_setup::states();
    let mut u = Unstructured::new(data);
    let Ok((built, accept)) = build(&mut u) else {
        return;
    };
    let mut msg = built.clone();
    let mut marks = vec![0, 4, 5];
    let end = mutate::vec16_marks(&msg, 5, 1, &mut marks);
    marks.extend([end, end + 31, end + 32]);
    let _ = mutate::mutate(&mut u, &mut msg, &marks, &sac_setup::all_messages());
    let result = s.a.server0.clone().handle_pass0(&msg);
    if msg == built {
        match result {
            Ok((state, reply)) => {
                assert!(
                    accept,
                    "a certificate that is not valid now for a manager was accepted"
                );
                assert_eq!(state.client_certificate().role(), Role::Manager);
                assert_eq!(&reply[..5], &[2, 0, 0, 0, 0]);
            }
            Err(e) => {
                assert!(!accept, "a valid pass 0 failed: {e}");
                assert_eq!(e, Error::NotCertified);
            }
        }
    }
});
