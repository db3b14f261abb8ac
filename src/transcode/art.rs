//! Tags after encoding: the encoder writes audio only; the crate gives the encoded file a
//! tag of its format carrying the source's embedded pictures (cover art). Text tags are
//! written when the file is put on the device, by the same path as a copy's
//! (`InsertOptions::metadata`), so a tag edit never needs a new encode.

use std::path::Path;

use lofty::config::WriteOptions;
use lofty::prelude::{TagExt, TaggedFileExt};
use lofty::tag::Tag;

use crate::error::{Error, Result};

/// Gives `out` (an encoded file) a tag of its format with the pictures embedded in `source`.
/// Returns how many pictures it carries. A source lofty cannot read has no pictures.
///
/// # Errors
/// [`Error::ProcessFailed`] when `out` cannot be read or written as audio with tags.
pub(super) fn keep_cover_art(source: &Path, out: &Path) -> Result<usize> {
    let mut pictures = Vec::new();
    if let Ok(src) = lofty::read_from_path(source) {
        for tag in src.tags() {
            for p in tag.pictures() {
                if !pictures
                    .iter()
                    .any(|q: &lofty::picture::Picture| q.data() == p.data())
                {
                    pictures.push(p.clone());
                }
            }
        }
    }
    let mut file = std::fs::File::open(out)?;
    let mut tagged = lofty::read_from(&mut file).map_err(|e| {
        tracing::warn!(path = %out.display(), error = %e, "cannot read the encoded file's tags");
        Error::ProcessFailed
    })?;
    drop(file);
    let tag_type = tagged.primary_tag_type();
    if tagged.primary_tag().is_none() {
        tagged.insert_tag(Tag::new(tag_type));
    }
    let tag = tagged.primary_tag_mut().ok_or(Error::ProcessFailed)?;
    let n = pictures.len();
    for p in pictures {
        tag.push_picture(p);
    }
    tag.save_to_path(out, WriteOptions::default()).map_err(|e| {
        tracing::warn!(path = %out.display(), error = %e, "cannot write the encoded file's tag");
        Error::ProcessFailed
    })?;
    Ok(n)
}
