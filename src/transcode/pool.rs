//! A pool of encoder threads (one per core by default) that works through a sync's
//! conversions in plan order while the engine copies: by the time the engine reaches a
//! conversion its file is usually ready. Each job hashes the library file (the cache key),
//! takes a finished encode from the cache or encodes to a `.part`, checks it, adds the cover
//! art and puts it in the cache.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::cache::{TranscodeCache, discard};
use super::decide::Target;
use super::transcoder::Transcoder;
use crate::error::{Error, Result};
use crate::library::{ContentHash, TrackId};

/// What a sync converts with: the transcoder, the cache, and how many encodes run at once.
/// Compared by identity (two values are equal when they share the transcoder and cache).
#[derive(Clone)]
pub struct Transcoding {
    /// The encoder.
    pub transcoder: Arc<dyn Transcoder>,
    /// Where finished encodes go.
    pub cache: Arc<TranscodeCache>,
    /// Encodes at once (0: one per core).
    pub workers: usize,
}

impl Transcoding {
    /// `transcoder` with `cache`, one encode per core.
    pub fn new(transcoder: Arc<dyn Transcoder>, cache: Arc<TranscodeCache>) -> Transcoding {
        Transcoding {
            transcoder,
            cache,
            workers: 0,
        }
    }
}

impl std::fmt::Debug for Transcoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transcoding")
            .field("transcoder", &self.transcoder)
            .field("cache", &self.cache.dir())
            .field("workers", &self.workers)
            .finish()
    }
}

impl PartialEq for Transcoding {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.transcoder, &other.transcoder)
            && Arc::ptr_eq(&self.cache, &other.cache)
            && self.workers == other.workers
    }
}

impl Eq for Transcoding {}

/// One conversion to make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// The track.
    pub track: TrackId,
    /// The library file.
    pub source: PathBuf,
    /// What to write.
    pub target: Target,
    /// The track's duration (the check compares it; zero when unknown).
    pub duration: Duration,
    /// The library file's hash as planned (a converted identity works too: only the part
    /// both share is compared); `None` when unknown.
    pub expected: Option<ContentHash>,
}

/// A finished conversion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encoded {
    /// The file in the cache.
    pub path: PathBuf,
    /// Its size.
    pub size: u64,
    /// The library file's SHA-1, as read for the encode.
    pub source: ContentHash,
    /// Taken from the cache, not encoded now.
    pub reused: bool,
    /// Time spent encoding and checking (zero when reused).
    pub encode_time: Duration,
}

#[derive(Default)]
struct Queue {
    pending: VecDeque<Job>,
    done: HashMap<TrackId, Result<Encoded>>,
    // The track the engine waits for: started even when the pool is as far ahead as it may go.
    wanted: Option<TrackId>,
}

struct State {
    queue: Mutex<Queue>,
    ready: Condvar,
    cancel: AtomicBool,
    with: Transcoding,
    // Finished encodes the engine has not taken yet, at most: the pool stays this far ahead
    // of the device writes, so the cache's eviction never removes an encode still to be
    // written and the disk holds few of them.
    ahead: usize,
}

fn lock(m: &Mutex<Queue>) -> MutexGuard<'_, Queue> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The running pool. Dropping it cancels what is left (a running ffmpeg is killed) and waits
/// for its threads.
pub struct EncodePool {
    state: Arc<State>,
    threads: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for EncodePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncodePool")
            .field("threads", &self.threads.len())
            .finish_non_exhaustive()
    }
}

impl EncodePool {
    /// Starts encoding `jobs`, in order.
    pub fn start(with: Transcoding, jobs: Vec<Job>) -> EncodePool {
        let n = if with.workers == 0 {
            std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
        } else {
            with.workers
        }
        .min(jobs.len())
        .max(1);
        let state = Arc::new(State {
            queue: Mutex::new(Queue {
                pending: jobs.into(),
                done: HashMap::new(),
                wanted: None,
            }),
            ready: Condvar::new(),
            cancel: AtomicBool::new(false),
            with,
            ahead: 2 * n,
        });
        let threads = (0..n)
            .filter_map(|i| {
                let state = Arc::clone(&state);
                std::thread::Builder::new()
                    .name(format!("wmdm-encode-{i}"))
                    .spawn(move || worker(&state))
                    .inspect_err(|e| tracing::warn!(error = %e, "cannot start an encoder thread"))
                    .ok()
            })
            .collect();
        EncodePool { state, threads }
    }

    /// The conversion of `track`, waiting for it (a job not started yet moves to the front).
    /// Returns [`Error::UserCancelled`] as soon as `stop` is set.
    ///
    /// # Errors
    /// The job's error; [`Error::UserCancelled`] on stop; [`Error::Fail`] for a track that is
    /// not a job of this pool.
    pub fn wait(&self, track: TrackId, stop: &AtomicBool) -> Result<Encoded> {
        let mut q = lock(&self.state.queue);
        q.wanted = Some(track);
        if let Some(at) = q.pending.iter().position(|j| j.track == track)
            && at > 0
            && let Some(job) = q.pending.remove(at)
        {
            q.pending.push_front(job);
        }
        let without_threads = self.threads.is_empty();
        loop {
            if let Some(r) = q.done.remove(&track) {
                q.wanted = None;
                drop(q);
                // Room for the workers to go ahead again.
                self.state.ready.notify_all();
                return r;
            }
            if stop.load(Ordering::Relaxed) {
                q.wanted = None;
                return Err(Error::UserCancelled);
            }
            let queued = q.pending.iter().any(|j| j.track == track);
            if without_threads && queued {
                // No thread could be started: encode here.
                let job = q.pending.pop_front().ok_or(Error::Fail)?;
                drop(q);
                let r = process(&self.state, &job);
                q = lock(&self.state.queue);
                q.done.insert(job.track, r);
                continue;
            }
            if !queued && self.threads.iter().all(JoinHandle::is_finished) {
                q.wanted = None;
                return Err(Error::Fail);
            }
            self.state.ready.notify_all();
            q = self
                .state
                .ready
                .wait_timeout(q, Duration::from_millis(50))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Stops: no new encodes start, running ones are killed.
    pub fn cancel(&self) {
        self.state.cancel.store(true, Ordering::Relaxed);
        lock(&self.state.queue).pending.clear();
        self.state.ready.notify_all();
    }
}

impl Drop for EncodePool {
    fn drop(&mut self) {
        self.cancel();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn worker(state: &State) {
    loop {
        if state.cancel.load(Ordering::Relaxed) {
            return;
        }
        let job = {
            let mut q = lock(&state.queue);
            loop {
                if state.cancel.load(Ordering::Relaxed) {
                    return;
                }
                let Some(front) = q.pending.front() else {
                    return;
                };
                if q.done.len() < state.ahead || q.wanted == Some(front.track) {
                    break q.pending.pop_front();
                }
                q = state
                    .ready
                    .wait_timeout(q, Duration::from_millis(50))
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
        };
        let Some(job) = job else {
            return;
        };
        let r = process(state, &job);
        lock(&state.queue).done.insert(job.track, r);
        state.ready.notify_all();
    }
}

/// One job: hash, cache lookup, or encode + check + cover art + cache insert.
fn process(state: &State, job: &Job) -> Result<Encoded> {
    let with = &state.with;
    let source = ContentHash::of_reader(std::fs::File::open(&job.source)?)?;
    if job
        .expected
        .is_some_and(|e| !super::decide::same_source(e, source))
    {
        // Changed since planning: the next sync plans it again.
        return Err(Error::ProcessFailed
            .context("converting: the library file changed since the plan")
            .path(&job.source));
    }
    // Keyed by the audio without its tags, and the cover art: a tag edit finds the encode
    // made before (only the tags are written again), new cover art does not.
    let audio = super::fingerprint::audio_fingerprint(&job.source)?;
    let (pictures, art) = if with.transcoder.writes_audio() {
        super::art::pictures(&job.source)
    } else {
        (Vec::new(), [0; 20])
    };
    let mut version = with.transcoder.version();
    version.push_str(&ContentHash(art).to_string());
    let key = TranscodeCache::key(audio, &job.target, &version);
    if let Some(path) = with.cache.get(&key, &job.target) {
        let size = std::fs::metadata(&path)?.len();
        return Ok(Encoded {
            path,
            size,
            source,
            reused: true,
            encode_time: Duration::ZERO,
        });
    }
    let started = Instant::now();
    let part = with.cache.part_path(&key);
    let result = (|| {
        with.transcoder
            .encode(&job.source, &job.target, &part, &state.cancel)?;
        with.transcoder.check(&part, &job.target, job.duration)?;
        if with.transcoder.writes_audio() {
            super::art::keep_cover_art(pictures, &part)?;
        }
        with.cache.insert(&part, &key, &job.target)
    })();
    let path = match result {
        Ok(p) => p,
        Err(e) => {
            discard(&part);
            return Err(e);
        }
    };
    let size = std::fs::metadata(&path)?.len();
    Ok(Encoded {
        path,
        size,
        source,
        reused: false,
        encode_time: started.elapsed(),
    })
}

#[cfg(test)]
#[path = "pool_tests.rs"]
mod tests;
