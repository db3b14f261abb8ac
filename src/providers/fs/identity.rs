//! The device identity file, `.wmdm/device.id`.
//!
//! UTF-8 text of `key=value` lines; lines starting with `#` and unknown keys are ignored:
//!
//! ```text
//! # wmdm device identity
//! version=1
//! serial=3F2A9C0D11E84B7A90C1D2E3F4A5B6C7
//! name=My Player
//! ```
//!
//! `serial` is 32 upper-case hexadecimal digits, made up at random when the file is first
//! created; it is the device's serial number and the prefix of every persistent unique ID on it.
//! `name` is the friendly name; when absent the root folder's name is used.

use std::path::Path;

use crate::error::Result;

use super::quirks::FsIo;

/// What the identity file holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Identity {
    pub(crate) serial: String,
    pub(crate) name: Option<String>,
}

impl Identity {
    /// Parses the file's text; `None` when it has no valid serial.
    pub(crate) fn parse(text: &str) -> Option<Identity> {
        let mut serial = None;
        let mut name = None;
        for line in text.lines() {
            let line = line.trim_end_matches('\r');
            if line.starts_with('#') {
                continue;
            }
            if let Some((k, v)) = line.split_once('=') {
                match k.trim() {
                    "serial" if is_serial(v.trim()) => serial = Some(v.trim().to_string()),
                    "name" if !v.trim().is_empty() => name = Some(v.trim().to_string()),
                    _ => {}
                }
            }
        }
        Some(Identity {
            serial: serial?,
            name,
        })
    }

    /// The file's text.
    pub(crate) fn render(&self) -> String {
        let mut out = format!(
            "# wmdm device identity\nversion=1\nserial={}\n",
            self.serial
        );
        if let Some(n) = &self.name {
            // A line break in a friendly name would end the record early.
            let clean: String = n.chars().filter(|c| !c.is_control()).collect();
            out.push_str(&format!("name={clean}\n"));
        }
        out
    }

    /// A new identity with a random serial.
    pub(crate) fn generate() -> Identity {
        Identity {
            serial: format!("{:016X}{:016X}", random_u64(), random_u64()),
            name: None,
        }
    }

    /// Reads `path`, creating it with a new serial when it is missing or unreadable.
    ///
    /// # Errors
    /// I/O errors creating the file.
    pub(crate) fn load_or_create(path: &Path, io: &FsIo) -> Result<Identity> {
        if let Ok(bytes) = std::fs::read(path) {
            if let Some(id) = Identity::parse(&String::from_utf8_lossy(&bytes)) {
                return Ok(id);
            }
            tracing::warn!(?path, "device identity file is damaged; writing a new one");
        }
        let id = Identity::generate();
        io.write_state(path, id.render().as_bytes())?;
        Ok(id)
    }

    /// Reads `path` without ever writing: when it is missing or damaged, the identity is
    /// derived from `root` (a SHA-256 of its canonical path), so every read-only open of one
    /// folder without an identity file sees the same serial number, and so the same unique IDs
    /// for the same objects within a session.
    pub(crate) fn load_read_only(path: &Path, root: &Path) -> Identity {
        if let Ok(bytes) = std::fs::read(path)
            && let Some(id) = Identity::parse(&String::from_utf8_lossy(&bytes))
        {
            return id;
        }
        use sha2::Digest;
        let digest = sha2::Sha256::digest(root.to_string_lossy().as_bytes());
        let serial: String = digest.iter().take(16).map(|b| format!("{b:02X}")).collect();
        Identity { serial, name: None }
    }

    /// Writes the identity to `path` atomically.
    ///
    /// # Errors
    /// I/O errors.
    pub(crate) fn save(&self, path: &Path, io: &FsIo) -> Result<()> {
        io.write_state(path, self.render().as_bytes())
    }
}

fn is_serial(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

pub(crate) use crate::sys::files::random_u64;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_bad_serials() {
        let mut id = Identity::generate();
        id.name = Some("Player\nname".into());
        let back = Identity::parse(&id.render()).unwrap();
        assert_eq!(back.serial, id.serial);
        assert_eq!(back.name.as_deref(), Some("Playername"));
        assert_eq!(Identity::parse("serial=xyz\n"), None);
        assert_eq!(Identity::parse(""), None);
        assert_ne!(Identity::generate().serial, Identity::generate().serial);
    }
}
