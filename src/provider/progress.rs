//! Progress callbacks (IWMDMProgress / IWMDMProgress2) and cancellation.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};

/// A progress sink for long operations: IWMDMProgress (Begin, Progress, End) and
/// IWMDMProgress2::End2.
///
/// Ticks are whatever unit the operation chooses; transfers use bytes. Returning an error from
/// [`begin`](Progress::begin) or [`progress`](Progress::progress) cancels the operation: the
/// operation stops, undoes its partial work and ends with that error (WMDM's convention is
/// [`Error::UserCancelled`]). [`end`](Progress::end) is called exactly once after a successful
/// `begin`, with the operation's result.
pub trait Progress: Send {
    /// IWMDMProgress::Begin: the operation starts and expects about `estimated_ticks` ticks.
    ///
    /// # Errors
    /// Any error cancels the operation before it does anything.
    fn begin(&mut self, estimated_ticks: u64) -> Result<()>;

    /// IWMDMProgress::Progress: `transpired_ticks` ticks are done so far (cumulative).
    ///
    /// # Errors
    /// Any error cancels the operation.
    fn progress(&mut self, transpired_ticks: u64) -> Result<()>;

    /// IWMDMProgress::End / IWMDMProgress2::End2: the operation finished with `result`.
    fn end(&mut self, result: Result<()>);
}

/// A progress sink that ignores everything (a NULL IWMDMProgress).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn begin(&mut self, _estimated_ticks: u64) -> Result<()> {
        Ok(())
    }

    fn progress(&mut self, _transpired_ticks: u64) -> Result<()> {
        Ok(())
    }

    fn end(&mut self, _result: Result<()>) {}
}

/// A shared cancellation flag: clones see the same flag, so one thread can cancel an operation
/// another thread runs.
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token that is not cancelled.
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// Asks every holder of this token to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// True once [`cancel`](CancelToken::cancel) has been called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// `Err(Error::UserCancelled)` once cancelled.
    ///
    /// # Errors
    /// [`Error::UserCancelled`] when the token is cancelled.
    pub fn check(&self) -> Result<()> {
        if self.is_cancelled() {
            Err(Error::UserCancelled)
        } else {
            Ok(())
        }
    }
}

/// What a [`Recorder`] saw: one entry per callback.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProgressEvent {
    /// `begin(estimated)`.
    Begin(u64),
    /// `progress(done)`.
    Progress(u64),
    /// `end(result)`.
    End(Result<()>),
}

/// A progress sink that records every callback, and cancels when the done count reaches a
/// threshold. Useful in tests and as a base for user interfaces.
pub struct Recorder {
    events: Vec<ProgressEvent>,
    cancel_at: Option<u64>,
    token: Option<CancelToken>,
    on_progress: Option<Box<dyn FnMut(u64, u64) + Send>>,
    estimated: u64,
}

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder")
            .field("events", &self.events)
            .field("cancel_at", &self.cancel_at)
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::new()
    }
}

impl Recorder {
    /// A recorder that never cancels.
    pub fn new() -> Recorder {
        Recorder {
            events: Vec::new(),
            cancel_at: None,
            token: None,
            on_progress: None,
            estimated: 0,
        }
    }

    /// Cancels (with [`Error::UserCancelled`]) once `ticks` ticks are reported done.
    pub fn cancel_at(mut self, ticks: u64) -> Recorder {
        self.cancel_at = Some(ticks);
        self
    }

    /// Cancels (with [`Error::UserCancelled`]) once `token` is cancelled.
    pub fn with_token(mut self, token: CancelToken) -> Recorder {
        self.token = Some(token);
        self
    }

    /// Calls `f(done, estimated)` on every progress report (for a progress bar).
    pub fn on_progress(mut self, f: impl FnMut(u64, u64) + Send + 'static) -> Recorder {
        self.on_progress = Some(Box::new(f));
        self
    }

    /// Every callback so far, in order.
    pub fn events(&self) -> &[ProgressEvent] {
        &self.events
    }

    /// The result given to `end`, if it was called.
    pub fn result(&self) -> Option<&Result<()>> {
        self.events.iter().rev().find_map(|e| match e {
            ProgressEvent::End(r) => Some(r),
            _ => None,
        })
    }

    /// The last done count reported.
    pub fn last_progress(&self) -> Option<u64> {
        self.events.iter().rev().find_map(|e| match e {
            ProgressEvent::Progress(n) => Some(*n),
            _ => None,
        })
    }

    fn check(&self, done: u64) -> Result<()> {
        if let Some(t) = &self.token {
            t.check()?;
        }
        match self.cancel_at {
            Some(limit) if done >= limit => Err(Error::UserCancelled),
            _ => Ok(()),
        }
    }
}

impl Progress for Recorder {
    fn begin(&mut self, estimated_ticks: u64) -> Result<()> {
        self.estimated = estimated_ticks;
        self.events.push(ProgressEvent::Begin(estimated_ticks));
        if let Some(t) = &self.token {
            t.check()?;
        }
        Ok(())
    }

    fn progress(&mut self, transpired_ticks: u64) -> Result<()> {
        self.events.push(ProgressEvent::Progress(transpired_ticks));
        if let Some(f) = self.on_progress.as_mut() {
            f(transpired_ticks, self.estimated);
        }
        self.check(transpired_ticks)
    }

    fn end(&mut self, result: Result<()>) {
        self.events.push(ProgressEvent::End(result));
    }
}

/// Runs `op` between `begin(estimated)` and `end(result)`, so that `end` is always called once
/// with the operation's result, even when `begin` cancels.
///
/// # Errors
/// The error `begin` returned (then `op` does not run), or the error `op` returned.
pub fn run_with_progress<T>(
    progress: &mut dyn Progress,
    estimated: u64,
    op: impl FnOnce(&mut dyn Progress) -> Result<T>,
) -> Result<T> {
    let result = match progress.begin(estimated) {
        Ok(()) => op(progress),
        Err(e) => Err(e),
    };
    progress.end(result.as_ref().map(|_| ()).map_err(Clone::clone));
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorder_cancels_at_threshold() {
        let mut r = Recorder::new().cancel_at(10);
        let out = run_with_progress(&mut r, 20, |p| {
            p.progress(5)?;
            p.progress(10)?;
            p.progress(15)?;
            Ok(())
        });
        assert_eq!(out, Err(Error::UserCancelled));
        assert_eq!(
            r.events(),
            &[
                ProgressEvent::Begin(20),
                ProgressEvent::Progress(5),
                ProgressEvent::Progress(10),
                ProgressEvent::End(Err(Error::UserCancelled)),
            ]
        );
    }

    #[test]
    fn cancelled_token_stops_before_work() {
        let token = CancelToken::new();
        token.cancel();
        let mut r = Recorder::new().with_token(token);
        let mut ran = false;
        let out = run_with_progress(&mut r, 1, |_| {
            ran = true;
            Ok(())
        });
        assert!(!ran);
        assert_eq!(out, Err(Error::UserCancelled));
        assert_eq!(r.result(), Some(&Err(Error::UserCancelled)));
    }
}
