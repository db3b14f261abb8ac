//! The scan cache decoder: never panics; what decodes encodes back to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(records) = wmdm::fuzzing::decode_cache(data) {
        assert_eq!(wmdm::fuzzing::encode_cache(&records), data);
    }
});
