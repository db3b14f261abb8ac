//! The machine's continuations: a piece of work is either finished or waiting for the
//! answer to one device request, holding what it does with that answer. Sequencing the
//! pieces (`and`, `then`) keeps each decision next to the request it follows, as in the
//! straight-line code this replaced, with no I/O in between.

use super::Run;
use super::request::{DeviceRequest, DeviceResponse, Fingerprint, ObjectInfo};
use crate::error::Result;

/// What a piece of work does with the answer to its request.
pub(super) type Then = Box<dyn FnOnce(&mut Run, DeviceResponse) -> Flow + Send>;

/// Work: done, or waiting for the answer to one request.
pub(super) enum Flow {
    /// Waiting for the answer to this request.
    Ask(DeviceRequest, Then),
    /// Finished.
    Done(Result<()>),
}

impl Flow {
    /// Finished with success.
    pub(super) const OK: Flow = Flow::Done(Ok(()));

    /// Asks `request` and goes on with `then`.
    pub(super) fn ask(
        request: DeviceRequest,
        then: impl FnOnce(&mut Run, DeviceResponse) -> Flow + Send + 'static,
    ) -> Flow {
        Flow::Ask(request, Box::new(then))
    }

    /// Asks `request`, expecting success or an error, and goes on with `then`.
    pub(super) fn ask_done(
        request: DeviceRequest,
        then: impl FnOnce(&mut Run, Result<()>) -> Flow + Send + 'static,
    ) -> Flow {
        Flow::ask(request, move |run, r| then(run, r.done()))
    }

    /// Looks `path` up and goes on with the object found (or the error).
    pub(super) fn lookup(
        path: &str,
        fingerprint: Fingerprint,
        then: impl FnOnce(&mut Run, Result<Option<ObjectInfo>>) -> Flow + Send + 'static,
    ) -> Flow {
        let request = DeviceRequest::Lookup {
            path: path.to_owned(),
            fingerprint,
        };
        Flow::ask(request, move |run, r| then(run, r.object()))
    }

    /// Runs `self`, then `next` with its result.
    pub(super) fn then(
        self,
        run: &mut Run,
        next: impl FnOnce(&mut Run, Result<()>) -> Flow + Send + 'static,
    ) -> Flow {
        match self {
            Flow::Done(r) => next(run, r),
            Flow::Ask(request, k) => Flow::Ask(
                request,
                Box::new(move |run, response| k(run, response).then(run, next)),
            ),
        }
    }

    /// Runs `self`, then `next` when it succeeded; an error ends the sequence.
    pub(super) fn and(
        self,
        run: &mut Run,
        next: impl FnOnce(&mut Run) -> Flow + Send + 'static,
    ) -> Flow {
        self.then(run, |run, r| match r {
            Ok(()) => next(run),
            Err(e) => Flow::Done(Err(e)),
        })
    }
}
