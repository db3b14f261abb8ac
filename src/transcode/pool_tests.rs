use std::sync::atomic::AtomicBool;

use super::*;
use crate::transcode::{Codec, FakeTranscoder};

fn target() -> Target {
    Target {
        codec: Codec::Mp3,
        bitrate: 128_000,
        sample_rate: 44_100,
        channels: 2,
    }
}

fn jobs(dir: &std::path::Path, n: u64) -> Vec<Job> {
    (0..n)
        .map(|i| {
            let source = dir.join(format!("{i}.flac"));
            std::fs::write(&source, vec![i as u8; 1000]).unwrap();
            Job {
                track: TrackId(i),
                source,
                target: target(),
                duration: Duration::ZERO,
                expected: None,
            }
        })
        .collect()
}

#[test]
fn every_job_is_encoded_once_then_reused_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Arc::new(FakeTranscoder::default());
    let cache = Arc::new(TranscodeCache::open(dir.path().join("cache"), u64::MAX).unwrap());
    let with = Transcoding {
        transcoder: fake.clone(),
        cache,
        workers: 3,
    };
    let stop = AtomicBool::new(false);
    let list = jobs(dir.path(), 6);
    let pool = EncodePool::start(with.clone(), list.clone());
    // Asked out of order: the pool moves the job to the front.
    for i in (0..6).rev() {
        let e = pool.wait(TrackId(i), &stop).unwrap();
        assert!(!e.reused);
        let want = FakeTranscoder::output(ContentHash::of_bytes(&[i as u8; 1000]), &target());
        assert_eq!(std::fs::read(&e.path).unwrap(), want);
        assert_eq!(e.size, want.len() as u64);
    }
    drop(pool);
    assert_eq!((fake.encodes(), fake.checks()), (6, 6));
    let pool = EncodePool::start(with, list);
    for i in 0..6 {
        assert!(pool.wait(TrackId(i), &stop).unwrap().reused);
    }
    assert_eq!(fake.encodes(), 6);
    assert_eq!(pool.wait(TrackId(99), &stop), Err(Error::Fail));
}

#[test]
fn a_changed_source_or_a_missing_codec_fails_its_job_only() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Arc::new(FakeTranscoder::new(vec![Codec::Vorbis]));
    let cache = Arc::new(TranscodeCache::open(dir.path().join("cache"), u64::MAX).unwrap());
    let mut list = jobs(dir.path(), 2);
    list[0].expected = Some(ContentHash([9; 20]));
    let pool = EncodePool::start(Transcoding::new(fake, cache.clone()), list);
    let stop = AtomicBool::new(false);
    assert_eq!(pool.wait(TrackId(0), &stop), Err(Error::ProcessFailed));
    assert_eq!(pool.wait(TrackId(1), &stop), Err(Error::NotSupported));
    // Nothing half-made stays in the cache.
    assert_eq!(std::fs::read_dir(cache.dir()).unwrap().count(), 0);
}

#[test]
fn stop_returns_at_once_and_dropping_the_pool_kills_running_encodes() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Arc::new(FakeTranscoder::default().with_delay(Duration::from_secs(30)));
    let cache = Arc::new(TranscodeCache::open(dir.path().join("cache"), u64::MAX).unwrap());
    let pool = EncodePool::start(
        Transcoding {
            transcoder: fake.clone(),
            cache: cache.clone(),
            workers: 2,
        },
        jobs(dir.path(), 4),
    );
    let stop = AtomicBool::new(true);
    let t = Instant::now();
    assert_eq!(pool.wait(TrackId(0), &stop), Err(Error::UserCancelled));
    drop(pool);
    assert!(t.elapsed() < Duration::from_secs(5));
    assert!(fake.encodes() <= 2);
    assert_eq!(std::fs::read_dir(cache.dir()).unwrap().count(), 0);
}

#[test]
fn the_pool_stays_at_most_twice_its_threads_ahead_of_the_engine() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Arc::new(FakeTranscoder::default());
    let cache = Arc::new(TranscodeCache::open(dir.path().join("cache"), u64::MAX).unwrap());
    let pool = EncodePool::start(
        Transcoding {
            transcoder: fake.clone(),
            cache,
            workers: 1,
        },
        jobs(dir.path(), 6),
    );
    let start = Instant::now();
    while fake.encodes() < 2 && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(5));
    }
    // Two finished and not taken: the thread waits instead of going further ahead.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(fake.encodes(), 2, "ran ahead");
    let stop = AtomicBool::new(false);
    // The last job is wanted: it is made although the pool is as far ahead as it may go.
    assert!(pool.wait(TrackId(5), &stop).is_ok());
    for i in 0..5 {
        assert!(pool.wait(TrackId(i), &stop).is_ok());
    }
    assert_eq!(fake.encodes(), 6);
}
