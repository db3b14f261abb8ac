//! Which kind of file system a folder is on: from `statfs`'s `f_type` and the mount table
//! (`/proc/self/mountinfo`) on Linux; unknown elsewhere.

use std::path::Path;

/// The kind of file system a device folder is on, as far as the host says
/// ([`FsDevice::fs_kind`](crate::providers::fs::FsDevice::fs_kind)).
///
/// It decides defaults (FAT name rules on FAT-like media, see
/// [`FsKind::is_fat_like`]); what a file system actually refuses is learnt from its answers
/// ([`FsQuirks`](crate::providers::fs::FsQuirks)).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FsKind {
    /// FAT12/16/32 through the kernel's driver (`vfat`, `msdos`).
    Fat,
    /// exFAT through the kernel's driver.
    ExFat,
    /// A FAT image through FUSE's fusefat (`fuse.fusefat`).
    FuseFat,
    /// A block device through FUSE (`fuseblk`: exfat-fuse, ntfs-3g, ...): most often a
    /// player's or a card's FAT or exFAT.
    FuseBlock,
    /// An MTP device through FUSE (jmtpfs, simple-mtpfs, go-mtpfs, gvfs's FUSE bridge, ...).
    FuseMtp,
    /// Another FUSE file system; the subtype as the mount table names it (`sshfs`, ...).
    Fuse(String),
    /// Any other file system, as the mount table names it (`ext4`, `btrfs`, `tmpfs`, ...).
    Other(String),
    /// The host does not say.
    Unknown,
}

impl FsKind {
    /// True for the kinds where FAT's name rules hold (or most likely hold): FAT, exFAT,
    /// fusefat and FUSE block devices.
    pub fn is_fat_like(&self) -> bool {
        matches!(
            self,
            FsKind::Fat | FsKind::ExFat | FsKind::FuseFat | FsKind::FuseBlock
        )
    }

    /// True when modification times have a 2-second resolution (FAT keeps even seconds).
    pub fn coarse_times(&self) -> bool {
        matches!(self, FsKind::Fat | FsKind::FuseFat)
    }

    /// The kind a mount table's file-system type names (hosts with a mount table).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    pub(crate) fn from_mount_type(fstype: &str) -> FsKind {
        match fstype {
            "vfat" | "msdos" | "fat" | "umsdos" => FsKind::Fat,
            "exfat" => FsKind::ExFat,
            "fuseblk" => FsKind::FuseBlock,
            "fuse.fusefat" => FsKind::FuseFat,
            "fuse" => FsKind::Fuse(String::new()),
            other => match other.strip_prefix("fuse.") {
                Some(sub) if is_mtp(sub) => FsKind::FuseMtp,
                Some(sub) => FsKind::Fuse(sub.to_string()),
                None => FsKind::Other(other.to_string()),
            },
        }
    }
}

/// FUSE subtypes of MTP file systems.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn is_mtp(subtype: &str) -> bool {
    subtype.contains("mtp") || subtype == "gvfsd-fuse" || subtype == "android-file-transfer"
}

/// The kind of file system `path` is on.
pub(crate) fn detect(path: &Path) -> FsKind {
    imp::detect(path)
}

#[cfg(target_os = "linux")]
mod imp {
    use super::FsKind;
    use std::path::{Path, PathBuf};

    const MSDOS_SUPER_MAGIC: u64 = 0x4d44;
    const EXFAT_SUPER_MAGIC: u64 = 0x2011_bab0;
    const FUSE_SUPER_MAGIC: u64 = 0x6573_5546;

    pub(super) fn detect(path: &Path) -> FsKind {
        let magic = rustix::fs::statfs(path).ok().and_then(|st| {
            #[allow(clippy::useless_conversion, clippy::unnecessary_fallible_conversions)]
            u64::try_from(st.f_type).ok()
        });
        match magic {
            Some(MSDOS_SUPER_MAGIC) => return FsKind::Fat,
            Some(EXFAT_SUPER_MAGIC) => return FsKind::ExFat,
            _ => {}
        }
        // The mount table names FUSE subtypes and everything else.
        let from_table = std::fs::read("/proc/self/mountinfo")
            .ok()
            .and_then(|b| {
                let canon = std::fs::canonicalize(path).ok()?;
                mount_type(&String::from_utf8_lossy(&b), &canon)
            })
            .map(|t| FsKind::from_mount_type(&t));
        match (from_table, magic) {
            (Some(kind), _) => kind,
            (None, Some(FUSE_SUPER_MAGIC)) => FsKind::Fuse(String::new()),
            _ => FsKind::Unknown,
        }
    }

    /// The file-system type of the mount holding `path` (canonical): the entry with the
    /// longest mount point that contains it, the last one mounted among equals.
    pub(super) fn mount_type(mountinfo: &str, path: &Path) -> Option<String> {
        let mut best: Option<(usize, String)> = None;
        for line in mountinfo.lines() {
            // `id parent major:minor root mountpoint options [optional...] - type source super`
            let Some((left, right)) = line.split_once(" - ") else {
                continue;
            };
            let Some(point) = left.split(' ').nth(4) else {
                continue;
            };
            let Some(fstype) = right.split(' ').next() else {
                continue;
            };
            let point = PathBuf::from(unescape(point));
            if !path.starts_with(&point) {
                continue;
            }
            let depth = point.components().count();
            if best.as_ref().is_none_or(|(d, _)| depth >= *d) {
                best = Some((depth, fstype.to_string()));
            }
        }
        best.map(|(_, t)| t)
    }

    /// Undoes the mount table's octal escapes (`\040` for a space, `\011`, `\012`, `\134`).
    fn unescape(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            let octal = bytes
                .get(i + 1..i + 4)
                .filter(|d| b == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)))
                .and_then(|d| std::str::from_utf8(d).ok())
                .and_then(|d| u8::from_str_radix(d, 8).ok());
            match octal {
                Some(v) => {
                    out.push(v);
                    i += 4;
                }
                None => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        const TABLE: &str = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
45 22 0:40 / /media/me/MY\\040STICK rw,nosuid - vfat /dev/sdb1 rw,fmask=0022
46 22 0:41 / /tmp/fqmnt rw,nosuid,nodev - fuse.fusefat fusefat rw,user_id=0
47 22 0:42 / /run/user/1000/gvfs rw - fuse.gvfsd-fuse gvfsd-fuse rw
48 22 0:43 / /mnt/phone rw - fuse.jmtpfs jmtpfs rw
49 22 0:44 / /mnt/card rw - fuseblk /dev/sdc1 rw
50 22 0:45 / /mnt/ex rw - exfat /dev/sdd1 rw
garbage line
";

        #[test]
        fn the_longest_mount_point_names_the_type() {
            let kind =
                |p: &str| mount_type(TABLE, Path::new(p)).map(|t| FsKind::from_mount_type(&t));
            assert_eq!(kind("/media/me/MY STICK/Music"), Some(FsKind::Fat));
            assert_eq!(
                kind("/media/me/MY STICKER"),
                Some(FsKind::Other("ext4".into()))
            );
            assert_eq!(kind("/tmp/fqmnt"), Some(FsKind::FuseFat));
            assert_eq!(
                kind("/run/user/1000/gvfs/mtp:host=x"),
                Some(FsKind::FuseMtp)
            );
            assert_eq!(kind("/mnt/phone/Music"), Some(FsKind::FuseMtp));
            assert_eq!(kind("/mnt/card"), Some(FsKind::FuseBlock));
            assert_eq!(kind("/mnt/ex/a"), Some(FsKind::ExFat));
            assert_eq!(kind("/home"), Some(FsKind::Other("ext4".into())));
            assert!(FsKind::FuseBlock.is_fat_like() && !FsKind::FuseMtp.is_fat_like());
        }

        #[test]
        fn a_real_folder_is_detected() {
            let dir = std::env::temp_dir();
            assert_ne!(detect(&dir), FsKind::Unknown);
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use super::FsKind;
    use std::path::Path;

    /// Hosts other than Linux do not say here; FAT rules are then the caller's choice.
    pub(super) fn detect(_path: &Path) -> FsKind {
        FsKind::Unknown
    }
}
