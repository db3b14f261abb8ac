//! The device profile file (`.wmdm/profile.txt`, docs/transcode.md): parsing never panics, and
//! what parses answers GetFormatCapability for every format it lists without panicking, in a
//! form the transcode decision reads back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wmdm::providers::fs::DeviceProfile;
use wmdm::transcode::DeviceCaps;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = DeviceProfile::parse(data) {
        let mut caps = DeviceCaps::formats(&p.formats);
        for f in &p.formats {
            if let Some(c) = p.capability(*f) {
                caps = caps.from_capability(&c);
            }
        }
        assert!(caps.max_bitrate.is_none_or(|b| b >= 8_000));
    }
});
