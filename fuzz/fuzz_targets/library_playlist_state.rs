//! The folder library's playlist state file: never panics; what decodes encodes back and
//! decodes to the same playlists.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(lists) = wmdm::fuzzing::decode_playlist_state(text) {
        let again =
            wmdm::fuzzing::decode_playlist_state(&wmdm::fuzzing::encode_playlist_state(&lists));
        assert_eq!(again.ok(), Some(lists));
    }
});
