//! Partnerships: the library's sixteen slots, WMP's device status, and the on-device marker.
//!
//! A library has sixteen partnership slots, indexes 1-16 (0 means "no partnership"), as WMP's
//! `Sync01`..`Sync16` playlist attributes do (Microsoft's reference: <https://learn.microsoft.com/en-us/windows/win32/wmdm/enabling-synchronization-with-windows-media-player>). A device is partnered with at
//! most one library: the device carries a [`PartnershipMarker`] (WMP keeps the same facts in
//! `WMPInfo.xml`), and creating a partnership elsewhere replaces it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use super::text::{StateParseError, bad, escape, hex_u64, key_value, lines_after_header, number};
use crate::error::{Error, Result};
use crate::library::TrackId;

/// How many partnerships one library can hold (WMP's limit).
pub const MAX_PARTNERSHIPS: u8 = 16;

/// The name of the library's partnership table in its state folder.
pub const PARTNERSHIPS_FILE_NAME: &str = "partnerships.txt";

/// WMPDeviceStatus: where a device stands with this library (the crate's one type for it,
/// [`flags::SyncDeviceStatus`](crate::flags::SyncDeviceStatus), re-exported here).
pub use crate::flags::SyncDeviceStatus;

/// The marker a partnered device carries (`.wmdm-sync/partnership.txt`), naming the library
/// and the partnership slot.
///
/// Format (UTF-8, LF line ends):
///
/// ```text
/// wmdm-sync-partnership 1
/// library=<32 hex digits>
/// index=<1-16>
/// name=<library name, escaped>
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartnershipMarker {
    /// The owning library's id.
    pub library_id: String,
    /// The partnership's slot in that library, 1-16.
    pub index: u8,
    /// The owning library's display name.
    pub library_name: String,
}

const MARKER_KIND: &str = "wmdm-sync-partnership";

impl PartnershipMarker {
    /// The file's bytes.
    pub fn encode(&self) -> Vec<u8> {
        format!(
            "{MARKER_KIND} 1\nlibrary={}\nindex={}\nname={}\n",
            escape(&self.library_id),
            self.index,
            escape(&self.library_name)
        )
        .into_bytes()
    }

    /// Reads a marker.
    ///
    /// # Errors
    /// A [`StateParseError`] for a wrong header, a missing or repeated field, an index
    /// outside 1-16, or text that is not UTF-8.
    pub fn parse(bytes: &[u8]) -> std::result::Result<PartnershipMarker, StateParseError> {
        let (mut library, mut index, mut name) = (None, None, None);
        for (n, line) in lines_after_header(bytes, MARKER_KIND, 1)? {
            let (k, v) = key_value(n, line)?;
            let slot = match k {
                "library" => &mut library,
                "index" => &mut index,
                "name" => &mut name,
                _ => continue, // newer writers may add fields
            };
            if slot.replace(v).is_some() {
                return Err(bad(n, format!("{k} given twice")));
            }
        }
        let index: u8 = number(0, &index.ok_or_else(|| bad(0, "no index"))?)?;
        if !(1..=MAX_PARTNERSHIPS).contains(&index) {
            return Err(bad(0, "index outside 1-16"));
        }
        let library_id = library.ok_or_else(|| bad(0, "no library"))?;
        if library_id.is_empty() {
            return Err(bad(0, "empty library id"));
        }
        Ok(PartnershipMarker {
            library_id,
            index,
            library_name: name.unwrap_or_default(),
        })
    }
}

/// Per-partnership settings (the item-info attributes WMP stores per device).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartnershipSettings {
    /// PercentSpaceReserved, 0-95.
    pub reserve_percent: u8,
    /// SyncOnConnect.
    pub sync_on_connect: bool,
    /// SyncFilter (1 music, 2 video, 4 pictures, 8 write-only; 0xFF none): applies to the
    /// next sync session only, which puts it back to 0xFF (see [`SyncFilter`](super::SyncFilter)).
    pub sync_filter: u32,
    /// AutoSyncDefaultRules: sync the library's default selection (see
    /// [`default_selection`](super::default_selection)) instead of the playlists selected for
    /// this partnership.
    pub default_rules: bool,
    /// The partnership was made with createPartnership's defaults and no playlist has been
    /// selected for it since: until one is, it syncs the default selection (see
    /// [`default_selection`](super::default_selection)), as WMP's createPartnership(FALSE)
    /// "uses a default set of sync playlists". The first session that finds a playlist
    /// selected for the partnership clears it.
    pub starter: bool,
}

impl Default for PartnershipSettings {
    fn default() -> Self {
        PartnershipSettings {
            reserve_percent: 0,
            sync_on_connect: true,
            sync_filter: 0xFF,
            default_rules: false,
            starter: false,
        }
    }
}

/// What the last sync of a partnership left behind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LastSync {
    /// When it ended, in seconds since the Unix epoch (`None` before the first sync).
    pub time: Option<u64>,
    /// LastSyncErrorCount.
    pub errors: u32,
    /// LastSyncNoFitCount.
    pub no_fit: u32,
    /// SyncItemCount: tracks of this partnership on the device.
    pub items: u32,
}

/// One occupied slot.
///
/// A partnership belongs to the device, not to where it is mounted: it is found by the
/// device's serial number ([`key`](Self::key)), which a folder device keeps on the medium
/// (`.wmdm/device.id`), so the same stick at `/media/me/STICK1` or through another USB port is
/// the same partnership. `device` only records where it was last seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partnership {
    /// The slot, 1-16.
    pub index: u8,
    /// The device's canonical name (a folder device's path) when it was last seen: for
    /// display, and to match a row written before partnerships had serials.
    pub device: String,
    /// The device's serial number (IWMPSyncDevice::get_deviceId), as text: its identity.
    pub serial: String,
    /// The user's name for the device.
    pub friendly_name: String,
    /// Settings.
    pub settings: PartnershipSettings,
    /// The last sync's counters.
    pub last: LastSync,
    /// Skipped files (WMP 12): tracks this partnership copied that the user then deleted from
    /// the device. Later syncs do not copy them again until IncludeSkippedFiles clears this.
    pub skipped: BTreeSet<TrackId>,
}

impl Partnership {
    /// The partnership's device key: the serial number, or the canonical name for a device
    /// that reports no serial (see [`device_key`]).
    pub fn key(&self) -> &str {
        device_key(&self.serial, &self.device)
    }
}

/// The key that names a device to the sync services ([`SyncDevice::key`], event device
/// names, the partnership table): its serial number, which follows the device from one mount
/// point, label or port to the next; the canonical name only for a device without a serial.
///
/// [`SyncDevice::key`]: super::SyncDevice::key
pub fn device_key<'a>(serial: &'a str, canonical_name: &'a str) -> &'a str {
    if serial.is_empty() {
        canonical_name
    } else {
        serial
    }
}

/// A library's partnership table: its identity, sixteen slots, and the devices declined.
///
/// Stored in the library's state folder as [`PARTNERSHIPS_FILE_NAME`]:
///
/// ```text
/// wmdm-sync-partnerships 1
/// library=<32 hex digits>
/// name=<library name>
/// declined=<device key>          (any number)
/// freed=<1-16>:<device key>      (a free slot and the device that held it last; any number)
/// slot=<1-16>                    (starts a partnership; the keys below belong to it)
/// device=<canonical name where the device was last seen>
/// serial=<serial: the device's identity; empty for a device without one>
/// friendly=<friendly name>
/// reserve=<0-95>
/// sync_on_connect=<0|1>
/// sync_filter=<number>
/// default_rules=<0|1>            (optional; 0 when absent)
/// starter=<0|1>                  (optional; 0 when absent: see PartnershipSettings::starter)
/// last_sync=<seconds since the epoch, or empty>
/// last_errors=<n>
/// last_no_fit=<n>
/// items=<n>
/// skipped=<track id, 16 hex>     (any number)
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartnershipTable {
    /// This library's id (32 hex digits), written into every device marker.
    pub library_id: String,
    /// The library's display name.
    pub library_name: String,
    slots: Vec<Partnership>,
    declined: BTreeSet<String>,
    // Free slots and the key of the device that held each last: the slot's `SyncNN` belong
    // to that device, so they are cleared before another device takes the slot.
    freed: BTreeMap<u8, String>,
}

const TABLE_KIND: &str = "wmdm-sync-partnerships";

impl PartnershipTable {
    /// An empty table for a library with this id and name.
    pub fn new(library_id: impl Into<String>, library_name: impl Into<String>) -> Self {
        PartnershipTable {
            library_id: library_id.into(),
            library_name: library_name.into(),
            slots: Vec::new(),
            declined: BTreeSet::new(),
            freed: BTreeMap::new(),
        }
    }

    /// A fresh random library id (32 hex digits).
    pub fn random_library_id() -> String {
        use rand_core::{OsRng, RngCore};
        let mut b = [0u8; 16];
        OsRng.fill_bytes(&mut b);
        hex::encode(b)
    }

    /// Every partnership, by index.
    pub fn partnerships(&self) -> &[Partnership] {
        &self.slots
    }

    /// The partnership with the device of this key ([`device_key`]), if any.
    pub fn for_device(&self, key: &str) -> Option<&Partnership> {
        self.slots.iter().find(|p| p.key() == key)
    }

    /// Mutable access to the partnership with the device of this key.
    pub fn for_device_mut(&mut self, key: &str) -> Option<&mut Partnership> {
        self.slots.iter_mut().find(|p| p.key() == key)
    }

    /// Finds the partnership of a device seen now with `serial` at `canonical_name`,
    /// carrying `marker`, and brings its row up to date (the path it was last seen at; a
    /// serial for a row that had none). Returns the slot, and whether the row changed (the
    /// caller saves the table).
    ///
    /// In order: the row with this serial (wherever the device was mounted before); a row
    /// without a serial at this path (a table from before partnerships had serials, upgraded
    /// once); a row this device's marker names, for our library, when no device in `present`
    /// (the keys of the other devices connected now) holds that row (the device's serial
    /// changed, for instance because its identity file was lost). A row whose serial differs
    /// is never matched by path: another device mounted where ours used to be is not ours.
    pub fn locate(
        &mut self,
        serial: &str,
        canonical_name: &str,
        marker: Option<&PartnershipMarker>,
        present: &dyn Fn(&str) -> bool,
    ) -> Option<(u8, bool)> {
        let key = device_key(serial, canonical_name).to_owned();
        let library_id = self.library_id.clone();
        let at = self
            .slots
            .iter()
            .position(|p| p.key() == key)
            .or_else(|| {
                self.slots
                    .iter()
                    .position(|p| p.serial.is_empty() && p.device == canonical_name)
            })
            .or_else(|| {
                let m = marker.filter(|m| m.library_id == library_id)?;
                self.slots
                    .iter()
                    .position(|p| p.index == m.index && !present(p.key()))
            })?;
        let p = self.slots.get_mut(at)?;
        let changed = p.serial != serial || p.device != canonical_name;
        if changed {
            tracing::info!(
                index = p.index,
                from = %p.device,
                to = canonical_name,
                serial,
                "partnership found at a new path or with a new serial"
            );
            p.serial = serial.to_owned();
            p.device = canonical_name.to_owned();
        }
        Some((p.index, changed))
    }

    /// The partnership in slot `index`.
    pub fn by_index(&self, index: u8) -> Option<&Partnership> {
        self.slots.iter().find(|p| p.index == index)
    }

    /// True when the user declined (or deleted) a partnership with the device of this key.
    pub fn is_declined(&self, key: &str) -> bool {
        self.declined.contains(key)
    }

    /// The slot [`add`](Self::add) would give the device with this key (its own when it has
    /// one), and the key of the device that held that slot last when it is free and was
    /// held before (its playlists' `SyncNN` are that device's). `None` when the table is
    /// full.
    pub fn next_slot(&self, key: &str) -> Option<(u8, Option<&str>)> {
        if let Some(p) = self.for_device(key) {
            return Some((p.index, None));
        }
        let index = (1..=MAX_PARTNERSHIPS).find(|i| self.by_index(*i).is_none())?;
        Some((index, self.freed.get(&index).map(String::as_str)))
    }

    /// Takes the lowest free slot for the device with `serial` seen at `device` (its
    /// canonical name), or returns its existing slot. A new partnership starts with
    /// [`PartnershipSettings::starter`] set.
    ///
    /// # Errors
    /// [`Error::PdaCannotCreateAdditionalSyncRelationship`] when all sixteen slots are taken.
    pub fn add(&mut self, device: &str, serial: &str, friendly_name: &str) -> Result<u8> {
        self.add_slot(device, serial, friendly_name).map(|(i, _)| i)
    }

    /// As [`add`](Self::add), also returning the key of the device that held the slot last
    /// (see [`next_slot`](Self::next_slot)); the table forgets it.
    ///
    /// # Errors
    /// As [`add`](Self::add).
    pub fn add_slot(
        &mut self,
        device: &str,
        serial: &str,
        friendly_name: &str,
    ) -> Result<(u8, Option<String>)> {
        let key = device_key(serial, device);
        if let Some(p) = self.for_device(key) {
            return Ok((p.index, None));
        }
        let index = (1..=MAX_PARTNERSHIPS)
            .find(|i| self.by_index(*i).is_none())
            .ok_or(Error::PdaCannotCreateAdditionalSyncRelationship)?;
        self.declined.remove(key);
        // A table from before serials may have declined the device by its path.
        self.declined.remove(device);
        let previous = self.freed.remove(&index);
        self.slots.push(Partnership {
            index,
            device: device.to_owned(),
            serial: serial.to_owned(),
            friendly_name: friendly_name.to_owned(),
            settings: PartnershipSettings {
                starter: true,
                ..PartnershipSettings::default()
            },
            last: LastSync::default(),
            skipped: BTreeSet::new(),
        });
        self.slots.sort_by_key(|p| p.index);
        Ok((index, previous))
    }

    /// Frees the slot of the device with this key and records the device as declined;
    /// returns the freed slot.
    pub fn remove(&mut self, key: &str) -> Option<u8> {
        self.declined.insert(key.to_owned());
        self.release(key)
    }

    /// Forgets a slot without declining the device (another library took it over).
    pub fn release(&mut self, key: &str) -> Option<u8> {
        let at = self.slots.iter().position(|p| p.key() == key)?;
        let index = self.slots.remove(at).index;
        self.freed.insert(index, key.to_owned());
        Some(index)
    }

    /// The file's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut s = format!(
            "{TABLE_KIND} 1\nlibrary={}\nname={}\n",
            escape(&self.library_id),
            escape(&self.library_name)
        );
        for d in &self.declined {
            s.push_str(&format!("declined={}\n", escape(d)));
        }
        for (index, key) in &self.freed {
            s.push_str(&format!("freed={index}:{}\n", escape(key)));
        }
        for p in &self.slots {
            s.push_str(&format!(
                "slot={}\ndevice={}\nserial={}\nfriendly={}\nreserve={}\nsync_on_connect={}\nsync_filter={}\nlast_sync={}\nlast_errors={}\nlast_no_fit={}\nitems={}\n",
                p.index,
                escape(&p.device),
                escape(&p.serial),
                escape(&p.friendly_name),
                p.settings.reserve_percent,
                u8::from(p.settings.sync_on_connect),
                p.settings.sync_filter,
                p.last.time.map(|t| t.to_string()).unwrap_or_default(),
                p.last.errors,
                p.last.no_fit,
                p.last.items,
            ));
            if p.settings.default_rules {
                s.push_str("default_rules=1\n");
            }
            if p.settings.starter {
                s.push_str("starter=1\n");
            }
            for t in &p.skipped {
                s.push_str(&format!("skipped={:016x}\n", t.0));
            }
        }
        s.into_bytes()
    }

    /// Reads a table.
    ///
    /// # Errors
    /// A [`StateParseError`] for a wrong header, an unknown key, a bad number, a slot outside
    /// 1-16, a slot or device given twice, or a slot without a device.
    pub fn parse(bytes: &[u8]) -> std::result::Result<PartnershipTable, StateParseError> {
        let mut t = PartnershipTable::new("", "");
        let mut cur: Option<Partnership> = None;
        let finish = |t: &mut PartnershipTable, p: Option<Partnership>, n: usize| {
            if let Some(p) = p {
                if p.device.is_empty() && p.serial.is_empty() {
                    return Err(bad(n, "a slot without a device"));
                }
                if t.by_index(p.index).is_some() || t.for_device(p.key()).is_some() {
                    return Err(bad(n, "a slot or device given twice"));
                }
                t.slots.push(p);
            }
            Ok(())
        };
        for (n, line) in lines_after_header(bytes, TABLE_KIND, 1)? {
            let (k, v) = key_value(n, line)?;
            match (k, cur.as_mut()) {
                ("library", _) => t.library_id = v,
                ("name", _) => t.library_name = v,
                ("declined", _) => {
                    t.declined.insert(v);
                }
                ("freed", _) => {
                    let (index, key) = v
                        .split_once(':')
                        .ok_or_else(|| bad(n, "freed without a key"))?;
                    let index: u8 = number(n, index)?;
                    if !(1..=MAX_PARTNERSHIPS).contains(&index) {
                        return Err(bad(n, "slot outside 1-16"));
                    }
                    t.freed.insert(index, key.to_owned());
                }
                ("slot", _) => {
                    let index: u8 = number(n, &v)?;
                    if !(1..=MAX_PARTNERSHIPS).contains(&index) {
                        return Err(bad(n, "slot outside 1-16"));
                    }
                    finish(&mut t, cur.take(), n)?;
                    cur = Some(Partnership {
                        index,
                        device: String::new(),
                        serial: String::new(),
                        friendly_name: String::new(),
                        settings: PartnershipSettings::default(),
                        last: LastSync::default(),
                        skipped: BTreeSet::new(),
                    });
                }
                ("device", Some(p)) => p.device = v,
                ("serial", Some(p)) => p.serial = v,
                ("friendly", Some(p)) => p.friendly_name = v,
                ("reserve", Some(p)) => {
                    p.settings.reserve_percent = number::<u8>(n, &v)?.min(95);
                }
                ("sync_on_connect", Some(p)) => p.settings.sync_on_connect = v == "1",
                ("sync_filter", Some(p)) => p.settings.sync_filter = number(n, &v)?,
                ("default_rules", Some(p)) => p.settings.default_rules = v == "1",
                ("starter", Some(p)) => p.settings.starter = v == "1",
                ("skipped", Some(p)) => {
                    p.skipped.insert(TrackId(hex_u64(n, &v)?));
                }
                ("last_sync", Some(p)) => {
                    p.last.time = if v.is_empty() {
                        None
                    } else {
                        Some(number(n, &v)?)
                    };
                }
                ("last_errors", Some(p)) => p.last.errors = number(n, &v)?,
                ("last_no_fit", Some(p)) => p.last.no_fit = number(n, &v)?,
                ("items", Some(p)) => p.last.items = number(n, &v)?,
                _ => return Err(bad(n, format!("unexpected key {k:?}"))),
            }
        }
        finish(&mut t, cur.take(), 0)?;
        if t.library_id.is_empty() {
            return Err(bad(0, "no library id"));
        }
        t.slots.sort_by_key(|p| p.index);
        let taken: BTreeSet<u8> = t.slots.iter().map(|p| p.index).collect();
        t.freed.retain(|i, _| !taken.contains(i));
        Ok(t)
    }

    /// Loads the table from a state folder, or starts a new one (with a random library id and
    /// `default_name`) when the folder has none.
    ///
    /// # Errors
    /// [`Error::InvalidArg`] when the file exists but cannot be parsed (the table is never
    /// silently replaced, since that would orphan every device's partnership); I/O errors.
    pub fn load_or_create(state_dir: &Path, default_name: &str) -> Result<PartnershipTable> {
        match fs::read(state_dir.join(PARTNERSHIPS_FILE_NAME)) {
            Ok(bytes) => PartnershipTable::parse(&bytes).map_err(|e| {
                tracing::error!(error = %e, "the partnership table cannot be read");
                Error::with_source(crate::ErrorCode::InvalidArg, e.to_string())
                    .context("parsing the partnership table (it is left as it is)")
                    .path(state_dir.join(PARTNERSHIPS_FILE_NAME))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(PartnershipTable::new(
                PartnershipTable::random_library_id(),
                default_name,
            )),
            Err(e) => Err(Error::from(e)
                .context("reading the partnership table")
                .path(state_dir.join(PARTNERSHIPS_FILE_NAME))),
        }
    }

    /// Saves the table as [`save`](Self::save) does, unless the file already holds exactly
    /// this table: opening the services on a resync writes (and syncs) nothing on the library
    /// side when the table is new or reading it changed it (a migration).
    ///
    /// # Errors
    /// As [`save`](Self::save).
    pub fn save_if_changed(&self, state_dir: &Path) -> Result<()> {
        let encoded = self.encode();
        match fs::read(state_dir.join(PARTNERSHIPS_FILE_NAME)) {
            Ok(on_disk) if on_disk == encoded => Ok(()),
            _ => self.save(state_dir),
        }
    }

    /// Saves the table after a session changed only its counters ([`LastSync`]): when the
    /// file holds this table but for those, the new file replaces it without the folder's
    /// sync (after a power cut the table is the new one or the old one, each whole, and only
    /// the counters may be lost); otherwise as [`save`](Self::save). A no-op resync's one
    /// write on the library side then costs a file's sync, not a folder's too.
    ///
    /// # Errors
    /// As [`save`](Self::save).
    pub(crate) fn save_counters(&self, state_dir: &Path) -> Result<()> {
        let path = state_dir.join(PARTNERSHIPS_FILE_NAME);
        let but_counters = |t: &PartnershipTable| {
            let mut t = t.clone();
            for p in &mut t.slots {
                p.last = LastSync::default();
            }
            t
        };
        let same_but_counters = fs::read(&path)
            .ok()
            .and_then(|b| PartnershipTable::parse(&b).ok())
            .is_some_and(|on_disk| but_counters(&on_disk) == but_counters(self));
        if !same_but_counters {
            return self.save(state_dir);
        }
        Ok(crate::sys::files::write_atomic_unflushed_rename(
            &path,
            &self.encode(),
        )?)
    }

    /// Saves the table atomically (a temporary file, synced, then renamed into place).
    ///
    /// # Errors
    /// I/O errors creating the folder or writing the file.
    pub fn save(&self, state_dir: &Path) -> Result<()> {
        Ok(crate::sys::files::write_atomic(
            &state_dir.join(PARTNERSHIPS_FILE_NAME),
            &self.encode(),
        )?)
    }
}

#[cfg(test)]
#[path = "partnership_tests.rs"]
mod tests;
