//! IWMDMProgress3: progress callbacks that carry an event GUID and an opaque context.

use std::fmt;

use uuid::Uuid;

use crate::error::Result;
use crate::provider::{OpaqueCommand, Progress};

/// `EVENT_WMDM_CONTENT_TRANSFER` {339C9BF4-BCFE-4ED8-94DF-EAF8C26AB61B}: the event of content
/// transfers (insert and read).
pub const EVENT_WMDM_CONTENT_TRANSFER: Uuid =
    Uuid::from_u128(0x339C9BF4_BCFE_4ED8_94DF_EAF8C26AB61B);

/// IWMDMProgress3: Begin3, Progress3 and End3. Adapt one to the plain [`Progress`] every
/// operation takes with [`EventProgress`].
pub trait Progress3: Send {
    /// IWMDMProgress3::Begin3.
    ///
    /// # Errors
    /// Any error cancels the operation before it does anything.
    fn begin(&mut self, event: Uuid, estimated_ticks: u64, context: &OpaqueCommand) -> Result<()>;

    /// IWMDMProgress3::Progress3.
    ///
    /// # Errors
    /// Any error cancels the operation.
    fn progress(
        &mut self,
        event: Uuid,
        transpired_ticks: u64,
        context: &OpaqueCommand,
    ) -> Result<()>;

    /// IWMDMProgress3::End3.
    fn end(&mut self, event: Uuid, result: Result<()>, context: &OpaqueCommand);
}

/// A [`Progress`] that forwards to a [`Progress3`] with a fixed event GUID and context.
pub struct EventProgress<'a> {
    inner: &'a mut dyn Progress3,
    event: Uuid,
    context: OpaqueCommand,
}

impl fmt::Debug for EventProgress<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventProgress")
            .field("event", &self.event)
            .finish_non_exhaustive()
    }
}

impl<'a> EventProgress<'a> {
    /// Forwards with `event` and `context`.
    pub fn new(inner: &'a mut dyn Progress3, event: Uuid, context: OpaqueCommand) -> Self {
        EventProgress {
            inner,
            event,
            context,
        }
    }

    /// Forwards as [`EVENT_WMDM_CONTENT_TRANSFER`] with an empty context.
    pub fn transfer(inner: &'a mut dyn Progress3) -> Self {
        EventProgress::new(inner, EVENT_WMDM_CONTENT_TRANSFER, OpaqueCommand::default())
    }
}

impl Progress for EventProgress<'_> {
    fn begin(&mut self, estimated_ticks: u64) -> Result<()> {
        self.inner.begin(self.event, estimated_ticks, &self.context)
    }

    fn progress(&mut self, transpired_ticks: u64) -> Result<()> {
        self.inner
            .progress(self.event, transpired_ticks, &self.context)
    }

    fn end(&mut self, result: Result<()>) {
        self.inner.end(self.event, result, &self.context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::provider::run_with_progress;

    #[derive(Default)]
    struct Log(Vec<(Uuid, String)>);

    impl Progress3 for Log {
        fn begin(&mut self, event: Uuid, ticks: u64, _: &OpaqueCommand) -> Result<()> {
            self.0.push((event, format!("begin {ticks}")));
            Ok(())
        }
        fn progress(&mut self, event: Uuid, ticks: u64, _: &OpaqueCommand) -> Result<()> {
            self.0.push((event, format!("progress {ticks}")));
            if ticks >= 2 {
                Err(Error::UserCancelled)
            } else {
                Ok(())
            }
        }
        fn end(&mut self, event: Uuid, result: Result<()>, _: &OpaqueCommand) {
            self.0.push((event, format!("end {result:?}")));
        }
    }

    #[test]
    fn forwards_with_the_event_and_cancels() {
        let mut log = Log::default();
        let out = run_with_progress(&mut EventProgress::transfer(&mut log), 3, |p| {
            p.progress(1)?;
            p.progress(2)?;
            p.progress(3)
        });
        assert_eq!(out, Err(Error::UserCancelled));
        let lines: Vec<&str> = log.0.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(
            lines,
            [
                "begin 3",
                "progress 1",
                "progress 2",
                "end Err(UserCancelled)"
            ]
        );
        assert!(log.0.iter().all(|(e, _)| *e == EVENT_WMDM_CONTENT_TRANSFER));
    }
}
