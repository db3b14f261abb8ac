//! Fuzz target: bytes into `Certificate::from_bytes`. Beyond "no panic": a certificate that
//! parses is exactly its bytes (no trailing or ignored bytes: `to_bytes` gives the input back),
//! its fields are within the documented bounds, and parsing its encoding gives it again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wmdm::sac::Certificate;

fuzz_target!(|data: &[u8]| {
    let Ok(cert) = Certificate::from_bytes(data) else {
        return;
    };
    let bytes = cert.to_bytes();
    assert_eq!(
        bytes, data,
        "a parsed certificate encodes back to its own bytes"
    );
    assert!(!cert.subject().is_empty() && cert.subject().len() <= 255);
    assert!(!cert.issuer().is_empty() && cert.issuer().len() <= 255);
    let again = Certificate::from_bytes(&bytes).expect("its own encoding parses");
    assert_eq!(again.to_bytes(), bytes);
});
