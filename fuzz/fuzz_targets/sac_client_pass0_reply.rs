//! The client's pass 0 reply: the server's certificate, challenge, and signature over the
//! transcript.
//!
//! Random bytes never carry a valid signature, so the target offers replies signed with the
//! fixed server key over the transcript as docs/security.md defines it, with certificates
//! issued with the fixed root key (every role, validity windows at and around now, odd
//! subjects; some by a key that is not the root's: `sac_setup::reply0_pool`), then may damage
//! the reply (fields, length prefixes, signature, a message of another pass or session). An
//! unchanged reply is accepted exactly when its certificate is the root's, valid now and a
//! provider's; a reply changed after signing is refused.
#![no_main]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use wmdm::Error;
use wmdm::sac::Role;

mod mutate;
mod sac_forge;
mod sac_setup;

/// The reply and whether it must be accepted.
fn build(u: &mut Unstructured<'_>) -> Result<(Vec<u8>, bool)> {
    let s = sac_setup::states();
    if u.ratio(1, 4)? {
        return Ok((s.a.reply0.clone(), true));
    }
    let (msg, valid) = u.choose(sac_setup::reply0_pool())?;
    Ok((msg.clone(), *valid == Some(Role::Provider)))
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
    marks.extend([end, end + 32]);
    mutate::vec16_marks(&msg, end + 32, 1, &mut marks);
    let _ = mutate::mutate(&mut u, &mut msg, &marks, &sac_setup::all_messages());
    let result = s.a.client0.clone().handle_reply(&msg);
    if msg == s.a.reply0 {
        assert!(result.is_ok(), "the recorded reply failed");
    } else if msg != built {
        assert!(
            result.is_err(),
            "a reply changed after it was signed was accepted"
        );
    } else {
        match result {
            Ok((state, _)) => {
                assert!(
                    accept,
                    "a certificate that is not valid now for a provider was accepted"
                );
                assert_eq!(state.server_certificate().role(), Role::Provider);
            }
            Err(e) => {
                assert!(!accept, "a valid pass 0 reply failed: {e}");
                assert_eq!(e, Error::NotCertified);
            }
        }
    }
});
