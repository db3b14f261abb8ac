//! [`PlaylistBytes`]: a playlist file's bytes inside a plan, with a `Debug` that stays short.

use crate::library::ContentHash;

/// A playlist file's bytes, as [`SyncOp::WritePlaylist`](super::SyncOp::WritePlaylist)
/// carries them. It dereferences to `[u8]`; its `Debug` shows the length and the first 8 hex
/// digits of the bytes' SHA-1 instead of the bytes, so a logged plan stays readable whatever
/// the playlist's size.
#[derive(Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(transparent))]
pub struct PlaylistBytes(pub Vec<u8>);

impl PlaylistBytes {
    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }

    /// The bytes, owned.
    pub fn into_vec(self) -> Vec<u8> {
        self.0
    }
}

impl From<Vec<u8>> for PlaylistBytes {
    fn from(bytes: Vec<u8>) -> Self {
        PlaylistBytes(bytes)
    }
}

impl std::ops::Deref for PlaylistBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<[u8]> for PlaylistBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for PlaylistBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A prefix of the SHA-1 (the hash the ledger keeps for the file) tells two versions of
        // a playlist apart in a log without printing them.
        let hash = ContentHash::of_bytes(&self.0).to_string();
        write!(
            f,
            "PlaylistBytes {{ len: {}, sha1: {} }}",
            self.0.len(),
            hash.get(..8).unwrap_or(&hash)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::PlaylistId;
    use crate::sync::SyncOp;

    #[test]
    fn debug_of_a_large_playlist_op_is_short() {
        let bytes = vec![b'#'; 1 << 20];
        let hash = ContentHash::of_bytes(&bytes).to_string();
        let op = SyncOp::WritePlaylist {
            playlist: PlaylistId(7),
            name: "Road".into(),
            path: "Playlists/Road.m3u8".into(),
            meta: 1,
            content: bytes.into(),
            replaces: None,
            tracks: Vec::new(),
        };
        let text = format!("{op:?}");
        assert!(text.len() < 300, "{} bytes: {text}", text.len());
        assert!(text.contains("Playlists/Road.m3u8"), "{text}");
        assert!(text.contains("len: 1048576"), "{text}");
        assert!(text.contains(&hash[..8]), "{text}");
        // The pretty form is as short: the bytes are one line, not a million.
        assert!(format!("{op:#?}").lines().count() < 20);
    }

    #[test]
    fn derefs_to_the_bytes() {
        let b = PlaylistBytes::from(b"#EXTM3U\n".to_vec());
        assert_eq!(b.len(), 8);
        assert_eq!(&b[..], b"#EXTM3U\n");
        assert_eq!(b.as_slice(), b.as_ref());
        assert_eq!(b.into_vec(), b"#EXTM3U\n".to_vec());
        assert_eq!(
            format!("{:?}", PlaylistBytes::default()),
            "PlaylistBytes { len: 0, sha1: da39a3ee }"
        );
    }
}
