//! `WMDM_FORMATCODE`: the content format of a storage object (the `WMDM/FormatCode` tag).
//!
//! The values are the MTP object-format codes plus a few WMDM-only FourCC-style codes such as
//! [`FormatCode::M4A`] (Microsoft's reference: <https://learn.microsoft.com/en-us/windows/win32/wmdm/wmdm-formatcode>, checked against the Win32 metadata bindings). A code
//! this crate does not name is kept as it is.

use std::fmt;

/// Declares the named format codes from one table: Rust name, WMDM suffix, value.
macro_rules! format_codes {
    ($(
        $(#[$meta:meta])*
        $name:ident = $value:literal, $wmdm:literal;
    )*) => {
        impl FormatCode {
            $( $(#[$meta])* pub const $name: FormatCode = FormatCode($value); )*

            /// Every named code, in header order.
            pub const ALL: &'static [FormatCode] = &[$(FormatCode::$name),*];

            /// The WMDM name without its `WMDM_FORMATCODE_` prefix (`"MP3"`,
            /// `"WPLPLAYLIST"`, `"3GP"`), or `None` for a code WMDM does not name.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $value => Some($wmdm), )*
                    _ => None,
                }
            }

            /// The name of the associated constant, for `Debug`.
            const fn rust_name(self) -> Option<&'static str> {
                match self.0 {
                    $( $value => Some(stringify!($name)), )*
                    _ => None,
                }
            }
        }
    };
}

/// A `WMDM_FORMATCODE` value.
///
/// Codes whose WMDM name starts with a digit get a spelled-out Rust name:
/// `WMDM_FORMATCODE_3GP` is [`FormatCode::THREE_GP`]. Any `u32` is a valid `FormatCode`, so a
/// code from a newer device survives a round trip.
///
/// ```
/// use wmdm::metadata::FormatCode;
///
/// assert_eq!(FormatCode::from_extension(".MP3"), FormatCode::MP3);
/// assert_eq!(FormatCode::from_mime("audio/x-flac"), FormatCode::FLAC);
/// assert_eq!(FormatCode::M4A.0, 0x4D50_3441);
/// assert_eq!(FormatCode::WPL_PLAYLIST.name(), Some("WPLPLAYLIST"));
/// assert_eq!(format!("{:?}", FormatCode(0xB9FF)), "FormatCode(0xB9FF)");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FormatCode(pub u32);

format_codes! {
    /// `WMDM_FORMATCODE_NOTUSED`.
    NOT_USED = 0x0000_0000, "NOTUSED";
    /// `WMDM_FORMATCODE_ALLIMAGES`: a wildcard for every image format, not a format itself.
    ALL_IMAGES = 0xFFFF_FFFF, "ALLIMAGES";
    /// `WMDM_FORMATCODE_UNDEFINED`: a file of unknown format.
    UNDEFINED = 0x3000, "UNDEFINED";
    /// `WMDM_FORMATCODE_ASSOCIATION`: a folder.
    ASSOCIATION = 0x3001, "ASSOCIATION";
    /// `WMDM_FORMATCODE_SCRIPT`.
    SCRIPT = 0x3002, "SCRIPT";
    /// `WMDM_FORMATCODE_EXECUTABLE`.
    EXECUTABLE = 0x3003, "EXECUTABLE";
    /// `WMDM_FORMATCODE_TEXT`.
    TEXT = 0x3004, "TEXT";
    /// `WMDM_FORMATCODE_HTML`.
    HTML = 0x3005, "HTML";
    /// `WMDM_FORMATCODE_DPOF`: Digital Print Order Format.
    DPOF = 0x3006, "DPOF";
    /// `WMDM_FORMATCODE_AIFF`.
    AIFF = 0x3007, "AIFF";
    /// `WMDM_FORMATCODE_WAVE`.
    WAVE = 0x3008, "WAVE";
    /// `WMDM_FORMATCODE_MP3`.
    MP3 = 0x3009, "MP3";
    /// `WMDM_FORMATCODE_AVI`.
    AVI = 0x300A, "AVI";
    /// `WMDM_FORMATCODE_MPEG`.
    MPEG = 0x300B, "MPEG";
    /// `WMDM_FORMATCODE_ASF`.
    ASF = 0x300C, "ASF";
    /// `WMDM_FORMATCODE_RESERVED_FIRST`: start of a reserved range.
    RESERVED_FIRST = 0x300D, "RESERVED_FIRST";
    /// `WMDM_FORMATCODE_RESERVED_LAST`: end of a reserved range.
    RESERVED_LAST = 0x37FF, "RESERVED_LAST";
    /// `WMDM_FORMATCODE_IMAGE_UNDEFINED`: an image of unknown format.
    IMAGE_UNDEFINED = 0x3800, "IMAGE_UNDEFINED";
    /// `WMDM_FORMATCODE_IMAGE_EXIF`: JPEG (EXIF).
    IMAGE_EXIF = 0x3801, "IMAGE_EXIF";
    /// `WMDM_FORMATCODE_IMAGE_TIFFEP`.
    IMAGE_TIFFEP = 0x3802, "IMAGE_TIFFEP";
    /// `WMDM_FORMATCODE_IMAGE_FLASHPIX`.
    IMAGE_FLASHPIX = 0x3803, "IMAGE_FLASHPIX";
    /// `WMDM_FORMATCODE_IMAGE_BMP`.
    IMAGE_BMP = 0x3804, "IMAGE_BMP";
    /// `WMDM_FORMATCODE_IMAGE_CIFF`.
    IMAGE_CIFF = 0x3805, "IMAGE_CIFF";
    /// `WMDM_FORMATCODE_IMAGE_GIF`.
    IMAGE_GIF = 0x3807, "IMAGE_GIF";
    /// `WMDM_FORMATCODE_IMAGE_JFIF`.
    IMAGE_JFIF = 0x3808, "IMAGE_JFIF";
    /// `WMDM_FORMATCODE_IMAGE_PCD`.
    IMAGE_PCD = 0x3809, "IMAGE_PCD";
    /// `WMDM_FORMATCODE_IMAGE_PICT`.
    IMAGE_PICT = 0x380A, "IMAGE_PICT";
    /// `WMDM_FORMATCODE_IMAGE_PNG`.
    IMAGE_PNG = 0x380B, "IMAGE_PNG";
    /// `WMDM_FORMATCODE_IMAGE_TIFF`.
    IMAGE_TIFF = 0x380D, "IMAGE_TIFF";
    /// `WMDM_FORMATCODE_IMAGE_TIFFIT`.
    IMAGE_TIFFIT = 0x380E, "IMAGE_TIFFIT";
    /// `WMDM_FORMATCODE_IMAGE_JP2`: JPEG 2000.
    IMAGE_JP2 = 0x380F, "IMAGE_JP2";
    /// `WMDM_FORMATCODE_IMAGE_JPX`: JPEG 2000 extended.
    IMAGE_JPX = 0x3810, "IMAGE_JPX";
    /// `WMDM_FORMATCODE_IMAGE_RESERVED_FIRST`: start of the reserved image range.
    IMAGE_RESERVED_FIRST = 0x3811, "IMAGE_RESERVED_FIRST";
    /// `WMDM_FORMATCODE_IMAGE_RESERVED_LAST`: end of the reserved image range.
    IMAGE_RESERVED_LAST = 0x3FFF, "IMAGE_RESERVED_LAST";
    /// `WMDM_FORMATCODE_UNDEFINEDFIRMWARE`: a firmware image.
    UNDEFINED_FIRMWARE = 0xB802, "UNDEFINEDFIRMWARE";
    /// `WMDM_FORMATCODE_WBMP`: wireless bitmap.
    WBMP = 0xB803, "WBMP";
    /// `WMDM_FORMATCODE_JPEGXR`.
    JPEG_XR = 0xB804, "JPEGXR";
    /// `WMDM_FORMATCODE_WINDOWSIMAGEFORMAT`.
    WINDOWS_IMAGE_FORMAT = 0xB881, "WINDOWSIMAGEFORMAT";
    /// `WMDM_FORMATCODE_UNDEFINEDAUDIO`: audio of unknown format.
    UNDEFINED_AUDIO = 0xB900, "UNDEFINEDAUDIO";
    /// `WMDM_FORMATCODE_WMA`.
    WMA = 0xB901, "WMA";
    /// `WMDM_FORMATCODE_OGG`.
    OGG = 0xB902, "OGG";
    /// `WMDM_FORMATCODE_AAC`.
    AAC = 0xB903, "AAC";
    /// `WMDM_FORMATCODE_AUDIBLE`.
    AUDIBLE = 0xB904, "AUDIBLE";
    /// `WMDM_FORMATCODE_FLAC`.
    FLAC = 0xB906, "FLAC";
    /// `WMDM_FORMATCODE_QCELP`.
    QCELP = 0xB907, "QCELP";
    /// `WMDM_FORMATCODE_AMR`.
    AMR = 0xB908, "AMR";
    /// `WMDM_FORMATCODE_UNDEFINEDVIDEO`: video of unknown format.
    UNDEFINED_VIDEO = 0xB980, "UNDEFINEDVIDEO";
    /// `WMDM_FORMATCODE_WMV`.
    WMV = 0xB981, "WMV";
    /// `WMDM_FORMATCODE_MP4`: MPEG-4 video.
    MP4 = 0xB982, "MP4";
    /// `WMDM_FORMATCODE_MP2`: MPEG-2 video.
    MP2 = 0xB983, "MP2";
    /// `WMDM_FORMATCODE_3GP`.
    THREE_GP = 0xB984, "3GP";
    /// `WMDM_FORMATCODE_3G2`.
    THREE_G2 = 0xB985, "3G2";
    /// `WMDM_FORMATCODE_AVCHD`.
    AVCHD = 0xB986, "AVCHD";
    /// `WMDM_FORMATCODE_ATSCTS`: ATSC transport stream.
    ATSC_TS = 0xB987, "ATSCTS";
    /// `WMDM_FORMATCODE_DVBTS`: DVB transport stream.
    DVB_TS = 0xB988, "DVBTS";
    /// `WMDM_FORMATCODE_MKV`: Matroska video.
    MKV = 0xB989, "MKV";
    /// `WMDM_FORMATCODE_MKA`: Matroska audio. Its value sits in the video range, but it is
    /// audio, and [`FormatCode::is_audio`] says so.
    MKA = 0xB98A, "MKA";
    /// `WMDM_FORMATCODE_MK3D`: Matroska 3D video.
    MK3D = 0xB98B, "MK3D";
    /// `WMDM_FORMATCODE_UNDEFINEDCOLLECTION`.
    UNDEFINED_COLLECTION = 0xBA00, "UNDEFINEDCOLLECTION";
    /// `WMDM_FORMATCODE_ABSTRACTMULTIMEDIAALBUM`.
    ABSTRACT_MULTIMEDIA_ALBUM = 0xBA01, "ABSTRACTMULTIMEDIAALBUM";
    /// `WMDM_FORMATCODE_ABSTRACTIMAGEALBUM`.
    ABSTRACT_IMAGE_ALBUM = 0xBA02, "ABSTRACTIMAGEALBUM";
    /// `WMDM_FORMATCODE_ABSTRACTAUDIOALBUM`: an album object with no data of its own.
    ABSTRACT_AUDIO_ALBUM = 0xBA03, "ABSTRACTAUDIOALBUM";
    /// `WMDM_FORMATCODE_ABSTRACTVIDEOALBUM`.
    ABSTRACT_VIDEO_ALBUM = 0xBA04, "ABSTRACTVIDEOALBUM";
    /// `WMDM_FORMATCODE_ABSTRACTAUDIOVIDEOPLAYLIST`: the generic playlist object WMDM creates
    /// on devices ("Creating a Playlist on the Device" misspells it `ABSTRACTAUDIOLAYLIST`).
    ABSTRACT_AUDIO_VIDEO_PLAYLIST = 0xBA05, "ABSTRACTAUDIOVIDEOPLAYLIST";
    /// `WMDM_FORMATCODE_ABSTRACTCONTACTGROUP`.
    ABSTRACT_CONTACT_GROUP = 0xBA06, "ABSTRACTCONTACTGROUP";
    /// `WMDM_FORMATCODE_ABSTRACTMESSAGEFOLDER`.
    ABSTRACT_MESSAGE_FOLDER = 0xBA07, "ABSTRACTMESSAGEFOLDER";
    /// `WMDM_FORMATCODE_ABSTRACTCHAPTEREDPRODUCTION`.
    ABSTRACT_CHAPTERED_PRODUCTION = 0xBA08, "ABSTRACTCHAPTEREDPRODUCTION";
    /// `WMDM_FORMATCODE_MEDIA_CAST`.
    MEDIA_CAST = 0xBA0B, "MEDIA_CAST";
    /// `WMDM_FORMATCODE_WPLPLAYLIST`: Windows Media Player playlist file.
    WPL_PLAYLIST = 0xBA10, "WPLPLAYLIST";
    /// `WMDM_FORMATCODE_M3UPLAYLIST`.
    M3U_PLAYLIST = 0xBA11, "M3UPLAYLIST";
    /// `WMDM_FORMATCODE_MPLPLAYLIST`.
    MPL_PLAYLIST = 0xBA12, "MPLPLAYLIST";
    /// `WMDM_FORMATCODE_ASXPLAYLIST`.
    ASX_PLAYLIST = 0xBA13, "ASXPLAYLIST";
    /// `WMDM_FORMATCODE_PLSPLAYLIST`.
    PLS_PLAYLIST = 0xBA14, "PLSPLAYLIST";
    /// `WMDM_FORMATCODE_UNDEFINEDDOCUMENT`.
    UNDEFINED_DOCUMENT = 0xBA80, "UNDEFINEDDOCUMENT";
    /// `WMDM_FORMATCODE_ABSTRACTDOCUMENT`.
    ABSTRACT_DOCUMENT = 0xBA81, "ABSTRACTDOCUMENT";
    /// `WMDM_FORMATCODE_XMLDOCUMENT`.
    XML_DOCUMENT = 0xBA82, "XMLDOCUMENT";
    /// `WMDM_FORMATCODE_MICROSOFTWORDDOCUMENT`.
    MICROSOFT_WORD_DOCUMENT = 0xBA83, "MICROSOFTWORDDOCUMENT";
    /// `WMDM_FORMATCODE_MHTCOMPILEDHTMLDOCUMENT`.
    MHT_COMPILED_HTML_DOCUMENT = 0xBA84, "MHTCOMPILEDHTMLDOCUMENT";
    /// `WMDM_FORMATCODE_MICROSOFTEXCELSPREADSHEET`.
    MICROSOFT_EXCEL_SPREADSHEET = 0xBA85, "MICROSOFTEXCELSPREADSHEET";
    /// `WMDM_FORMATCODE_MICROSOFTPOWERPOINTDOCUMENT`.
    MICROSOFT_POWERPOINT_DOCUMENT = 0xBA86, "MICROSOFTPOWERPOINTDOCUMENT";
    /// `WMDM_FORMATCODE_UNDEFINEDMESSAGE`.
    UNDEFINED_MESSAGE = 0xBB00, "UNDEFINEDMESSAGE";
    /// `WMDM_FORMATCODE_ABSTRACTMESSAGE`.
    ABSTRACT_MESSAGE = 0xBB01, "ABSTRACTMESSAGE";
    /// `WMDM_FORMATCODE_UNDEFINEDCONTACT`.
    UNDEFINED_CONTACT = 0xBB80, "UNDEFINEDCONTACT";
    /// `WMDM_FORMATCODE_ABSTRACTCONTACT`.
    ABSTRACT_CONTACT = 0xBB81, "ABSTRACTCONTACT";
    /// `WMDM_FORMATCODE_VCARD2`.
    VCARD2 = 0xBB82, "VCARD2";
    /// `WMDM_FORMATCODE_VCARD3`.
    VCARD3 = 0xBB83, "VCARD3";
    /// `WMDM_FORMATCODE_UNDEFINEDCALENDARITEM`.
    UNDEFINED_CALENDAR_ITEM = 0xBE00, "UNDEFINEDCALENDARITEM";
    /// `WMDM_FORMATCODE_ABSTRACTCALENDARITEM`.
    ABSTRACT_CALENDAR_ITEM = 0xBE01, "ABSTRACTCALENDARITEM";
    /// `WMDM_FORMATCODE_VCALENDAR1`.
    VCALENDAR1 = 0xBE02, "VCALENDAR1";
    /// `WMDM_FORMATCODE_VCALENDAR2`: iCalendar.
    VCALENDAR2 = 0xBE03, "VCALENDAR2";
    /// `WMDM_FORMATCODE_UNDEFINEDWINDOWSEXECUTABLE`.
    UNDEFINED_WINDOWS_EXECUTABLE = 0xBE80, "UNDEFINEDWINDOWSEXECUTABLE";
    /// `WMDM_FORMATCODE_M4A`: AAC audio in an MPEG-4 container. A WMDM-only code, the ASCII
    /// bytes "MP4A".
    M4A = 0x4D50_3441, "M4A";
    /// `WMDM_FORMATCODE_3GPA`: 3GPP audio ("3GPA").
    THREE_GPA = 0x3347_5041, "3GPA";
    /// `WMDM_FORMATCODE_3G2A`: 3GPP2 audio ("3G2A").
    THREE_G2A = 0x3347_3241, "3G2A";
    /// `WMDM_FORMATCODE_SECTION`.
    SECTION = 0xBE82, "SECTION";
}

/// File extensions (lower case, no dot) and their codes. The first entry for a code is its
/// preferred extension, which [`FormatCode::extension`] returns.
const EXTENSIONS: &[(&str, FormatCode)] = &[
    ("mp3", FormatCode::MP3),
    ("wma", FormatCode::WMA),
    ("ogg", FormatCode::OGG),
    ("oga", FormatCode::OGG),
    ("opus", FormatCode::OGG),
    ("flac", FormatCode::FLAC),
    ("aac", FormatCode::AAC),
    ("m4a", FormatCode::M4A),
    ("m4b", FormatCode::M4A),
    ("wav", FormatCode::WAVE),
    ("aiff", FormatCode::AIFF),
    ("aif", FormatCode::AIFF),
    ("aifc", FormatCode::AIFF),
    ("aa", FormatCode::AUDIBLE),
    ("aax", FormatCode::AUDIBLE),
    ("amr", FormatCode::AMR),
    ("qcp", FormatCode::QCELP),
    ("mka", FormatCode::MKA),
    ("mp4", FormatCode::MP4),
    ("m4v", FormatCode::MP4),
    ("wmv", FormatCode::WMV),
    ("asf", FormatCode::ASF),
    ("avi", FormatCode::AVI),
    ("mpg", FormatCode::MPEG),
    ("mpeg", FormatCode::MPEG),
    ("3gp", FormatCode::THREE_GP),
    ("3g2", FormatCode::THREE_G2),
    ("mkv", FormatCode::MKV),
    ("mk3d", FormatCode::MK3D),
    ("jpg", FormatCode::IMAGE_EXIF),
    ("jpeg", FormatCode::IMAGE_EXIF),
    ("jpe", FormatCode::IMAGE_EXIF),
    ("jfif", FormatCode::IMAGE_JFIF),
    ("png", FormatCode::IMAGE_PNG),
    ("gif", FormatCode::IMAGE_GIF),
    ("bmp", FormatCode::IMAGE_BMP),
    ("tif", FormatCode::IMAGE_TIFF),
    ("tiff", FormatCode::IMAGE_TIFF),
    ("jp2", FormatCode::IMAGE_JP2),
    ("jpx", FormatCode::IMAGE_JPX),
    ("pct", FormatCode::IMAGE_PICT),
    ("pict", FormatCode::IMAGE_PICT),
    ("pcd", FormatCode::IMAGE_PCD),
    ("fpx", FormatCode::IMAGE_FLASHPIX),
    ("wbmp", FormatCode::WBMP),
    ("jxr", FormatCode::JPEG_XR),
    ("wdp", FormatCode::JPEG_XR),
    ("hdp", FormatCode::JPEG_XR),
    ("m3u", FormatCode::M3U_PLAYLIST),
    ("m3u8", FormatCode::M3U_PLAYLIST),
    ("wpl", FormatCode::WPL_PLAYLIST),
    ("asx", FormatCode::ASX_PLAYLIST),
    ("wax", FormatCode::ASX_PLAYLIST),
    ("wvx", FormatCode::ASX_PLAYLIST),
    ("pls", FormatCode::PLS_PLAYLIST),
    ("mpl", FormatCode::MPL_PLAYLIST),
    ("txt", FormatCode::TEXT),
    ("htm", FormatCode::HTML),
    ("html", FormatCode::HTML),
    ("xml", FormatCode::XML_DOCUMENT),
    ("doc", FormatCode::MICROSOFT_WORD_DOCUMENT),
    ("docx", FormatCode::MICROSOFT_WORD_DOCUMENT),
    ("xls", FormatCode::MICROSOFT_EXCEL_SPREADSHEET),
    ("xlsx", FormatCode::MICROSOFT_EXCEL_SPREADSHEET),
    ("ppt", FormatCode::MICROSOFT_POWERPOINT_DOCUMENT),
    ("pptx", FormatCode::MICROSOFT_POWERPOINT_DOCUMENT),
    ("mht", FormatCode::MHT_COMPILED_HTML_DOCUMENT),
    ("mhtml", FormatCode::MHT_COMPILED_HTML_DOCUMENT),
    ("vcs", FormatCode::VCALENDAR1),
    ("ics", FormatCode::VCALENDAR2),
    ("exe", FormatCode::UNDEFINED_WINDOWS_EXECUTABLE),
    ("dpof", FormatCode::DPOF),
];

/// MIME types (lower case, no parameters) and their codes. The first entry for a code is its
/// preferred type, which [`FormatCode::mime_type`] returns.
const MIME_TYPES: &[(&str, FormatCode)] = &[
    ("audio/mpeg", FormatCode::MP3),
    ("audio/mp3", FormatCode::MP3),
    ("audio/x-mp3", FormatCode::MP3),
    ("audio/mpeg3", FormatCode::MP3),
    ("audio/x-mpeg", FormatCode::MP3),
    ("audio/x-ms-wma", FormatCode::WMA),
    ("audio/ogg", FormatCode::OGG),
    ("audio/opus", FormatCode::OGG),
    ("audio/vorbis", FormatCode::OGG),
    ("application/ogg", FormatCode::OGG),
    ("audio/flac", FormatCode::FLAC),
    ("audio/x-flac", FormatCode::FLAC),
    ("audio/aac", FormatCode::AAC),
    ("audio/x-aac", FormatCode::AAC),
    ("audio/aacp", FormatCode::AAC),
    ("audio/mp4", FormatCode::M4A),
    ("audio/x-m4a", FormatCode::M4A),
    ("audio/m4a", FormatCode::M4A),
    ("audio/wav", FormatCode::WAVE),
    ("audio/x-wav", FormatCode::WAVE),
    ("audio/wave", FormatCode::WAVE),
    ("audio/vnd.wave", FormatCode::WAVE),
    ("audio/aiff", FormatCode::AIFF),
    ("audio/x-aiff", FormatCode::AIFF),
    ("audio/amr", FormatCode::AMR),
    ("audio/qcelp", FormatCode::QCELP),
    ("audio/x-matroska", FormatCode::MKA),
    ("audio/3gpp", FormatCode::THREE_GPA),
    ("audio/3gpp2", FormatCode::THREE_G2A),
    ("video/mp4", FormatCode::MP4),
    ("video/x-m4v", FormatCode::MP4),
    ("video/x-ms-wmv", FormatCode::WMV),
    ("video/x-ms-asf", FormatCode::ASF),
    ("application/vnd.ms-asf", FormatCode::ASF),
    ("video/x-msvideo", FormatCode::AVI),
    ("video/avi", FormatCode::AVI),
    ("video/msvideo", FormatCode::AVI),
    ("video/mpeg", FormatCode::MPEG),
    ("video/3gpp", FormatCode::THREE_GP),
    ("video/3gpp2", FormatCode::THREE_G2),
    ("video/x-matroska", FormatCode::MKV),
    ("image/jpeg", FormatCode::IMAGE_EXIF),
    ("image/jpg", FormatCode::IMAGE_EXIF),
    ("image/pjpeg", FormatCode::IMAGE_EXIF),
    ("image/png", FormatCode::IMAGE_PNG),
    ("image/gif", FormatCode::IMAGE_GIF),
    ("image/bmp", FormatCode::IMAGE_BMP),
    ("image/x-ms-bmp", FormatCode::IMAGE_BMP),
    ("image/tiff", FormatCode::IMAGE_TIFF),
    ("image/jp2", FormatCode::IMAGE_JP2),
    ("image/jpx", FormatCode::IMAGE_JPX),
    ("image/vnd.wap.wbmp", FormatCode::WBMP),
    ("image/vnd.ms-photo", FormatCode::JPEG_XR),
    ("image/jxr", FormatCode::JPEG_XR),
    ("audio/x-mpegurl", FormatCode::M3U_PLAYLIST),
    ("audio/mpegurl", FormatCode::M3U_PLAYLIST),
    ("application/x-mpegurl", FormatCode::M3U_PLAYLIST),
    ("application/vnd.apple.mpegurl", FormatCode::M3U_PLAYLIST),
    ("application/vnd.ms-wpl", FormatCode::WPL_PLAYLIST),
    ("video/x-ms-asx", FormatCode::ASX_PLAYLIST),
    ("audio/x-ms-wax", FormatCode::ASX_PLAYLIST),
    ("video/x-ms-wvx", FormatCode::ASX_PLAYLIST),
    ("audio/x-scpls", FormatCode::PLS_PLAYLIST),
    ("text/plain", FormatCode::TEXT),
    ("text/html", FormatCode::HTML),
    ("application/xml", FormatCode::XML_DOCUMENT),
    ("text/xml", FormatCode::XML_DOCUMENT),
    ("application/msword", FormatCode::MICROSOFT_WORD_DOCUMENT),
    (
        "application/vnd.ms-excel",
        FormatCode::MICROSOFT_EXCEL_SPREADSHEET,
    ),
    (
        "application/vnd.ms-powerpoint",
        FormatCode::MICROSOFT_POWERPOINT_DOCUMENT,
    ),
    ("text/x-vcard", FormatCode::VCARD2),
    ("text/vcard", FormatCode::VCARD3),
    ("text/x-vcalendar", FormatCode::VCALENDAR1),
    ("text/calendar", FormatCode::VCALENDAR2),
];

impl FormatCode {
    /// True for the lossless audio formats the crate knows (FLAC, WAV, AIFF): converting one
    /// to a lossy format loses nothing that was not there, and its bitrate is no ceiling.
    pub fn is_lossless(self) -> bool {
        matches!(self, FormatCode::FLAC | FormatCode::WAVE | FormatCode::AIFF)
    }

    /// The most common audio formats, in the order a device is most likely to take them.
    pub const COMMON_AUDIO: &'static [FormatCode] = &[
        FormatCode::MP3,
        FormatCode::WMA,
        FormatCode::AAC,
        FormatCode::M4A,
        FormatCode::FLAC,
        FormatCode::OGG,
        FormatCode::WAVE,
    ];

    /// The playlist formats devices use most: M3U, WPL, and the abstract playlist object.
    pub const COMMON_PLAYLISTS: &'static [FormatCode] = &[
        FormatCode::M3U_PLAYLIST,
        FormatCode::WPL_PLAYLIST,
        FormatCode::ABSTRACT_AUDIO_VIDEO_PLAYLIST,
    ];

    /// True when WMDM names this code.
    pub const fn is_known(self) -> bool {
        self.name().is_some()
    }

    /// The format for a file extension, with or without its leading dot, in any case.
    /// An extension this crate does not know gives [`FormatCode::UNDEFINED`].
    pub fn from_extension(ext: &str) -> FormatCode {
        let ext = ext.strip_prefix('.').unwrap_or(ext);
        EXTENSIONS
            .iter()
            .find(|(e, _)| e.eq_ignore_ascii_case(ext))
            .map_or(FormatCode::UNDEFINED, |&(_, code)| code)
    }

    /// The format of a file name or path, from its extension; [`FormatCode::UNDEFINED`] when
    /// it has none or an unknown one.
    pub fn from_file_name(name: &str) -> FormatCode {
        let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
        match base.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() => FormatCode::from_extension(ext),
            _ => FormatCode::UNDEFINED,
        }
    }

    /// The format for a MIME type, in any case and with any parameters
    /// (`"audio/mpeg; charset=utf-8"` works). An unknown type gives [`FormatCode::UNDEFINED`].
    pub fn from_mime(mime: &str) -> FormatCode {
        let essence = mime.split(';').next().unwrap_or(mime).trim();
        MIME_TYPES
            .iter()
            .find(|(m, _)| m.eq_ignore_ascii_case(essence))
            .map_or(FormatCode::UNDEFINED, |&(_, code)| code)
    }

    /// The preferred file extension, lower case and without a dot.
    pub fn extension(self) -> Option<&'static str> {
        EXTENSIONS
            .iter()
            .find(|&&(_, code)| code == self)
            .map(|&(e, _)| e)
    }

    /// The preferred MIME type.
    pub fn mime_type(self) -> Option<&'static str> {
        MIME_TYPES
            .iter()
            .find(|&&(_, code)| code == self)
            .map(|&(m, _)| m)
    }

    /// True for audio formats: AIFF, WAVE, MP3, the MTP audio range 0xB900-0xB97F, Matroska
    /// audio, and the WMDM-only M4A, 3GPA and 3G2A codes.
    pub const fn is_audio(self) -> bool {
        matches!(
            self,
            FormatCode::AIFF
                | FormatCode::WAVE
                | FormatCode::MP3
                | FormatCode::MKA
                | FormatCode::M4A
                | FormatCode::THREE_GPA
                | FormatCode::THREE_G2A
        ) || matches!(self.0, 0xB900..=0xB97F)
    }

    /// True for video formats: AVI, MPEG, ASF and the MTP video range 0xB980-0xB9FF, except
    /// Matroska audio.
    pub const fn is_video(self) -> bool {
        matches!(self, FormatCode::AVI | FormatCode::MPEG | FormatCode::ASF)
            || (matches!(self.0, 0xB980..=0xB9FF) && self.0 != FormatCode::MKA.0)
    }

    /// True for image formats: the MTP image range 0x3800-0x3FFF, WBMP, JPEG XR and Windows
    /// Image Format. [`FormatCode::ALL_IMAGES`] is a wildcard, not an image format, and is
    /// not counted.
    pub const fn is_image(self) -> bool {
        matches!(self.0, 0x3800..=0x3FFF)
            || matches!(
                self,
                FormatCode::WBMP | FormatCode::JPEG_XR | FormatCode::WINDOWS_IMAGE_FORMAT
            )
    }

    /// True for playlists: the WPL, M3U, MPL, ASX and PLS files and the abstract audio/video
    /// playlist object.
    pub const fn is_playlist(self) -> bool {
        matches!(
            self,
            FormatCode::WPL_PLAYLIST
                | FormatCode::M3U_PLAYLIST
                | FormatCode::MPL_PLAYLIST
                | FormatCode::ASX_PLAYLIST
                | FormatCode::PLS_PLAYLIST
                | FormatCode::ABSTRACT_AUDIO_VIDEO_PLAYLIST
        )
    }

    /// True for the collection codes 0xBA00-0xBA7F: abstract albums and playlists, contact
    /// groups, message folders, chaptered productions, media casts and the playlist files.
    ///
    /// The document codes that follow in the same block (0xBA80 and up, XML, Word, ...) are
    /// ordinary files, so they are not counted.
    pub const fn is_abstract(self) -> bool {
        matches!(self.0, 0xBA00..=0xBA7F)
    }
}

impl fmt::Debug for FormatCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rust_name() {
            Some(n) => write!(f, "FormatCode::{n}"),
            None => write!(f, "FormatCode({:#06X})", self.0),
        }
    }
}

impl From<u32> for FormatCode {
    fn from(v: u32) -> Self {
        FormatCode(v)
    }
}

impl From<FormatCode> for u32 {
    fn from(v: FormatCode) -> u32 {
        v.0
    }
}

impl From<FormatCode> for super::TagValue {
    /// A `WMDM/FormatCode` value is a DWORD.
    fn from(v: FormatCode) -> Self {
        super::TagValue::Dword(v.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn values_match_the_header() {
        assert_eq!(FormatCode::MP3.0, 0x3009);
        assert_eq!(FormatCode::WMA.0, 0xB901);
        assert_eq!(FormatCode::M4A.0, 0x4D50_3441);
        assert_eq!(FormatCode::M4A.0.to_be_bytes(), *b"MP4A");
        assert_eq!(FormatCode::THREE_GPA.0.to_be_bytes(), *b"3GPA");
        assert_eq!(FormatCode::THREE_G2A.0.to_be_bytes(), *b"3G2A");
        assert_eq!(FormatCode::ABSTRACT_AUDIO_VIDEO_PLAYLIST.0, 0xBA05);
        assert_eq!(FormatCode::ALL_IMAGES.0, u32::MAX);
        assert_eq!(FormatCode::default(), FormatCode::NOT_USED);
    }

    #[test]
    fn named_codes_are_distinct() {
        let mut values = HashSet::new();
        let mut names = HashSet::new();
        for &code in FormatCode::ALL {
            assert!(values.insert(code), "{code:?} listed twice");
            let name = code.name().unwrap();
            assert!(names.insert(name), "{name} listed twice");
        }
        assert_eq!(FormatCode::ALL.len(), 95);
    }

    #[test]
    fn debug_shows_the_name_or_hex() {
        assert_eq!(format!("{:?}", FormatCode::MP3), "FormatCode::MP3");
        assert_eq!(
            format!("{:?}", FormatCode::WPL_PLAYLIST),
            "FormatCode::WPL_PLAYLIST"
        );
        assert_eq!(format!("{:?}", FormatCode(0x3806)), "FormatCode(0x3806)");
        assert_eq!(format!("{:?}", FormatCode(0x12)), "FormatCode(0x0012)");
        assert_eq!(
            format!("{:?}", FormatCode(0xDEAD_BEEF)),
            "FormatCode(0xDEADBEEF)"
        );
        assert_eq!(FormatCode(0x3806).name(), None);
        assert!(!FormatCode(0x3806).is_known());
        assert_eq!(FormatCode::THREE_GP.name(), Some("3GP"));
    }

    #[test]
    fn extensions() {
        let cases = [
            ("mp3", FormatCode::MP3),
            (".MP3", FormatCode::MP3),
            ("Wma", FormatCode::WMA),
            ("ogg", FormatCode::OGG),
            ("oga", FormatCode::OGG),
            ("opus", FormatCode::OGG),
            ("flac", FormatCode::FLAC),
            ("aac", FormatCode::AAC),
            ("m4a", FormatCode::M4A),
            ("mp4", FormatCode::MP4),
            ("m4v", FormatCode::MP4),
            ("wav", FormatCode::WAVE),
            ("aif", FormatCode::AIFF),
            ("aiff", FormatCode::AIFF),
            ("wmv", FormatCode::WMV),
            ("asf", FormatCode::ASF),
            ("avi", FormatCode::AVI),
            ("mpg", FormatCode::MPEG),
            ("mpeg", FormatCode::MPEG),
            ("3gp", FormatCode::THREE_GP),
            ("mkv", FormatCode::MKV),
            ("mka", FormatCode::MKA),
            ("jpg", FormatCode::IMAGE_EXIF),
            ("JPEG", FormatCode::IMAGE_EXIF),
            ("png", FormatCode::IMAGE_PNG),
            ("gif", FormatCode::IMAGE_GIF),
            ("bmp", FormatCode::IMAGE_BMP),
            ("tif", FormatCode::IMAGE_TIFF),
            ("tiff", FormatCode::IMAGE_TIFF),
            ("m3u", FormatCode::M3U_PLAYLIST),
            ("m3u8", FormatCode::M3U_PLAYLIST),
            ("wpl", FormatCode::WPL_PLAYLIST),
            ("asx", FormatCode::ASX_PLAYLIST),
            ("pls", FormatCode::PLS_PLAYLIST),
            ("txt", FormatCode::TEXT),
            ("htm", FormatCode::HTML),
            ("html", FormatCode::HTML),
            ("xyz", FormatCode::UNDEFINED),
            ("", FormatCode::UNDEFINED),
            (".", FormatCode::UNDEFINED),
            ("..mp3", FormatCode::UNDEFINED),
        ];
        for (ext, code) in cases {
            assert_eq!(FormatCode::from_extension(ext), code, "{ext:?}");
        }
    }

    #[test]
    fn file_names() {
        assert_eq!(FormatCode::from_file_name("Song.MP3"), FormatCode::MP3);
        assert_eq!(
            FormatCode::from_file_name("Music\\a.b\\list.m3u8"),
            FormatCode::M3U_PLAYLIST
        );
        assert_eq!(
            FormatCode::from_file_name("dir.mp3/README"),
            FormatCode::UNDEFINED
        );
        assert_eq!(FormatCode::from_file_name(".mp3"), FormatCode::UNDEFINED);
        assert_eq!(FormatCode::from_file_name(""), FormatCode::UNDEFINED);
    }

    #[test]
    fn mime_types() {
        let cases = [
            ("audio/mpeg", FormatCode::MP3),
            ("Audio/MPEG; charset=utf-8", FormatCode::MP3),
            ("audio/x-ms-wma", FormatCode::WMA),
            ("audio/ogg", FormatCode::OGG),
            ("audio/flac", FormatCode::FLAC),
            ("audio/x-flac", FormatCode::FLAC),
            ("audio/aac", FormatCode::AAC),
            ("audio/mp4", FormatCode::M4A),
            ("audio/x-m4a", FormatCode::M4A),
            ("audio/wav", FormatCode::WAVE),
            ("audio/x-wav", FormatCode::WAVE),
            ("audio/aiff", FormatCode::AIFF),
            ("video/mp4", FormatCode::MP4),
            ("video/x-ms-wmv", FormatCode::WMV),
            ("image/jpeg", FormatCode::IMAGE_EXIF),
            ("image/png", FormatCode::IMAGE_PNG),
            ("audio/x-mpegurl", FormatCode::M3U_PLAYLIST),
            ("application/vnd.apple.mpegurl", FormatCode::M3U_PLAYLIST),
            ("application/vnd.ms-wpl", FormatCode::WPL_PLAYLIST),
            ("  text/html ;q=1", FormatCode::HTML),
            ("audio/unknown", FormatCode::UNDEFINED),
            ("", FormatCode::UNDEFINED),
        ];
        for (mime, code) in cases {
            assert_eq!(FormatCode::from_mime(mime), code, "{mime:?}");
        }
    }

    #[test]
    fn preferred_forms_map_back() {
        for &(_, code) in EXTENSIONS {
            let ext = code.extension().unwrap();
            assert_eq!(FormatCode::from_extension(ext), code, "{code:?}");
        }
        for &(_, code) in MIME_TYPES {
            let mime = code.mime_type().unwrap();
            assert_eq!(FormatCode::from_mime(mime), code, "{code:?}");
        }
        assert_eq!(FormatCode::MP3.extension(), Some("mp3"));
        assert_eq!(FormatCode::WAVE.extension(), Some("wav"));
        assert_eq!(FormatCode::IMAGE_EXIF.extension(), Some("jpg"));
        assert_eq!(FormatCode::M4A.mime_type(), Some("audio/mp4"));
        assert_eq!(FormatCode::ASSOCIATION.extension(), None);
        assert_eq!(FormatCode::ASSOCIATION.mime_type(), None);
        for key in EXTENSIONS
            .iter()
            .map(|(e, _)| e)
            .chain(MIME_TYPES.iter().map(|(m, _)| m))
        {
            assert_eq!(*key, key.to_ascii_lowercase(), "tables hold lower case");
        }
    }

    #[test]
    fn categories() {
        for &code in FormatCode::COMMON_AUDIO {
            assert!(
                code.is_audio() && !code.is_video() && !code.is_image(),
                "{code:?}"
            );
        }
        for &code in FormatCode::COMMON_PLAYLISTS {
            assert!(code.is_playlist() && code.is_abstract(), "{code:?}");
        }
        assert!(FormatCode::MKA.is_audio() && !FormatCode::MKA.is_video());
        assert!(FormatCode::MKV.is_video() && !FormatCode::MKV.is_audio());
        assert!(FormatCode::WMV.is_video());
        assert!(FormatCode::IMAGE_EXIF.is_image());
        assert!(FormatCode::JPEG_XR.is_image());
        assert!(!FormatCode::ALL_IMAGES.is_image());
        assert!(FormatCode::ABSTRACT_AUDIO_ALBUM.is_abstract());
        assert!(!FormatCode::ABSTRACT_AUDIO_ALBUM.is_playlist());
        assert!(!FormatCode::XML_DOCUMENT.is_abstract());
        assert!(!FormatCode::MP3.is_abstract() && !FormatCode::MP3.is_playlist());
        assert!(!FormatCode::ASSOCIATION.is_audio());
        let classes = |c: FormatCode| {
            [c.is_audio(), c.is_video(), c.is_image(), c.is_abstract()]
                .iter()
                .filter(|&&b| b)
                .count()
        };
        for &code in FormatCode::ALL {
            assert!(classes(code) <= 1, "{code:?} is in two classes");
        }
    }

    #[test]
    fn format_code_is_a_dword_tag() {
        assert_eq!(
            super::super::TagValue::from(FormatCode::MP3),
            super::super::TagValue::Dword(0x3009)
        );
    }
}
