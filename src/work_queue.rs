//! Tree walks shared among threads: the library's scan of the music folder and the sync's
//! listing of a device. Each worker lists a folder and goes on with its subfolders, handing
//! some over whenever another worker runs out, so a deep branch does not keep one thread busy
//! while the other idles.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// The folders (or any work items) shared among a walk's workers. Each worker keeps what it
/// finds on its own stack ([`Worker`]) and hands part of it over only while another worker
/// waits for work, so the lock is taken about once per hand-over rather than twice per folder.
pub(crate) struct WorkQueue<T> {
    state: Mutex<State<T>>,
    more: Condvar,
    /// Workers waiting for work (read without the lock: a stale value only delays a hand-over).
    hungry: AtomicUsize,
    stopped: AtomicBool,
}

struct State<T> {
    waiting: Vec<T>,
    /// Workers holding work: an item taken from here, or items of their own.
    busy: usize,
}

impl<T> WorkQueue<T> {
    /// A queue holding `first`.
    pub(crate) fn new(first: Vec<T>) -> WorkQueue<T> {
        WorkQueue {
            state: Mutex::new(State {
                waiting: first,
                busy: 0,
            }),
            more: Condvar::new(),
            hungry: AtomicUsize::new(0),
            stopped: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A worker taking items from this queue.
    pub(crate) fn worker(&self) -> Worker<'_, T> {
        Worker {
            queue: self,
            own: Vec::new(),
            busy: false,
        }
    }

    /// Stops the walk: every worker's next [`Worker::next`] is `None` (a worker failed and the
    /// walk's result is its error).
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        let _g = self.lock();
        self.more.notify_all();
    }
}

/// One worker of a [`WorkQueue`].
pub(crate) struct Worker<'q, T> {
    queue: &'q WorkQueue<T>,
    own: Vec<T>,
    busy: bool,
}

impl<T> Worker<'_, T> {
    /// The next item: the last one this worker found, else one from the shared queue; `None`
    /// once every item of every worker has been handled, or the queue was stopped.
    pub(crate) fn next(&mut self) -> Option<T> {
        let q = self.queue;
        if q.stopped.load(Ordering::Acquire) {
            return None;
        }
        if let Some(item) = self.own.pop() {
            if !self.own.is_empty() && q.hungry.load(Ordering::Acquire) > 0 {
                // The oldest half: folders nearer the top, with more below them.
                let keep = self.own.len() / 2;
                let given: Vec<T> = self.own.drain(..self.own.len() - keep).collect();
                q.lock().waiting.extend(given);
                q.more.notify_all();
            }
            return Some(item);
        }
        let mut g = q.lock();
        if std::mem::take(&mut self.busy) {
            g.busy = g.busy.saturating_sub(1);
            if g.busy == 0 && g.waiting.is_empty() {
                q.more.notify_all();
            }
        }
        loop {
            if q.stopped.load(Ordering::Acquire) {
                return None;
            }
            if let Some(item) = g.waiting.pop() {
                g.busy += 1;
                self.busy = true;
                return Some(item);
            }
            if g.busy == 0 {
                return None;
            }
            q.hungry.fetch_add(1, Ordering::AcqRel);
            g = q.more.wait(g).unwrap_or_else(PoisonError::into_inner);
            q.hungry.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// What handling the last item found (its subfolders): this worker's to handle next.
    pub(crate) fn found(&mut self, more: impl IntoIterator<Item = T>) {
        self.own.extend(more);
    }
}

/// Runs `work` on `threads` workers (this thread is one of them) and returns each one's
/// result, this thread's first; a worker that panicked gives `None`.
pub(crate) fn on_workers<R: Send>(threads: usize, work: impl Fn() -> R + Sync) -> Vec<Option<R>> {
    if threads < 2 {
        return vec![Some(work())];
    }
    std::thread::scope(|s| {
        let helpers: Vec<_> = (1..threads).map(|_| s.spawn(&work)).collect();
        let mut out = vec![Some(work())];
        out.extend(helpers.into_iter().map(|h| h.join().ok()));
        out
    })
}

/// How many workers a walk uses: two where the host has two cores or more (a walk is mostly
/// waiting for the kernel or the device; more threads only contend).
pub(crate) fn walk_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tree of `fanout`-ary folders `depth` deep, walked on two workers: every node is
    /// handled once.
    #[test]
    fn every_item_is_handled_once_on_two_workers() {
        let q = WorkQueue::new(vec![(0u32, String::new())]);
        let seen = on_workers(2, || {
            let mut w = q.worker();
            let mut mine = Vec::new();
            while let Some((depth, name)) = w.next() {
                let children: Vec<(u32, String)> = if depth < 4 {
                    (0..3).map(|i| (depth + 1, format!("{name}/{i}"))).collect()
                } else {
                    Vec::new()
                };
                mine.push(name);
                w.found(children);
            }
            mine
        });
        let mut all: Vec<String> = seen.into_iter().flatten().flatten().collect();
        all.sort();
        let before = all.len();
        all.dedup();
        assert_eq!(before, all.len(), "an item was handled twice");
        assert_eq!(all.len(), 1 + 3 + 9 + 27 + 81);
    }

    #[test]
    fn a_stopped_walk_ends_every_worker() {
        let q = WorkQueue::new(vec![1u32, 2, 3]);
        let taken = on_workers(2, || {
            let mut w = q.worker();
            while let Some(item) = w.next() {
                if item == 3 {
                    // Fails and leaves, holding its item: the others must not wait for it.
                    q.stop();
                    return false;
                }
                if item < 100 {
                    w.found([item + 10, item + 20]);
                }
            }
            true
        });
        assert_eq!(taken.iter().filter(|t| **t == Some(false)).count(), 1);
        assert!(q.worker().next().is_none());
    }
}
