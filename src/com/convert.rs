//! Conversions between the core's data types and the C structures of the WMDM headers.

use windows::Win32::Foundation::RECT;
use windows::Win32::Graphics::Gdi::BITMAPINFOHEADER;
use windows::Win32::Media::Audio::WAVEFORMATEX;
use windows::Win32::Media::DeviceManager::{WMDMDATETIME, WMDMID, WMDMRIGHTS};
use windows::Win32::Media::MediaFoundation::VIDEOINFOHEADER;
use windows::Win32::UI::WindowsAndMessaging::{CreateIconFromResourceEx, LR_DEFAULTCOLOR};

use crate::error::{Error, Result};
use crate::provider::{
    BitmapInfoHeader, Icon, Rect, RightsRecord, VideoFormat, WaveFormat, WmdmId,
};
use crate::time::WmdmDateTime;

/// A `WAVEFORMATEX` without its trailing extra bytes (an array element has no room for them).
pub(crate) fn wave_to_c(w: &WaveFormat) -> WAVEFORMATEX {
    WAVEFORMATEX {
        wFormatTag: w.format_tag,
        nChannels: w.channels,
        nSamplesPerSec: w.samples_per_sec,
        nAvgBytesPerSec: w.avg_bytes_per_sec,
        nBlockAlign: w.block_align,
        wBitsPerSample: w.bits_per_sample,
        cbSize: 0,
    }
}

/// The core's format from a caller's `WAVEFORMATEX` (extra bytes are not read: their length
/// field cannot be trusted across the boundary).
pub(crate) fn wave_from_c(w: &WAVEFORMATEX) -> WaveFormat {
    WaveFormat {
        format_tag: w.wFormatTag,
        channels: w.nChannels,
        samples_per_sec: w.nSamplesPerSec,
        avg_bytes_per_sec: w.nAvgBytesPerSec,
        block_align: w.nBlockAlign,
        bits_per_sample: w.wBitsPerSample,
        extra: Vec::new(),
    }
}

fn rect_to_c(r: &Rect) -> RECT {
    RECT {
        left: r.left,
        top: r.top,
        right: r.right,
        bottom: r.bottom,
    }
}

fn rect_from_c(r: &RECT) -> Rect {
    Rect {
        left: r.left,
        top: r.top,
        right: r.right,
        bottom: r.bottom,
    }
}

/// `VIDEOINFOHEADER` from the core's video format.
pub(crate) fn video_to_c(v: &VideoFormat) -> VIDEOINFOHEADER {
    let b = &v.bmi_header;
    VIDEOINFOHEADER {
        rcSource: rect_to_c(&v.source),
        rcTarget: rect_to_c(&v.target),
        dwBitRate: v.bit_rate,
        dwBitErrorRate: v.bit_error_rate,
        AvgTimePerFrame: v.avg_time_per_frame,
        bmiHeader: BITMAPINFOHEADER {
            biSize: std::mem::size_of::<BITMAPINFOHEADER>() as u32,
            biWidth: b.width,
            biHeight: b.height,
            biPlanes: b.planes,
            biBitCount: b.bit_count,
            biCompression: b.compression,
            biSizeImage: b.size_image,
            biXPelsPerMeter: b.x_pels_per_meter,
            biYPelsPerMeter: b.y_pels_per_meter,
            biClrUsed: b.clr_used,
            biClrImportant: b.clr_important,
        },
    }
}

/// The core's video format from a caller's `VIDEOINFOHEADER`.
pub(crate) fn video_from_c(v: &VIDEOINFOHEADER) -> VideoFormat {
    let b = &v.bmiHeader;
    VideoFormat {
        source: rect_from_c(&v.rcSource),
        target: rect_from_c(&v.rcTarget),
        bit_rate: v.dwBitRate,
        bit_error_rate: v.dwBitErrorRate,
        avg_time_per_frame: v.AvgTimePerFrame,
        bmi_header: BitmapInfoHeader {
            width: b.biWidth,
            height: b.biHeight,
            planes: b.biPlanes,
            bit_count: b.biBitCount,
            compression: b.biCompression,
            size_image: b.biSizeImage,
            x_pels_per_meter: b.biXPelsPerMeter,
            y_pels_per_meter: b.biYPelsPerMeter,
            clr_used: b.biClrUsed,
            clr_important: b.biClrImportant,
        },
    }
}

/// `WMDMDATETIME` from the core's date.
pub(crate) fn date_to_c(d: &WmdmDateTime) -> WMDMDATETIME {
    WMDMDATETIME {
        wYear: d.year,
        wMonth: d.month,
        wDay: d.day,
        wHour: d.hour,
        wMinute: d.minute,
        wSecond: d.second,
    }
}

/// `WMDMID` from the core's identifier; its bytes are exactly [`WmdmId::to_struct_bytes`],
/// which is what the MAC covers.
pub(crate) fn id_to_c(id: &WmdmId) -> WMDMID {
    let mut serial = [0u8; WmdmId::MAX_LEN];
    let s = id.serial();
    serial[..s.len()].copy_from_slice(s);
    WMDMID {
        cbSize: WmdmId::STRUCT_SIZE as u32,
        dwVendorID: id.vendor_id(),
        pID: serial,
        SerialNumberLength: s.len() as u32,
    }
}

/// An all-zero `WMDMID`, for out-parameters of failed calls.
pub(crate) fn empty_id() -> WMDMID {
    WMDMID {
        cbSize: 0,
        dwVendorID: 0,
        pID: [0; WmdmId::MAX_LEN],
        SerialNumberLength: 0,
    }
}

/// `WMDMRIGHTS` from a rights record.
pub(crate) fn rights_to_c(r: &RightsRecord) -> WMDMRIGHTS {
    WMDMRIGHTS {
        cbSize: RightsRecord::STRUCT_SIZE as u32,
        dwContentType: r.content_type,
        fuFlags: r.flags.bits(),
        fuRights: r.rights.bits(),
        dwAppSec: r.app_sec,
        dwPlaybackCount: r.playback_count,
        ExpirationDate: date_to_c(&r.expiration),
    }
}

/// The largest image of an ICO file, as the resource bytes CreateIconFromResourceEx wants.
fn best_image(ico: &[u8]) -> Result<(&[u8], i32, i32)> {
    let count = u16::from_le_bytes([
        *ico.get(4).ok_or(Error::InvalidArg)?,
        *ico.get(5).ok_or(Error::InvalidArg)?,
    ]) as usize;
    let mut best: Option<(&[u8], i32, i32, u32)> = None;
    for i in 0..count {
        let entry = ico
            .get(6 + 16 * i..6 + 16 * (i + 1))
            .ok_or(Error::InvalidArg)?;
        // A width or height byte of 0 means 256 pixels.
        let w = if entry[0] == 0 {
            256
        } else {
            i32::from(entry[0])
        };
        let h = if entry[1] == 0 {
            256
        } else {
            i32::from(entry[1])
        };
        let len = u32::from_le_bytes([entry[8], entry[9], entry[10], entry[11]]) as usize;
        let off = u32::from_le_bytes([entry[12], entry[13], entry[14], entry[15]]) as usize;
        let end = off.checked_add(len).ok_or(Error::InvalidArg)?;
        let image = ico.get(off..end).ok_or(Error::InvalidArg)?;
        let area = (w * h) as u32;
        if best.is_none_or(|(_, _, _, a)| area > a) {
            best = Some((image, w, h, area));
        }
    }
    best.map(|(img, w, h, _)| (img, w, h))
        .ok_or(Error::InvalidArg)
}

/// GetDeviceIcon's result: an HICON made from the core's ICO bytes, as the 32-bit value the
/// interface passes (window-manager handles fit in 32 bits on 64-bit Windows too).
///
/// # Errors
/// [`Error::InvalidArg`] for a malformed ICO; [`Error::Fail`] when Windows rejects the image.
pub(crate) fn icon_to_handle(icon: &Icon) -> Result<u32> {
    let (image, w, h) = best_image(icon.ico_bytes())?;
    // SAFETY: `image` is a valid slice for the duration of the call; 0x0003_0000 is the
    // version CreateIconFromResourceEx requires.
    let handle =
        unsafe { CreateIconFromResourceEx(image, true, 0x0003_0000, w, h, LR_DEFAULTCOLOR) }
            .map_err(|_| Error::Fail)?;
    Ok(handle.0 as usize as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wmdmid_bytes_match_the_core_layout() {
        let id = WmdmId::new(7, b"abc".to_vec()).unwrap();
        let c = id_to_c(&id);
        // SAFETY (test): WMDMID is plain old data of exactly STRUCT_SIZE bytes.
        let bytes: [u8; WmdmId::STRUCT_SIZE] = unsafe { std::mem::transmute(c) };
        assert_eq!(bytes, id.to_struct_bytes());
    }

    #[test]
    fn generic_icon_becomes_a_handle() {
        let h = icon_to_handle(&Icon::generic([1, 2, 3])).unwrap();
        assert_ne!(h, 0);
        assert!(best_image(&[0, 0, 1, 0, 1, 0]).is_err());
    }
}
