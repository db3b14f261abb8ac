//! Tags after encoding: the encoder writes audio only; the crate gives the encoded file a
//! tag of its format carrying the source's embedded pictures (cover art). Text tags are
//! written when the file is put on the device, by the same path as a copy's
//! (`InsertOptions::metadata`), so a tag edit never needs a new encode.

use std::path::Path;

use lofty::config::WriteOptions;
use lofty::picture::Picture;
use lofty::prelude::{TagExt, TaggedFileExt};
use lofty::tag::Tag;

use crate::error::{Error, Result};

/// The pictures embedded in `source` (each once), and a digest of them (part of the cache
/// key, so new cover art is not served from an old encode). A source lofty cannot read has
/// none.
pub(super) fn pictures(source: &Path) -> (Vec<Picture>, [u8; 20]) {
    use sha1::Digest;
    let mut pictures: Vec<Picture> = Vec::new();
    if let Ok(src) = lofty::read_from_path(source) {
        for tag in src.tags() {
            for p in tag.pictures() {
                if !pictures.iter().any(|q| q.data() == p.data()) {
                    pictures.push(p.clone());
                }
            }
        }
    }
    let mut h = sha1::Sha1::new();
    for p in &pictures {
        h.update((p.data().len() as u64).to_le_bytes());
        h.update(p.data());
    }
    (pictures, h.finalize().into())
}

/// Gives `out` (an encoded file) a tag of its format with `pictures`. Returns how many it
/// carries.
///
/// # Errors
/// [`Error::ProcessFailed`] when `out` cannot be read or written as audio with tags.
pub(super) fn keep_cover_art(pictures: Vec<Picture>, out: &Path) -> Result<usize> {
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
