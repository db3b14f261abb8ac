//! Tree walks shared among threads: the library's scan of the music folder and the sync's
//! listing of a device. Each worker takes the next folder waiting, lists it and hands back its
//! subfolders, so a deep branch does not keep one thread busy while the other idles.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// The folders (or any work items) waiting, and how many workers are busy with one: a worker
/// that finds nothing waiting waits while others may still hand back more.
pub(crate) struct WorkQueue<T> {
    state: Mutex<State<T>>,
    more: Condvar,
}

struct State<T> {
    waiting: Vec<T>,
    busy: usize,
    stopped: bool,
}

impl<T> WorkQueue<T> {
    /// A queue holding `first`.
    pub(crate) fn new(first: Vec<T>) -> WorkQueue<T> {
        WorkQueue {
            state: Mutex::new(State {
                waiting: first,
                busy: 0,
                stopped: false,
            }),
            more: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next item (the worker is busy with it until [`done`](Self::done)); `None` once
    /// every item has been handled, or the queue was stopped.
    pub(crate) fn next(&self) -> Option<T> {
        let mut g = self.lock();
        loop {
            if g.stopped {
                return None;
            }
            if let Some(item) = g.waiting.pop() {
                g.busy += 1;
                return Some(item);
            }
            if g.busy == 0 {
                return None;
            }
            g = self.more.wait(g).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Ends the item the worker took last, queueing what it found (its subfolders).
    pub(crate) fn done(&self, more: impl IntoIterator<Item = T>) {
        let mut g = self.lock();
        g.waiting.extend(more);
        g.busy = g.busy.saturating_sub(1);
        self.more.notify_all();
    }

    /// Stops the walk: every worker's next [`next`](Self::next) is `None` (a worker failed and
    /// the walk's result is its error).
    pub(crate) fn stop(&self) {
        self.lock().stopped = true;
        self.more.notify_all();
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
            let mut mine = Vec::new();
            while let Some((depth, name)) = q.next() {
                let children: Vec<(u32, String)> = if depth < 4 {
                    (0..3).map(|i| (depth + 1, format!("{name}/{i}"))).collect()
                } else {
                    Vec::new()
                };
                mine.push(name);
                q.done(children);
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
            let mut n = 0;
            while let Some(item) = q.next() {
                n += 1;
                if item == 3 {
                    // Fails without handing the item back: the others must not wait for it.
                    q.stop();
                    continue;
                }
                q.done([item + 10]);
            }
            n
        });
        assert!(taken.iter().all(Option::is_some));
        assert!(q.next().is_none());
    }
}
