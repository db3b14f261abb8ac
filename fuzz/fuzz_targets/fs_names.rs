//! Any name: the policy answers with a valid name or `InvalidName`, never a panic, and a
//! sanitised name passes the strict check.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wmdm::Error;
use wmdm::providers::fs::{NameMode, NamePolicy};

fuzz_target!(|data: &[u8]| {
    let name = String::from_utf8_lossy(data);
    let strict = NamePolicy::fat(NameMode::Reject);
    for policy in [
        NamePolicy::permissive(),
        strict,
        NamePolicy::fat(NameMode::Sanitise),
    ] {
        match policy.check(&name) {
            Ok(out) => {
                assert!(!out.is_empty() && !out.contains(['/', '\0']));
                if policy.mode() == NameMode::Sanitise {
                    assert!(strict.check(&out).is_ok());
                }
                let _ = policy.numbered(&out, 2);
            }
            Err(e) => assert_eq!(e, Error::InvalidName),
        }
    }
});
