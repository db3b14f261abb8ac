//! Metadata: tags read and written with lofty, and the per-object sidecar for the rest.

use std::fs;
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use lofty::config::{ParseOptions, WriteOptions};
use lofty::file::TaggedFile;
use lofty::prelude::{Accessor, AudioFile, ItemKey, TagExt, TaggedFileExt};
use lofty::probe::Probe;
use lofty::tag::Tag;

use crate::error::{Error, Result, Status};
use crate::metadata::{FormatCode, Metadata, tags};
use crate::time::WmdmDateTime;

use super::quirks::FsQuirks;
use super::shared::Shared;
use super::storage::FsStorage;

/// Properties the file system or the stream decide; SetMetadata cannot change them.
const DERIVED: &[&str] = &[
    tags::FILE_NAME,
    tags::FILE_SIZE,
    tags::LAST_MODIFIED_DATE,
    tags::FILE_CREATION_DATE,
    tags::FORMAT_CODE,
    tags::PERSISTENT_UNIQUE_ID,
    tags::FILE_ATTRIBUTES,
];

/// Stream properties: derived for files lofty can read, sidecar otherwise.
const STREAM: &[&str] = &[
    tags::DURATION,
    tags::BITRATE,
    tags::SAMPLE_RATE,
    tags::NUM_CHANNELS,
];

/// Properties written into the file's own tags where the format allows.
const TAGGABLE: &[&str] = &[
    tags::TITLE,
    tags::AUTHOR,
    tags::ALBUM_TITLE,
    tags::ALBUM_ARTIST,
    tags::GENRE,
    tags::TRACK,
    tags::YEAR,
    tags::COMPOSER,
];

fn sidecar_path(shared: &Shared, id: u64) -> PathBuf {
    shared.state_dir().join("meta").join(format!("{id:x}.wmdm"))
}

fn read_sidecar(shared: &Shared, id: u64) -> Metadata {
    match fs::read(sidecar_path(shared, id)) {
        Ok(bytes) => Metadata::from_bytes(&bytes).unwrap_or_else(|e| {
            tracing::warn!(?e, id, "damaged metadata sidecar ignored");
            Metadata::new()
        }),
        Err(_) => Metadata::new(),
    }
}

fn write_sidecar(shared: &Shared, id: u64, m: &Metadata) -> Result<()> {
    if !shared.writable_state {
        return Err(Error::WriteProtected);
    }
    let path = sidecar_path(shared, id);
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    shared.io.write_state(&path, &m.to_bytes())
}

/// Removes an object's sidecar, if any.
pub(crate) fn remove_sidecar(shared: &Shared, id: u64) {
    let _ = fs::remove_file(sidecar_path(shared, id));
}

/// What lofty reads from an audio file, as WMDM properties.
fn read_tags(path: &Path) -> Option<Metadata> {
    read_tags_with(lofty::read_from_path(path).ok()?)
}

/// How the tags to compare with a metadata change are read: the tags alone. The stream's
/// properties (duration, bit rate...) are not compared, and finding them makes lofty walk
/// the audio data: most of the reads and seeks of a large file.
fn tags_only() -> ParseOptions {
    ParseOptions::new().read_properties(false)
}

/// [`read_tags`] for comparing (see [`tags_only`]): the stream properties read as zero.
fn read_tags_only(path: &Path) -> Option<Metadata> {
    read_tags_with(Probe::open(path).ok()?.options(tags_only()).read().ok()?)
}

/// The WMDM properties of a file lofty has read.
fn read_tags_with(tagged: TaggedFile) -> Option<Metadata> {
    let mut m = Metadata::new();
    if let Some(tag) = tagged.primary_tag().or_else(|| tagged.first_tag()) {
        let mut text = |name: &str, v: Option<String>| {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                m.add(name, v);
            }
        };
        text(tags::TITLE, tag.title().map(|s| s.into_owned()));
        text(tags::AUTHOR, tag.artist().map(|s| s.into_owned()));
        text(tags::ALBUM_TITLE, tag.album().map(|s| s.into_owned()));
        text(
            tags::ALBUM_ARTIST,
            tag.get_string(&ItemKey::AlbumArtist).map(str::to_string),
        );
        text(tags::GENRE, tag.genre().map(|s| s.into_owned()));
        text(
            tags::COMPOSER,
            tag.get_string(&ItemKey::Composer).map(str::to_string),
        );
        text(tags::YEAR, tag.year().map(|y| y.to_string()));
        if let Some(t) = tag.track() {
            m.add(tags::TRACK, t);
        }
    }
    let p = tagged.properties();
    let hundred_ns = u64::try_from(p.duration().as_nanos() / 100).unwrap_or(u64::MAX);
    m.add(tags::DURATION, hundred_ns);
    if let Some(kbps) = p.audio_bitrate().or(p.overall_bitrate()) {
        m.add(tags::BITRATE, kbps.saturating_mul(1000));
    }
    if let Some(hz) = p.sample_rate() {
        m.add(tags::SAMPLE_RATE, hz);
    }
    if let Some(ch) = p.channels() {
        m.add(tags::NUM_CHANNELS, u32::from(ch));
    }
    Some(m)
}

/// [`read_tags_only`] for a file whose name does not tell its format: lofty guesses from the
/// content. `None` for anything lofty cannot read.
///
/// A small file (most tracks' tag and header blocks are a fraction of it) is read in one call
/// and parsed from memory: lofty's many small seeks and reads would otherwise each be a
/// system call.
fn read_tags_by_content(path: &Path, size: u64) -> Option<Metadata> {
    let mut file = fs::File::open(path).ok()?;
    if size <= WHOLE_READ_LIMIT {
        // `size` is the object's `lstat` (a file that grew meanwhile is read up to the limit);
        // reading through `take` skips the standard library's own `fstat` for a size hint.
        let mut bytes = Vec::with_capacity(usize::try_from(size).ok()?.saturating_add(1));
        std::io::Read::read_to_end(
            &mut std::io::Read::take(&mut file, WHOLE_READ_LIMIT),
            &mut bytes,
        )
        .ok()?;
        return read_tags_of(&bytes, None);
    }
    let probe = Probe::new(std::io::BufReader::new(file))
        .options(tags_only())
        .guess_file_type()
        .ok()?;
    probe.file_type()?;
    read_tags_with(probe.read().ok()?)
}

/// Files up to this size are read whole to find their tags.
const WHOLE_READ_LIMIT: u64 = 1 << 20;

/// True when the tags `current` read from a file already say `value` for `name`: an empty
/// text is what a missing tag reads as.
fn holds(current: &Metadata, name: &str, value: &crate::metadata::TagValue) -> bool {
    match (current.get(name), value.as_str()) {
        (Some(have), _) => have == value,
        (None, Some(text)) => text.is_empty(),
        (None, None) => false,
    }
}

fn audio_path(storage: &FsStorage) -> Result<Option<PathBuf>> {
    if storage.is_pending() || !storage.format()?.is_audio() {
        return Ok(None);
    }
    Ok(Some(storage.path()?))
}

/// IMDSPStorage3::GetMetadata.
pub(crate) fn get_metadata(storage: &FsStorage) -> Result<Metadata> {
    let snap = storage.snap()?;
    let shared = storage.shared();
    let mut m = read_sidecar(shared, storage.id());
    if let Some(path) = audio_path(storage)?
        && let Some(t) = read_tags(&path)
    {
        m.merge(&t);
    }
    m.add(tags::FILE_NAME, crate::provider::Storage::name(storage)?);
    m.add(tags::FILE_SIZE, snap.size);
    m.add(
        tags::LAST_MODIFIED_DATE,
        WmdmDateTime::from_system_time(snap.modified.unwrap_or_else(SystemTime::now)),
    );
    m.add(tags::FORMAT_CODE, storage.format()?);
    m.add(tags::PERSISTENT_UNIQUE_ID, shared.unique_id(storage.id()));
    Ok(m)
}

/// The play length in milliseconds.
pub(crate) fn duration_ms(storage: &FsStorage) -> Result<u32> {
    let path = audio_path(storage)?.ok_or(Error::NotSupported)?;
    let m = read_tags(&path).ok_or(Error::NotSupported)?;
    let d = m.get_u64(tags::DURATION).ok_or(Error::NotSupported)?;
    Ok(u32::try_from(d / 10_000).unwrap_or(u32::MAX))
}

/// Sets `fields` in the primary tag of `tagged` (creating the tag if the file has none).
fn apply_fields(tagged: &mut TaggedFile, fields: &Metadata) -> Result<()> {
    if tagged.primary_tag().is_none() {
        let kind = tagged.primary_tag_type();
        tagged.insert_tag(Tag::new(kind));
    }
    let tag = tagged.primary_tag_mut().ok_or(Error::NotSupported)?;
    for (name, value) in fields.iter() {
        let text = value.as_str().map(str::to_string);
        match (name, text) {
            (tags::TITLE, Some(s)) => tag.set_title(s),
            (tags::AUTHOR, Some(s)) => tag.set_artist(s),
            (tags::ALBUM_TITLE, Some(s)) => tag.set_album(s),
            (tags::GENRE, Some(s)) => tag.set_genre(s),
            (tags::ALBUM_ARTIST, Some(s)) => {
                tag.insert_text(ItemKey::AlbumArtist, s);
            }
            (tags::COMPOSER, Some(s)) => {
                tag.insert_text(ItemKey::Composer, s);
            }
            (tags::YEAR, Some(s)) => match s.trim().parse::<u32>() {
                Ok(y) => tag.set_year(y),
                Err(_) => {
                    tag.insert_text(ItemKey::Year, s);
                }
            },
            (tags::TRACK, _) => {
                let n = value.as_u32().ok_or(Error::InvalidArg)?;
                tag.set_track(n);
            }
            _ => return Err(Error::InvalidArg),
        }
    }
    Ok(())
}

/// A tag write that failed: because the file system refused to write into the existing
/// copy (the quirk), or for any other reason.
enum TagFailure {
    Refused(std::io::Error),
    Other(Error),
}

impl From<Error> for TagFailure {
    fn from(e: Error) -> Self {
        TagFailure::Other(e)
    }
}

impl From<std::io::Error> for TagFailure {
    fn from(e: std::io::Error) -> Self {
        TagFailure::Other(e.into())
    }
}

/// The ordinary way: the kernel copies the file to `tmp` and lofty rewrites the tags of the
/// copy in place.
fn tag_in_place(
    shared: &Shared,
    path: &Path,
    tmp: &Path,
    fields: &Metadata,
) -> Result<(), TagFailure> {
    fs::copy(path, tmp)?;
    if let Err(e) = shared.io.simulate(FsQuirks::NO_WRITE_EXISTING) {
        return Err(TagFailure::Refused(e));
    }
    // The temporary name has no telling extension, so the format is guessed from content.
    let mut tagged =
        lofty::read_from(&mut fs::File::open(tmp)?).map_err(|_| Error::NotSupported)?;
    apply_fields(&mut tagged, fields)?;
    let tag = tagged.primary_tag().ok_or(Error::NotSupported)?;
    match tag.save_to_path(tmp, WriteOptions::default()) {
        Ok(()) => {}
        Err(e) => match e.kind() {
            lofty::error::ErrorKind::Io(io) if crate::sys::fsops::is_refusal(io) => {
                return Err(TagFailure::Refused(std::io::Error::new(
                    io.kind(),
                    io.to_string(),
                )));
            }
            _ => return Err(TagFailure::Other(Error::NotSupported)),
        },
    }
    if shared.io.barrier.per_operation() {
        fs::File::open(tmp)?.sync_all()?;
    }
    Ok(())
}

/// Files larger than this are not tagged through memory: their changes go to the sidecar.
const IN_MEMORY_LIMIT: u64 = 512 << 20;

/// The way for file systems that refuse writes into existing files: the new copy is built in
/// memory and written to `tmp` whole, by the handle that creates it.
fn tag_new_copy(shared: &Shared, path: &Path, tmp: &Path, fields: &Metadata) -> Result<()> {
    if fs::metadata(path)?.len() > IN_MEMORY_LIMIT {
        return Err(Error::NotSupported);
    }
    let mut data = std::io::Cursor::new(fs::read(path)?);
    let mut tagged = Probe::new(&mut data)
        .guess_file_type()?
        .read()
        .map_err(|_| Error::NotSupported)?;
    apply_fields(&mut tagged, fields)?;
    let tag = tagged.primary_tag().ok_or(Error::NotSupported)?;
    data.rewind()?;
    tag.save_to(&mut data, WriteOptions::default())
        .map_err(|_| Error::NotSupported)?;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(tmp)?;
    f.write_all(data.get_ref())?;
    if shared.io.barrier.per_operation() {
        f.sync_all()?;
    }
    Ok(())
}

/// Writes `fields` into a new copy of the file and puts the copy in its place
/// ([`FsIo::publish`](super::quirks::FsIo::publish)).
fn write_tags(shared: &Shared, path: &Path, fields: &Metadata, fresh: bool) -> Result<()> {
    let dir = path.parent().ok_or(Error::InvalidArg)?;
    let tmp = shared.temp_path(dir)?;
    shared.lock().active_temps.insert(tmp.clone());
    let result = (|| -> Result<()> {
        if shared.io.has(FsQuirks::NO_WRITE_EXISTING) {
            tag_new_copy(shared, path, &tmp, fields)?;
        } else {
            match tag_in_place(shared, path, &tmp, fields) {
                Ok(()) => {}
                Err(TagFailure::Refused(e)) => {
                    shared.io.learn(FsQuirks::NO_WRITE_EXISTING, &e);
                    let _ = fs::remove_file(&tmp);
                    tag_new_copy(shared, path, &tmp, fields)?;
                }
                Err(TagFailure::Other(e)) => return Err(e),
            }
        }
        let old = fs::metadata(path)?.len();
        let new = fs::metadata(&tmp)?.len();
        if new > old {
            shared.check_quota(new - old)?;
        }
        let old_date = fs::symlink_metadata(path).and_then(|m| m.modified()).ok();
        shared.io.publish(&tmp, path)?;
        Shared::adjust_used(&mut shared.lock(), new, old);
        // The new copy is dated now; on FAT that may read back as the old date. A new object's
        // earlier date was never seen by anyone, and a date ahead of the clock would make
        // whoever records it (the sync's statistics baseline) take it for a later change.
        let date = changed_date(old_date);
        if !fresh
            && date > SystemTime::now()
            && let Err(e) = fs::File::open(path).and_then(|f| f.set_modified(date))
        {
            tracing::debug!(?e, "retagged file not dated past the old date");
        }
        shared.io.barrier.published(path);
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    shared.lock().active_temps.remove(&tmp);
    shared.bump();
    result
}

/// The step of FAT's modification times: a date less than this after the old one may read
/// back as the old one.
const COARSE_STEP: Duration = Duration::from_secs(2);

/// A modification date that reads back as a change after `old` on every file system: now, or
/// where now is less than FAT's 2-second step after `old`, `old` plus that step. A host that
/// remembers each object's date and size must see a metadata change even when the size stays
/// the same (tags rewritten into their padding) and the change comes right after the write.
fn changed_date(old: Option<SystemTime>) -> SystemTime {
    let now = SystemTime::now();
    match old.and_then(|o| o.checked_add(COARSE_STEP)) {
        Some(step) if now < step => step,
        _ => now,
    }
}

/// Dates the object now after a sidecar-only change: the sidecar is part of the object, and
/// a host that remembers each object's date and size (sync's stats flow-back) must see the
/// change. A failure only costs that host a missed shortcut, so it is logged, not returned.
fn touch(shared: &Shared, path: &Path) {
    let old = fs::symlink_metadata(path).and_then(|m| m.modified()).ok();
    let result = fs::File::open(path).and_then(|f| f.set_modified(changed_date(old)));
    if let Err(e) = result {
        tracing::warn!(?e, path = %path.display(), "object not dated after a metadata change");
    }
    shared.bump();
}

/// The tags of a file's bytes held in memory ([`tags_only`]). The format is the one `named`'s
/// extension says, as [`read_tags`] takes it; without a name it is guessed from the content, as
/// [`read_tags_by_content`] guesses it. `None` for anything lofty cannot read.
fn read_tags_of(bytes: &[u8], named: Option<&Path>) -> Option<Metadata> {
    let probe = Probe::new(std::io::Cursor::new(bytes)).options(tags_only());
    let probe = match named {
        Some(path) => probe.set_file_type(lofty::file::FileType::from_path(path)?),
        None => probe.guess_file_type().ok()?,
    };
    probe.file_type()?;
    read_tags_with(probe.read().ok()?)
}

/// Where [`set_metadata`] puts each item of `metadata`, given the tags the file holds now
/// (`None`: none lofty can read): the items for the file's tags (those it does not hold
/// already), those for the sidecar, and how many are dropped (derived, or the stream's own).
fn route(metadata: &Metadata, current: Option<&Metadata>) -> (Metadata, Metadata, usize) {
    let readable = current.is_some();
    let mut dropped = 0usize;
    let mut for_file = Metadata::new();
    let mut for_sidecar = Metadata::new();
    for (name, value) in metadata.iter() {
        let typed_ok = match tags::expected_type(name) {
            Some(ty) => ty == value.data_type(),
            None => true,
        };
        if DERIVED.contains(&name) || (readable && STREAM.contains(&name)) || !typed_ok {
            dropped += 1;
        } else if readable && TAGGABLE.contains(&name) {
            if !current.is_some_and(|t| holds(t, name, value)) {
                for_file.add(name, value.clone());
            }
        } else {
            for_sidecar.add(name, value.clone());
        }
    }
    (for_file, for_sidecar, dropped)
}

/// [`Storage::content_holds_metadata`](crate::provider::Storage::content_holds_metadata):
/// whether [`set_metadata`] on a new file named `name` holding `content` would write nothing
/// (the tags `content` holds already have every item it would write into the file, and none
/// goes to the sidecar). Typed by the name's extension as the file would be, or by the bytes.
pub(crate) fn content_holds(name: &str, content: &[u8], metadata: &Metadata) -> bool {
    let current = if FormatCode::from_file_name(name).is_audio() {
        read_tags_of(content, Some(Path::new(name)))
    } else {
        read_tags_of(content, None)
    };
    let (for_file, for_sidecar, _) = route(metadata, current.as_ref());
    for_file.is_empty() && for_sidecar.is_empty()
}

/// IMDSPStorage3::SetMetadata: tags into the file where its format allows, the rest into the
/// sidecar, derived properties dropped.
///
/// `written` is the file's whole content when the caller has it in memory (a write session
/// that has just written it): its tags are read from there rather than from the file, if it
/// is as long as the file is now. `fresh`: the metadata comes with the object's creation
/// (nobody has seen the object without it), so its date is not moved past the old one as a
/// change's is (see `changed_date`).
pub(crate) fn set_metadata(
    storage: &FsStorage,
    metadata: &Metadata,
    written: Option<&[u8]>,
    fresh: bool,
) -> Result<Status> {
    storage.shared().check_write()?;
    let shared = storage.shared();
    if storage.is_pending() {
        let mut inner = shared.lock();
        inner
            .pending_meta
            .entry(storage.id())
            .or_default()
            .merge(metadata);
        return Ok(Status::Ok);
    }
    // The path check's `lstat` is the snapshot (`FsStorage::path` keeps it).
    let path = storage.path()?;
    let snap = storage.snap()?;
    if snap.readonly {
        return Err(Error::AccessDenied);
    }
    // A file being written under a temporary name (a sync's `NAME.mp3.part`) has no telling
    // extension: its content says whether it is audio lofty can tag. What the file's tags
    // already hold is not written again (a copied track comes with the tags it is given).
    let written = written.filter(|w| w.len() as u64 == snap.size);
    let is_audio = !snap.is_dir && storage.format()?.is_audio();
    let (audio, current) = match is_audio.then(|| path.clone()) {
        Some(p) => {
            let t = match written {
                Some(w) => read_tags_of(w, Some(&p)),
                None => read_tags_only(&p),
            };
            (Some(p), t)
        }
        None => {
            let p = path;
            let t = match written {
                Some(w) => read_tags_of(w, None),
                None => read_tags_by_content(&p, snap.size),
            };
            match t {
                Some(t) => (Some(p), Some(t)),
                None => (None, None),
            }
        }
    };
    let (for_file, mut for_sidecar, dropped) = route(metadata, current.as_ref());
    if let (Some(path), false) = (audio.as_deref(), for_file.is_empty())
        && let Err(e) = write_tags(shared, path, &for_file, fresh)
    {
        if e == Error::DiskFull {
            return Err(e);
        }
        tracing::debug!(?e, "tags not writable into the file; using the sidecar");
        for_sidecar.merge(&for_file);
    }
    if !for_sidecar.is_empty() {
        let mut side = read_sidecar(shared, storage.id());
        side.merge(&for_sidecar);
        write_sidecar(shared, storage.id(), &side)?;
        if !fresh {
            touch(shared, &storage.path()?);
        }
    }
    let applied = metadata.len() - dropped;
    match (applied, dropped) {
        (_, 0) => Ok(Status::Ok),
        (0, _) => Err(Error::NotSupported),
        _ => Ok(Status::NotAllPropertiesApplied),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_date_is_at_least_one_fat_step_later() {
        let now = SystemTime::now();
        assert!(changed_date(Some(now)) >= now + COARSE_STEP);
        let long_ago = now - Duration::from_secs(3600);
        let d = changed_date(Some(long_ago));
        assert!(d >= now && d < now + COARSE_STEP);
        assert!(changed_date(None) >= now);
    }

    #[test]
    fn tag_lists_do_not_overlap() {
        for t in TAGGABLE {
            assert!(!DERIVED.contains(t) && !STREAM.contains(t));
        }
    }
}
