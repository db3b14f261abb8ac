//! The sync's commit record parser: never panics on any bytes; what it accepts names only
//! this session's temporary names beside plain final paths, and round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wmdm::sync::CommitRecord;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = CommitRecord::parse(data) {
        let session = format!(".wmdm-sync-{:016x}-", c.session);
        for f in &c.files {
            let name = f.temp.rsplit('/').next().unwrap_or(&f.temp);
            assert!(
                name.starts_with(&session) && name.ends_with(".part"),
                "{f:?}"
            );
            assert!(!f.path.is_empty() && !f.path.starts_with('/'), "{f:?}");
        }
        assert_eq!(CommitRecord::parse(&c.encode()), Ok(c));
    }
});
