//! The ASF (WMA) header reader: never panics on any bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wmdm::library::{Track, TrackId};

fuzz_target!(|data: &[u8]| {
    let mut track = Track::new(TrackId(0), "fuzz.wma");
    let _ = wmdm::fuzzing::parse_asf_header(data, &mut track);
});
