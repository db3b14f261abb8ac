//! One object of a simulated medium, and the naming rules every object obeys.

use crate::error::Result;
use crate::flags::Attributes;
use crate::metadata::{FormatCode, Metadata, TagValue, tags};
use crate::provider::names::NameRule;
use crate::provider::{VideoFormat, WaveFormat};
use crate::time::WmdmDateTime;

/// A node's key in its tree's arena. Keys are never reused, so a handle to a deleted node can
/// never start pointing at a newer one.
pub(super) type NodeId = u64;

/// A node anywhere on the device: which storage, which node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct ObjRef {
    pub(super) storage: usize,
    pub(super) node: NodeId,
}

/// Metadata the device computes itself; callers cannot store these.
const SYNTHESISED_ONLY: &[&str] = &[tags::FILE_NAME, tags::FILE_SIZE, tags::PERSISTENT_UNIQUE_ID];

/// The name rule of the simulated medium: FAT/exFAT's, the file system most players use, so
/// siblings that differ only in case collide and a name FAT refuses is refused. It is the
/// planner's default rule, and the device reports it (and [`MAX_COMPONENT`]) as its
/// [`NAME_RULE`](crate::metadata::device::NAME_RULE) and
/// [`NAME_MAX`](crate::metadata::device::NAME_MAX) properties, so a plan for this device names
/// only files it accepts.
///
/// [`MAX_COMPONENT`]: crate::provider::names::MAX_COMPONENT
pub(super) const RULE: NameRule = NameRule::Fat;

/// Checks one path component.
///
/// # Errors
/// [`Error::InvalidName`](crate::Error::InvalidName) when [`RULE`] refuses the name (see [`NameRule::problem`]).
pub(super) fn validate_name(name: &str) -> Result<()> {
    RULE.check(name)
}

/// True when two sibling names collide under [`RULE`].
pub(super) fn same_name(a: &str, b: &str) -> bool {
    RULE.same_name(a, b)
}

/// File or folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    File,
    Folder,
}

/// IMDSPObjectInfo state, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct PlayState {
    pub(super) length: Option<u32>,
    pub(super) offset: u32,
    pub(super) last: u32,
    pub(super) longest: u32,
}

/// One file, folder or abstract object.
#[derive(Clone, Debug)]
pub(super) struct Node {
    pub(super) name: String,
    pub(super) parent: Option<NodeId>,
    pub(super) children: Vec<NodeId>,
    pub(super) kind: Kind,
    /// The attribute bits callers set (READONLY, HIDDEN, ...); the rest are computed.
    pub(super) flags: Attributes,
    pub(super) attributes_ex: u32,
    pub(super) audio: Option<WaveFormat>,
    pub(super) video: Option<VideoFormat>,
    pub(super) created: WmdmDateTime,
    pub(super) modified: WmdmDateTime,
    pub(super) data: Vec<u8>,
    /// What callers stored through create or set_metadata.
    pub(super) metadata: Metadata,
    pub(super) references: Vec<ObjRef>,
    pub(super) uid: String,
    pub(super) play: PlayState,
    pub(super) readers: u32,
    pub(super) writer: bool,
}

impl Node {
    pub(super) fn new(name: String, kind: Kind, uid: String, now: WmdmDateTime) -> Node {
        Node {
            name,
            parent: None,
            children: Vec::new(),
            kind,
            flags: Attributes::empty(),
            attributes_ex: 0,
            audio: None,
            video: None,
            created: now,
            modified: now,
            data: Vec::new(),
            metadata: Metadata::new(),
            references: Vec::new(),
            uid,
            play: PlayState::default(),
            readers: 0,
            writer: false,
        }
    }

    pub(super) fn is_folder(&self) -> bool {
        self.kind == Kind::Folder
    }

    pub(super) fn is_open(&self) -> bool {
        self.readers > 0 || self.writer
    }

    pub(super) fn is_read_only(&self) -> bool {
        self.flags.contains(Attributes::READONLY)
    }

    /// The stored `WMDM/FormatCode`, else one derived from the kind and the extension, so a
    /// rename from `.txt` to `.mp3` changes what an untagged file is.
    pub(super) fn format(&self) -> FormatCode {
        match self.metadata.get_u32(tags::FORMAT_CODE) {
            Some(code) => FormatCode(code),
            None if self.is_folder() => FormatCode::ASSOCIATION,
            None => FormatCode::from_file_name(&self.name),
        }
    }

    /// True for abstract objects (playlists, albums), the only ones that hold references.
    pub(super) fn holds_references(&self) -> bool {
        let f = self.format();
        !self.is_folder() && (f.is_abstract() || f.is_playlist())
    }

    /// The attributes of a file or folder (not a medium's root, whose bits the device adds).
    pub(super) fn attributes(&self) -> Attributes {
        let mut a = self.flags;
        match self.kind {
            Kind::Folder => a |= Attributes::FOLDER,
            Kind::File => {
                a |= Attributes::FILE | Attributes::CANREAD;
                let f = self.format();
                if f.is_audio() {
                    a |= Attributes::AUDIO | Attributes::MUSIC | Attributes::CANPLAY;
                } else if f.is_video() {
                    a |= Attributes::VIDEO | Attributes::CANPLAY;
                }
            }
        }
        a |= Attributes::CANRENAME | Attributes::CANMOVE;
        if !self.is_read_only() {
            a |= Attributes::CANDELETE;
        }
        a
    }

    /// The caller's metadata merged with what the device knows itself.
    pub(super) fn metadata(&self) -> Metadata {
        let mut m = Metadata::new();
        m.add(tags::FORMAT_CODE, self.format().0);
        m.add(tags::FILE_NAME, self.name.as_str());
        if !self.is_folder() {
            m.add(tags::FILE_SIZE, self.data.len() as u64);
        }
        m.add(tags::LAST_MODIFIED_DATE, self.modified);
        m.add(tags::FILE_CREATION_DATE, self.created);
        m.add(tags::PERSISTENT_UNIQUE_ID, self.uid.as_str());
        for (name, value) in self.metadata.iter() {
            if name != tags::FORMAT_CODE {
                m.add(name, value.clone());
            }
        }
        m
    }

    /// Stores `metadata`; returns how many items were kept and how many dropped (names the
    /// device computes itself, dates that are not dates, format codes that are not numbers).
    pub(super) fn store_metadata(&mut self, metadata: &Metadata) -> (usize, usize) {
        let (mut kept, mut dropped) = (0, 0);
        for (name, value) in metadata.iter() {
            let ok = if SYNTHESISED_ONLY.contains(&name) {
                false
            } else if name == tags::LAST_MODIFIED_DATE || name == tags::FILE_CREATION_DATE {
                match value {
                    TagValue::Date(d) if name == tags::LAST_MODIFIED_DATE => {
                        self.modified = *d;
                        true
                    }
                    TagValue::Date(d) => {
                        self.created = *d;
                        true
                    }
                    _ => false,
                }
            } else if name == tags::FORMAT_CODE && value.as_u32().is_none() {
                false
            } else {
                self.metadata.add(name, value.clone());
                true
            };
            if ok {
                kept += 1;
            } else {
                dropped += 1;
            }
        }
        (kept, dropped)
    }
}

/// What to create.
#[derive(Clone, Debug)]
pub(super) struct NewObject {
    pub(super) name: String,
    pub(super) kind: Kind,
    pub(super) flags: Attributes,
    pub(super) attributes_ex: u32,
    pub(super) audio: Option<WaveFormat>,
    pub(super) video: Option<VideoFormat>,
    pub(super) metadata: Option<Metadata>,
    pub(super) size_hint: Option<u64>,
    pub(super) overwrite: bool,
}

impl NewObject {
    pub(super) fn plain(name: &str, kind: Kind) -> NewObject {
        NewObject {
            name: name.to_owned(),
            kind,
            flags: Attributes::empty(),
            attributes_ex: 0,
            audio: None,
            video: None,
            metadata: None,
            size_hint: None,
            overwrite: false,
        }
    }
}

/// The attribute bits a caller may set; the device computes the others.
pub(super) fn settable(flags: Attributes) -> Attributes {
    flags
        & (Attributes::READONLY
            | Attributes::HIDDEN
            | Attributes::SYSTEM
            | Attributes::AUDIOBOOK
            | Attributes::DATA
            | Attributes::LINK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn now() -> WmdmDateTime {
        WmdmDateTime::from_unix(1_767_225_600)
    }

    #[test]
    fn names_are_checked() {
        for bad in [
            "", ".", "..", "a/b", "a\\b", "a\0b", "a:b", "con.mp3", "...",
        ] {
            assert_eq!(validate_name(bad), Err(Error::InvalidName), "{bad:?}");
        }
        assert_eq!(validate_name(&"x".repeat(255)), Ok(()));
        assert_eq!(validate_name(&"x".repeat(256)), Err(Error::InvalidName));
        // 64 characters outside the BMP are 256 bytes.
        assert_eq!(validate_name(&"𝄞".repeat(64)), Err(Error::InvalidName));
        assert_eq!(validate_name(".wmdm-sync"), Ok(()));
        assert!(same_name("Song.MP3", "song.mp3"));
        assert!(same_name("ÄRGER", "ärger"));
        assert!(!same_name("a", "b"));
    }

    #[test]
    fn metadata_is_synthesised_and_stored() {
        let mut file = Node::new("a.mp3".into(), Kind::File, "S:0:1".into(), now());
        file.data = vec![0; 7];
        let node = &mut file;
        assert!(
            node.attributes()
                .contains(Attributes::AUDIO | Attributes::MUSIC)
        );
        let mut m = Metadata::new();
        m.add(tags::TITLE, "Song");
        m.add(tags::FILE_SIZE, 99u64);
        assert_eq!(
            node.store_metadata(&m),
            (1, 1),
            "FileSize is the device's to say"
        );
        let all = node.metadata();
        assert_eq!(all.get_u64(tags::FILE_SIZE), Some(7));
        assert_eq!(all.get_str(tags::TITLE), Some("Song"));
        assert_eq!(all.get_u32(tags::FORMAT_CODE), Some(FormatCode::MP3.0));
        assert!(!node.holds_references());
        let mut pl = Metadata::new();
        pl.add(
            tags::FORMAT_CODE,
            FormatCode::ABSTRACT_AUDIO_VIDEO_PLAYLIST.0,
        );
        assert_eq!(node.store_metadata(&pl), (1, 0));
        assert!(node.holds_references());
        assert!(!node.attributes().contains(Attributes::AUDIO));
    }
}
