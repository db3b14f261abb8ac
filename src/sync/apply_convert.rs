//! Applying a converted copy: the encoder pool's finished file goes through the same
//! journaled temporary-name write as a copy (J3, J4), tagged by the device like a copy.

use super::engine::{Run, SyncEngine};
use super::plan::{Conversion, SyncOp, device_metadata};
use crate::error::{Error, Result};
use crate::library::{Library, TrackId};
use crate::transcode::{EncodePool, Job, converted_identity};

impl SyncEngine {
    /// Writes the conversion of `track` (waiting for the pool) under its temporary name and
    /// records, for the ledger, the converted identity ([`converted_identity`]).
    pub(super) fn apply_conversion(
        &self,
        run: &mut Run,
        library: &dyn Library,
        op: &SyncOp,
        track: TrackId,
        c: &Conversion,
        base: u64,
    ) -> Result<()> {
        let t = library.track(track).ok_or(Error::FileNotFound)?;
        // No transcoder for this sync: the conversion is an item error.
        let pool = run
            .encodes
            .as_ref()
            .ok_or_else(|| Error::NotSupported.context("converting: the sync has no transcoder"))?;
        let encoded = pool.wait(track, &self.shared.stop)?;
        run.summary.transcode.reused += u32::from(encoded.reused);
        run.summary.transcode.encode_time += encoded.encode_time;
        // The encoded file carries the cover art; the tags are written here, as for a
        // copy, so a tag edit never needs a new encode.
        let mut file = std::fs::File::open(&encoded.path)?;
        let metadata = device_metadata(t);
        self.write_temp(
            run,
            op,
            &mut file,
            encoded.size,
            Some(metadata),
            base,
            |_| true,
        )?;
        let Some(mut p) = run.batch.pop() else {
            return Err(Error::Fail);
        };
        p.set_source(
            converted_identity(encoded.source, &c.target),
            t.size,
            t.rating.value(),
            t.play_count,
        );
        run.batch.push(p);
        Ok(())
    }
}

/// Starts the encoder pool on the plan's conversions, in plan order, when the sync has a
/// transcoder and the plan converts anything. Called once per run (it takes the transcoder).
pub(super) fn start_encodes(run: &mut Run, library: &dyn Library) {
    let Some(with) = run.transcoding.take() else {
        return;
    };
    let jobs: Vec<Job> = run
        .plan
        .ops
        .get(run.cursor..)
        .unwrap_or_default()
        .iter()
        .filter_map(|op| match op {
            SyncOp::Copy {
                track,
                hash,
                convert: Some(c),
                ..
            } => {
                let t = library.track(*track)?;
                Some(Job {
                    track: *track,
                    source: t.path.clone(),
                    target: c.target,
                    duration: t.duration,
                    expected: *hash,
                })
            }
            _ => None,
        })
        .collect();
    if !jobs.is_empty() {
        run.encodes = Some(EncodePool::start(with, jobs));
    }
}
