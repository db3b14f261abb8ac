//! The media item DeviceSyncError passes: a read-only IWMPMedia/IWMPMedia2 over a snapshot of
//! the item that failed (a library track, a playlist or a device object), with an
//! IWMPErrorItem for the error.
//!
//! Both are dual interfaces; the objects serve the vtable only. Their IDispatch has no type
//! information and no members, which is what IDispatch's contract allows
//! (GetTypeInfoCount = 0).

use windows::Win32::Foundation::VARIANT_BOOL;
use windows::Win32::Media::MediaPlayer::{
    IWMPErrorItem, IWMPErrorItem_Impl, IWMPMedia, IWMPMedia_Impl, IWMPMedia2, IWMPMedia2_Impl,
    IWMPPlaylist,
};
use windows::Win32::System::Com::{
    DISPATCH_FLAGS, DISPPARAMS, EXCEPINFO, IDispatch, IDispatch_Impl, ITypeInfo,
};
use windows::Win32::System::Variant::VARIANT;
use windows_core::{BSTR, GUID, HRESULT, Interface, PCWSTR, Ref, implement};

use super::util::{put, run, zero};
use super::wmp::vbool;
use crate::error::{Error, Hresult, Result};
use crate::library::Track;
use crate::sync::SyncItem;

/// `NS_E_ATTRIBUTE_READ_ONLY` (nserror.h): the setters of a read-only media item.
const READ_ONLY: Error = Error::from_hresult(Hresult::from_u32(0xC00D_0BD6));
/// `DISP_E_BADINDEX`: there is no type information.
const DISP_E_BADINDEX: HRESULT = HRESULT(0x8002_000B_u32 as i32);
/// `DISP_E_UNKNOWNNAME`: there are no dispatch members.
const DISP_E_UNKNOWNNAME: HRESULT = HRESULT(0x8002_0006_u32 as i32);
/// `DISP_E_MEMBERNOTFOUND`.
const DISP_E_MEMBERNOTFOUND: HRESULT = HRESULT(0x8002_0003_u32 as i32);

/// IDispatch for a vtable-only dual interface. (`#[implement]` stays outside the macro, as in
/// `enums.rs`.)
macro_rules! no_dispatch {
    ($t:ty) => {
        impl IDispatch_Impl for $t {
            fn GetTypeInfoCount(&self) -> windows_core::Result<u32> {
                Ok(0)
            }

            fn GetTypeInfo(&self, _: u32, _: u32) -> windows_core::Result<ITypeInfo> {
                Err(DISP_E_BADINDEX.into())
            }

            fn GetIDsOfNames(
                &self,
                _: *const GUID,
                _: *const PCWSTR,
                _: u32,
                _: u32,
                _: *mut i32,
            ) -> windows_core::Result<()> {
                Err(DISP_E_UNKNOWNNAME.into())
            }

            fn Invoke(
                &self,
                _: i32,
                _: *const GUID,
                _: u32,
                _: DISPATCH_FLAGS,
                _: *const DISPPARAMS,
                _: *mut VARIANT,
                _: *mut EXCEPINFO,
                _: *mut u32,
            ) -> windows_core::Result<()> {
                Err(DISP_E_MEMBERNOTFOUND.into())
            }
        }
    };
}

/// The media item for a failed sync item, as the IDispatch DeviceSyncError carries. `track`
/// is the library's view of a [`SyncItem::Track`] with the names of the playlists it is in
/// (`None` when the library no longer has it: the item then has only its id).
pub(crate) fn media_for(
    item: &SyncItem,
    track: Option<(Track, Vec<String>)>,
    error: Error,
) -> Option<IDispatch> {
    let media = match (item, track) {
        (SyncItem::Track(_), Some((t, member_of))) => ComMedia::of_track(&t, member_of, error),
        (SyncItem::Track(id), None) => ComMedia {
            key: format!("track:{}", id.0),
            name: String::new(),
            source_url: String::new(),
            duration: 0.0,
            attributes: Vec::new(),
            member_of: Vec::new(),
            error,
        },
        (SyncItem::Playlist(name), _) => ComMedia {
            key: format!("playlist:{name}"),
            name: name.clone(),
            source_url: String::new(),
            duration: 0.0,
            attributes: vec![("Title", name.clone())],
            member_of: Vec::new(),
            error,
        },
        (SyncItem::DeviceObject(path), _) => ComMedia {
            key: format!("object:{path}"),
            name: path.rsplit(['/', '\\']).next().unwrap_or(path).to_owned(),
            source_url: path.clone(),
            duration: 0.0,
            attributes: vec![("SourceURL", path.clone())],
            member_of: Vec::new(),
            error,
        },
    };
    IWMPMedia2::from(media).cast().ok()
}

/// `MM:SS` under an hour, `H:MM:SS` from an hour on (WMP's durationString).
pub(crate) fn duration_string(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if h == 0 {
        format!("{m:02}:{s:02}")
    } else {
        format!("{h}:{m:02}:{s:02}")
    }
}

/// IWMPMedia/IWMPMedia2 over a snapshot of a sync item; every attribute is read-only.
#[implement(IWMPMedia2)]
#[derive(Debug)]
struct ComMedia {
    /// What isIdentical compares: the item's kind and key.
    key: String,
    name: String,
    source_url: String,
    duration: f64,
    /// WMP attribute names and values, in getAttributeName order.
    attributes: Vec<(&'static str, String)>,
    /// The library playlists the item is in (isMemberOf).
    member_of: Vec<String>,
    error: Error,
}

impl ComMedia {
    fn of_track(t: &Track, member_of: Vec<String>, error: Error) -> ComMedia {
        let num = |n: Option<u32>| n.map(|v| v.to_string()).unwrap_or_default();
        let source_url = t.path.to_string_lossy().into_owned();
        let duration = t.duration.as_secs_f64();
        let name = if t.title.is_empty() {
            t.template_field("filename").unwrap_or_default()
        } else {
            t.title.clone()
        };
        ComMedia {
            key: format!("track:{}", t.id.0),
            attributes: vec![
                ("SourceURL", source_url.clone()),
                ("Title", t.title.clone()),
                ("Author", t.artist.clone()),
                ("WM/AlbumTitle", t.album.clone()),
                ("WM/AlbumArtist", t.album_artist.clone()),
                ("WM/Genre", t.genre.clone()),
                ("WM/TrackNumber", num(t.track_number)),
                ("WM/PartOfSet", num(t.disc)),
                ("WM/Year", num(t.year)),
                ("Duration", duration.to_string()),
                ("Bitrate", t.bitrate.to_string()),
                ("FileSize", t.size.to_string()),
                ("FileType", t.extension()),
                ("UserPlayCount", t.play_count.to_string()),
            ],
            name,
            source_url,
            duration,
            member_of,
            error,
        }
    }

    fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn indexed(&self, index: i32) -> Result<&(&'static str, String)> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.attributes.get(i))
            .ok_or(Error::InvalidArg)
    }
}

fn text(b: &BSTR) -> Result<String> {
    String::from_utf16(b).map_err(|_| Error::InvalidArg)
}

no_dispatch!(ComMedia_Impl);

impl IWMPMedia_Impl for ComMedia_Impl {
    fn get_isIdentical(
        &self,
        other: Ref<IWMPMedia>,
        pvbool: *mut VARIANT_BOOL,
    ) -> windows_core::Result<()> {
        zero(pvbool);
        run(|| {
            if pvbool.is_null() {
                return Err(Error::NullPointer);
            }
            let other = other.ok().map_err(|_| Error::NullPointer)?;
            let same = other
                .cast_object_ref::<ComMedia>()
                .is_ok_and(|o| o.key == self.key);
            put(pvbool, vbool(same))
        })
    }

    fn sourceURL(&self, p: *mut BSTR) -> windows_core::Result<()> {
        zero(p);
        run(|| put(p, BSTR::from(self.source_url.as_str())))
    }

    fn name(&self, p: *mut BSTR) -> windows_core::Result<()> {
        zero(p);
        run(|| put(p, BSTR::from(self.name.as_str())))
    }

    fn Setname(&self, _: &BSTR) -> windows_core::Result<()> {
        run(|| Err(READ_ONLY))
    }

    fn imageSourceWidth(&self, p: *mut i32) -> windows_core::Result<()> {
        // Audio and playlists have no image; WMP reports 0.
        zero(p);
        run(|| put(p, 0))
    }

    fn imageSourceHeight(&self, p: *mut i32) -> windows_core::Result<()> {
        zero(p);
        run(|| put(p, 0))
    }

    fn markerCount(&self, p: *mut i32) -> windows_core::Result<()> {
        zero(p);
        run(|| put(p, 0))
    }

    fn getMarkerTime(&self, _: i32, p: *mut f64) -> windows_core::Result<()> {
        zero(p);
        // No markers, so every marker number is out of range.
        run(|| Err(Error::InvalidArg))
    }

    fn getMarkerName(&self, _: i32, p: *mut BSTR) -> windows_core::Result<()> {
        zero(p);
        run(|| Err(Error::InvalidArg))
    }

    fn duration(&self, p: *mut f64) -> windows_core::Result<()> {
        zero(p);
        run(|| put(p, self.duration))
    }

    fn durationString(&self, p: *mut BSTR) -> windows_core::Result<()> {
        zero(p);
        // Whole seconds, rounded as WMP shows them.
        let secs = self.duration.round() as u64;
        run(|| put(p, BSTR::from(duration_string(secs))))
    }

    fn attributeCount(&self, p: *mut i32) -> windows_core::Result<()> {
        zero(p);
        run(|| put(p, i32::try_from(self.attributes.len()).unwrap_or(i32::MAX)))
    }

    fn getAttributeName(&self, index: i32, p: *mut BSTR) -> windows_core::Result<()> {
        zero(p);
        run(|| {
            if p.is_null() {
                return Err(Error::NullPointer);
            }
            put(p, BSTR::from(self.indexed(index)?.0))
        })
    }

    fn getItemInfo(&self, name: &BSTR, p: *mut BSTR) -> windows_core::Result<()> {
        zero(p);
        run(|| {
            if p.is_null() {
                return Err(Error::NullPointer);
            }
            // An attribute the item does not have reads as the empty string, as in WMP.
            let value = self.attribute(&text(name)?).unwrap_or_default();
            put(p, BSTR::from(value))
        })
    }

    fn setItemInfo(&self, _: &BSTR, _: &BSTR) -> windows_core::Result<()> {
        run(|| Err(READ_ONLY))
    }

    fn getItemInfoByAtom(&self, atom: i32, p: *mut BSTR) -> windows_core::Result<()> {
        // There is no media collection to hand out atoms, so an atom is the attribute's index
        // (docs/com.md).
        zero(p);
        run(|| {
            if p.is_null() {
                return Err(Error::NullPointer);
            }
            put(p, BSTR::from(self.indexed(atom)?.1.as_str()))
        })
    }

    fn isMemberOf(
        &self,
        playlist: Ref<IWMPPlaylist>,
        p: *mut VARIANT_BOOL,
    ) -> windows_core::Result<()> {
        zero(p);
        run(|| {
            if p.is_null() {
                return Err(Error::NullPointer);
            }
            let playlist = playlist.ok().map_err(|_| Error::NullPointer)?;
            let mut name = BSTR::new();
            // SAFETY: a live interface pointer the caller passed for this call; `name` is a
            // valid BSTR out pointer.
            unsafe { playlist.name(&mut name) }.map_err(|_| Error::InvalidArg)?;
            let name = text(&name)?;
            put(p, vbool(self.member_of.contains(&name)))
        })
    }

    fn isReadOnlyItem(&self, _: &BSTR, p: *mut VARIANT_BOOL) -> windows_core::Result<()> {
        zero(p);
        run(|| put(p, vbool(true)))
    }
}

impl IWMPMedia2_Impl for ComMedia_Impl {
    fn error(&self) -> windows_core::Result<IWMPErrorItem> {
        Ok(ComErrorItem {
            error: self.error.clone(),
        }
        .into())
    }
}

/// IWMPErrorItem for the error that failed the item.
#[implement(IWMPErrorItem)]
#[derive(Debug)]
struct ComErrorItem {
    error: Error,
}

no_dispatch!(ComErrorItem_Impl);

impl IWMPErrorItem_Impl for ComErrorItem_Impl {
    fn errorCode(&self, p: *mut i32) -> windows_core::Result<()> {
        zero(p);
        run(|| put(p, self.error.hresult().0))
    }

    fn errorDescription(&self, p: *mut BSTR) -> windows_core::Result<()> {
        zero(p);
        run(|| put(p, BSTR::from(self.error.to_string())))
    }

    fn errorContext(&self, p: *mut VARIANT) -> windows_core::Result<()> {
        // No context: VT_EMPTY.
        zero(p);
        run(|| put(p, VARIANT::default()))
    }

    fn remedy(&self, p: *mut i32) -> windows_core::Result<()> {
        // No remedy to offer: 0, as WMP reports when it has none.
        zero(p);
        run(|| put(p, 0))
    }

    fn customUrl(&self, p: *mut BSTR) -> windows_core::Result<()> {
        zero(p);
        run(|| put(p, BSTR::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::duration_string;

    #[test]
    fn duration_strings() {
        assert_eq!(duration_string(0), "00:00");
        assert_eq!(duration_string(205), "03:25");
        assert_eq!(duration_string(3599), "59:59");
        assert_eq!(duration_string(3723), "1:02:03");
    }
}
