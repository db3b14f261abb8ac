//! The path template parser: never panics, and what parses renders without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wmdm::library::{PathTemplate, Track, TrackId};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(t) = PathTemplate::parse(text) {
        let mut track = Track::new(TrackId(1), "Artist/Album/01 Song.mp3");
        track.title = text.to_owned();
        track.track_number = Some(7);
        let _ = t.render(&track);
    }
});
