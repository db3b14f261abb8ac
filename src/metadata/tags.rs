//! Storage metadata tag names (`g_wszWMDM*` in `mswmdm.h`) and their documented types.
//!
//! Every name is `"WMDM/"` plus a suffix, except the Windows Portable Devices pass-through
//! property. The types are those of the WMDM "Metadata Constants" page (Microsoft's reference: <https://learn.microsoft.com/en-us/windows/win32/wmdm/metadata-constants>); a
//! device may still send another type, so readers should not trust them blindly.
//!
//! Two names need a note:
//! * `g_wszWMDMDRMId` ([`DRM_ID`]) is "reserved for future use" and has no documented type, so
//!   it is in [`UNTYPED`] rather than [`ALL`].
//! * `g_wszWMDBackReferences` (a reference to the container object, such as a playlist) is on
//!   the documentation page, but no header or binding defines its string, so it is left out
//!   rather than guessed.

use crate::flags::TagDataType;

/// Declares every tag constant and the [`ALL`] table from one list.
macro_rules! tag_table {
    ($(
        $(#[$meta:meta])*
        $name:ident = $value:literal, $ty:ident;
    )*) => {
        $(
            $(#[$meta])*
            pub const $name: &str = $value;
        )*

        /// Every typed tag name with its documented `WMDM_TAG_DATATYPE`, in header order.
        pub const ALL: &[(&str, TagDataType)] = &[$(($name, TagDataType::$ty)),*];
    };
}

tag_table! {
    /// `g_wszWMDMFileName` (STRING): the file name, as IWMDMStorage::GetName returns it.
    FILE_NAME = "WMDM/FileName", STRING;
    /// `g_wszWMDMFormatCode` (DWORD): the content format, a `WMDM_FORMATCODE`
    /// (see [`FormatCode`](super::FormatCode)).
    FORMAT_CODE = "WMDM/FormatCode", DWORD;
    /// `g_wszWMDMLastModifiedDate` (DATE): when the file last changed, as IWMDMStorage::GetDate.
    LAST_MODIFIED_DATE = "WMDM/LastModifiedDate", DATE;
    /// `g_wszWMDMFileCreationDate` (DATE): when the file was created.
    FILE_CREATION_DATE = "WMDM/FileCreationDate", DATE;
    /// `g_wszWMDMFileSize` (QWORD): the size in bytes, as IWMDMStorage::GetSize.
    FILE_SIZE = "WMDM/FileSize", QWORD;
    /// `g_wszWMDMFileAttributes` (QWORD): the file object's attributes.
    FILE_ATTRIBUTES = "WMDM/FileAttributes", QWORD;
    /// `g_wszAudioWAVECodec` (DWORD): the audio codec, a WAVE format tag.
    AUDIO_WAVE_CODEC = "WMDM/AudioWAVECodec", DWORD;
    /// `g_wszVideoFourCCCodec` (DWORD): the video codec, a FourCC.
    VIDEO_FOURCC_CODEC = "WMDM/VideoFourCCCodec", DWORD;
    /// `g_wszWMDMTitle` (STRING): the track title.
    TITLE = "WMDM/Title", STRING;
    /// `g_wszWMDMAuthor` (STRING): the content author, that is the artist.
    AUTHOR = "WMDM/Author", STRING;
    /// `g_wszWMDMDescription` (STRING): a TV series or photo description.
    DESCRIPTION = "WMDM/Description", STRING;
    /// `g_wszWMDMIsProtected` (BOOL): whether the content is DRM-protected.
    IS_PROTECTED = "WMDM/IsProtected", BOOL;
    /// `g_wszWMDMAlbumTitle` (STRING): the title of the track's album.
    ALBUM_TITLE = "WMDM/AlbumTitle", STRING;
    /// `g_wszWMDMAlbumArtist` (STRING): the artist of the track's album.
    ALBUM_ARTIST = "WMDM/AlbumArtist", STRING;
    /// `g_wszWMDMTrack` (DWORD): the track number. WMDM has no separate "TrackNumber" name.
    TRACK = "WMDM/Track", DWORD;
    /// `g_wszWMDMGenre` (STRING): the track's genre.
    GENRE = "WMDM/Genre", STRING;
    /// `g_wszWMDMTrackMood` (STRING): the track's mood.
    TRACK_MOOD = "WMDM/TrackMood", STRING;
    /// `g_wszWMDMAlbumCoverFormat` (DWORD): the album art's format.
    ALBUM_COVER_FORMAT = "WMDM/AlbumCoverFormat", DWORD;
    /// `g_wszWMDMAlbumCoverSize` (DWORD): the album art's size.
    ALBUM_COVER_SIZE = "WMDM/AlbumCoverSize", DWORD;
    /// `g_wszWMDMAlbumCoverHeight` (DWORD): the album art's height.
    ALBUM_COVER_HEIGHT = "WMDM/AlbumCoverHeight", DWORD;
    /// `g_wszWMDMAlbumCoverWidth` (DWORD): the album art's width.
    ALBUM_COVER_WIDTH = "WMDM/AlbumCoverWidth", DWORD;
    /// `g_wszWMDMAlbumCoverDuration` (DWORD): the album cover's duration.
    ALBUM_COVER_DURATION = "WMDM/AlbumCoverDuration", DWORD;
    /// `g_wszWMDMAlbumCoverData` (BINARY): the album art itself, JPEG bytes.
    ALBUM_COVER_DATA = "WMDM/AlbumCoverData", BINARY;
    /// `g_wszWMDMYear` (STRING): the year the album came out. A string, not a number.
    YEAR = "WMDM/Year", STRING;
    /// `g_wszWMDMComposer` (STRING): the composer.
    COMPOSER = "WMDM/Composer", STRING;
    /// `g_wszWMDMCodec` (DWORD): reserved by WMDM.
    CODEC = "WMDM/Codec", DWORD;
    /// `g_wszWMDMBitrate` (DWORD): the audio bit rate.
    BITRATE = "WMDM/Bitrate", DWORD;
    /// `g_wszWMDMBitRateType` (DWORD): the MTP bit-rate type (1 discrete, 2 variable, 3 free).
    /// The documentation misspells the constant `g_wszWMDMBitrateType`.
    BIT_RATE_TYPE = "WMDM/BitRateType", DWORD;
    /// `g_wszWMDMSampleRate` (DWORD): the sample rate.
    SAMPLE_RATE = "WMDM/SampleRate", DWORD;
    /// `g_wszWMDMNumChannels` (DWORD): the number of audio channels.
    NUM_CHANNELS = "WMDM/NumChannels", DWORD;
    /// `g_wszWMDMBlockAlignment` (DWORD): the audio block alignment.
    BLOCK_ALIGNMENT = "WMDM/BlockAlignment", DWORD;
    /// `g_wszWMDMAudioBitDepth` (DWORD): the audio bit depth.
    AUDIO_BIT_DEPTH = "WMDM/AudioBitDepth", DWORD;
    /// `g_wszWMDMTotalBitrate` (DWORD): the total bit rate.
    TOTAL_BITRATE = "WMDM/TotalBitrate", DWORD;
    /// `g_wszWMDMVideoBitrate` (DWORD): the video bit rate.
    VIDEO_BITRATE = "WMDM/VideoBitrate", DWORD;
    /// `g_wszWMDMFrameRate` (DWORD): the video frame rate.
    FRAME_RATE = "WMDM/FrameRate", DWORD;
    /// `g_wszWMDMScanType` (DWORD): the video scan type.
    SCAN_TYPE = "WMDM/ScanType", DWORD;
    /// `g_wszWMDMKeyFrameDistance` (DWORD): the distance between video key frames.
    KEY_FRAME_DISTANCE = "WMDM/KeyFrameDistance", DWORD;
    /// `g_wszWMDMBufferSize` (DWORD): the buffer size.
    BUFFER_SIZE = "WMDM/BufferSize", DWORD;
    /// `g_wszWMDMQualitySetting` (DWORD): the encoder quality setting.
    QUALITY_SETTING = "WMDM/QualitySetting", DWORD;
    /// `g_wszWMDMEncodingProfile` (STRING): the WMV9 encoding profiles a device supports.
    ENCODING_PROFILE = "WMDM/EncodingProfile", STRING;
    /// `g_wszWMDMDuration` (QWORD): the media duration in 100-nanosecond units.
    DURATION = "WMDM/Duration", QWORD;
    /// `g_wszWMDMAlbumArt` (BOOL): whether the device supports album art.
    ALBUM_ART = "WMDM/AlbumArt", BOOL;
    /// `g_wszWMDMBuyNow` (BOOL): whether the album can be bought (needed for album art).
    BUY_NOW = "WMDM/BuyNow", BOOL;
    /// `g_wszWMDMNonConsumable` (BOOL): whether the content is an opaque blob the device
    /// stores without needing to render it.
    NON_CONSUMABLE = "WMDM/NonConsumable", BOOL;
    /// `g_wszWMDMediaClassPrimaryID` (STRING): the primary media class (music, video,
    /// non-music audio, other). The header spells the constant without the second "M".
    MEDIA_CLASS_PRIMARY_ID = "WMDM/MediaClassPrimaryID", STRING;
    /// `g_wszWMDMMediaClassSecondaryID` (STRING): the secondary media class (audio book,
    /// music video, talk radio, ...).
    MEDIA_CLASS_SECONDARY_ID = "WMDM/MediaClassSecondaryID", STRING;
    /// `g_wszWMDMUserEffectiveRating` (DWORD): the rating computed from the user's and the
    /// service's ratings and the play count.
    USER_EFFECTIVE_RATING = "WMDM/UserEffectiveRating", DWORD;
    /// `g_wszWMDMUserRating` (DWORD): the rating the user set.
    USER_RATING = "WMDM/UserRating", DWORD;
    /// `g_wszWMDMUserRatingOnDevice` (DWORD): a rating the user changed on the device.
    USER_RATING_ON_DEVICE = "WMDM/UserRatingOnDevice", DWORD;
    /// `g_wszWMDMPlayCount` (DWORD): the total number of plays.
    PLAY_COUNT = "WMDM/PlayCount", DWORD;
    /// `g_wszWMDMDevicePlayCount` (DWORD): the number of plays on the device.
    DEVICE_PLAY_COUNT = "WMDM/DevicePlayCount", DWORD;
    /// `g_wszWMDMAuthorDate` (DATE): when the content was authored.
    AUTHOR_DATE = "WMDM/AuthorDate", DATE;
    /// `g_wszWMDMUserLastPlayTime` (DATE): when the content was last played or viewed.
    USER_LAST_PLAY_TIME = "WMDM/UserLastPlayTime", DATE;
    /// `g_wszWMDMSubTitle` (STRING): a TV episode title.
    SUB_TITLE = "WMDM/SubTitle", STRING;
    /// `g_wszWMDMSubTitleDescription` (STRING): a TV episode description.
    SUB_TITLE_DESCRIPTION = "WMDM/SubTitleDescription", STRING;
    /// `g_wszWMDMMediaCredits` (STRING): TV credits (actors, director, producers).
    MEDIA_CREDITS = "WMDM/MediaCredits", STRING;
    /// `g_wszWMDMMediaStationName` (STRING): the TV station's call letters or name.
    MEDIA_STATION_NAME = "WMDM/MediaStationName", STRING;
    /// `g_wszWMDMMediaOriginalChannel` (STRING): the channel an episode was recorded from.
    MEDIA_ORIGINAL_CHANNEL = "WMDM/MediaOriginalChannel", STRING;
    /// `g_wszWMDMMediaOriginalBroadcastDateTime` (DATE): when an episode first aired.
    MEDIA_ORIGINAL_BROADCAST_DATE_TIME = "WMDM/MediaOriginalBroadcastDateTime", DATE;
    /// `g_wszWMDMProviderCopyright` (STRING): the copyright holder.
    PROVIDER_COPYRIGHT = "WMDM/ProviderCopyright", STRING;
    /// `g_wszWMDMSyncID` (STRING): a GUID the application generates to track the item in sync.
    SYNC_ID = "WMDM/SyncID", STRING;
    /// `g_wszWMDMPersistentUniqueID` (STRING): an ID the device generates for the storage;
    /// IWMDMDevice3::FindStorage looks objects up by it.
    PERSISTENT_UNIQUE_ID = "WMDM/PersistentUniqueID", STRING;
    /// `g_wszWMDMWidth` (DWORD): the video or image width.
    WIDTH = "WMDM/Width", DWORD;
    /// `g_wszWMDMHeight` (DWORD): the video or image height.
    HEIGHT = "WMDM/Height", DWORD;
    /// `g_wszWMDMSyncTime` (DATE): the device's time stamp of when the item was copied.
    SYNC_TIME = "WMDM/SyncTime", DATE;
    /// `g_wszWMDMParentalRating` (STRING): the advisory rating.
    PARENTAL_RATING = "WMDM/ParentalRating", STRING;
    /// `g_wszWMDMMetaGenre` (STRING): a content type derived from the primary and secondary
    /// media class.
    META_GENRE = "WMDM/MetaGenre", STRING;
    /// `g_wszWMDMIsRepeat` (BOOL): true when this is not an episode's first airing.
    IS_REPEAT = "WMDM/IsRepeat", BOOL;
    /// `g_wszWMDMCollectionID` (STRING): reserved. The documentation lists it only as a device
    /// property of type `VT_BSTR`, whose storage counterpart is STRING.
    COLLECTION_ID = "WMDM/CollectionID", STRING;
    /// `g_wszWMDMOwner` (STRING): the e-mail address of the object's owner.
    OWNER = "WMDM/Owner", STRING;
    /// `g_wszWMDMEditor` (STRING): the e-mail address of the managing editor (RSS channels).
    EDITOR = "WMDM/Editor", STRING;
    /// `g_wszWMDMWebmaster` (STRING): the e-mail address of the webmaster.
    WEBMASTER = "WMDM/Webmaster", STRING;
    /// `g_wszWMDMSourceURL` (STRING): the object's source URL.
    SOURCE_URL = "WMDM/SourceURL", STRING;
    /// `g_wszWMDMDestinationURL` (STRING): the URL an object points to (media casts).
    DESTINATION_URL = "WMDM/DestinationURL", STRING;
    /// `g_wszWMDMCategory` (STRING): a free-text genre for a media item.
    CATEGORY = "WMDM/Category", STRING;
    /// `g_wszWMDMTimeBookmark` (QWORD): the last position played or viewed, in milliseconds.
    TIME_BOOKMARK = "WMDM/TimeBookmark", QWORD;
    /// `g_wszWMDMObjectBookmark` (STRING): the last position played or viewed in the object.
    /// The documentation gives the type as STRING even though it describes milliseconds.
    OBJECT_BOOKMARK = "WMDM/ObjectBookmark", STRING;
    /// `g_wszWMDMByteBookmark` (QWORD): the last position played or viewed, as a zero-based
    /// byte offset.
    BYTE_BOOKMARK = "WMDM/ByteBookmark", QWORD;
    /// `g_wszWMDMDataOffset` (QWORD): a zero-based offset into the referenced object.
    DATA_OFFSET = "WMDM/DataOffset", QWORD;
    /// `g_wszWMDMDataLength` (QWORD): the length of the referenced data.
    DATA_LENGTH = "WMDM/DataLength", QWORD;
    /// `g_wszWMDMDataUnits` (DWORD): the units of [`DATA_OFFSET`] and [`DATA_LENGTH`]; bytes
    /// when absent.
    DATA_UNITS = "WMDM/DataUnits", DWORD;
    /// `g_wszWMDMTimeToLive` (QWORD): minutes until the content is refreshed.
    TIME_TO_LIVE = "WMDM/TimeToLive", QWORD;
    /// `g_wszWMDMMediaGuid` (STRING): a globally unique identifier of the content, as text.
    MEDIA_GUID = "WMDM/MediaGuid", STRING;
    /// `g_wszWPDPassthroughPropertyValues` (BINARY): a serialised `IPortableDeviceValues`, to
    /// read and write Windows Portable Devices properties WMDM has no name for.
    WPD_PASSTHROUGH_PROPERTY_VALUES = "WPD/PassthroughPropertyValues", BINARY;
}

/// `g_wszWMDMDRMId`: reserved, with no documented type. The documentation spells the constant
/// `g_wszWMDMRMId`.
pub const DRM_ID: &str = "WMDM/DRMId";

/// Tag names WMDM defines but gives no type; they are not in [`ALL`].
pub const UNTYPED: &[&str] = &[DRM_ID];

/// The documented `WMDM_TAG_DATATYPE` of a tag, or `None` for a name that is not in [`ALL`].
/// Names compare exactly, case included.
pub fn expected_type(name: &str) -> Option<TagDataType> {
    ALL.iter().find(|(n, _)| *n == name).map(|&(_, ty)| ty)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_wmdm_names_and_unique() {
        let mut seen = HashSet::new();
        for name in ALL.iter().map(|&(n, _)| n).chain(UNTYPED.iter().copied()) {
            if name != WPD_PASSTHROUGH_PROPERTY_VALUES {
                assert!(name.starts_with("WMDM/"), "{name}");
            }
            assert!(seen.insert(name), "{name} is listed twice");
        }
        assert_eq!(seen.len(), 85);
    }

    #[test]
    fn every_type_is_a_known_wmdm_type() {
        for &(name, ty) in ALL {
            assert!(ty.is_known(), "{name}");
        }
    }

    #[test]
    fn types_follow_the_documentation() {
        assert_eq!(expected_type(TITLE), Some(TagDataType::STRING));
        assert_eq!(expected_type(FORMAT_CODE), Some(TagDataType::DWORD));
        assert_eq!(expected_type(FILE_SIZE), Some(TagDataType::QWORD));
        assert_eq!(expected_type(DURATION), Some(TagDataType::QWORD));
        assert_eq!(expected_type(IS_PROTECTED), Some(TagDataType::BOOL));
        assert_eq!(expected_type(SYNC_TIME), Some(TagDataType::DATE));
        assert_eq!(expected_type(ALBUM_COVER_DATA), Some(TagDataType::BINARY));
        assert_eq!(expected_type(YEAR), Some(TagDataType::STRING));
        assert_eq!(expected_type(DRM_ID), None);
        assert_eq!(expected_type("wmdm/title"), None);
        assert_eq!(expected_type("WMDM/NoSuchTag"), None);
    }
}
