//! The writer lock: one writer per device (a crate extension; WMDM has no such method).
//!
//! A sync session, or the creation of a partnership, changes many files on a device in an
//! order that only makes sense as a whole (a journal, a ledger, temporary files). Two of them
//! at once on one device interleave and break each other's bookkeeping, so each takes the
//! device's writer lock first ([`Device::lock_writer`](super::Device::lock_writer)) and holds
//! it until it ends. The lock is released when its [`WriterLock`] guard is dropped, and by the
//! provider when its holder dies without dropping it (the folder provider's lock is an OS
//! advisory lock, which the kernel releases when the process ends, `kill -9` included). The
//! lock is cooperative: it keeps writers that ask for it apart, and does not stop a program
//! that writes to the device without asking.
//!
//! A [`LockHolder`] record says who holds the lock and since when, so that a writer refused
//! with [`Error::Busy`](crate::Error::Busy) can name it
//! ([`Device::writer_holder`](super::Device::writer_holder)).

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// Who holds (or asks for) a device's writer lock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockHolder {
    /// The host the holder runs on.
    pub host: String,
    /// Its process id on that host.
    pub pid: u32,
    /// Its program name.
    pub program: String,
    /// When it took the lock, in seconds since the Unix epoch.
    pub since: u64,
    /// A random id of the holding session (one process may lock several devices, or one
    /// device again later).
    pub session: String,
}

const RECORD_KIND: &str = "wmdm-writer-lock 1";

impl LockHolder {
    /// This process, now, as `program`, with a fresh session id.
    pub fn current(program: &str) -> LockHolder {
        use rand_core::{OsRng, RngCore};
        let mut b = [0u8; 8];
        OsRng.fill_bytes(&mut b);
        LockHolder {
            host: crate::sys::process::host_name(),
            pid: std::process::id(),
            program: program.to_owned(),
            since: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            session: hex::encode(b),
        }
    }

    /// This process, named after its executable.
    pub fn this_process() -> LockHolder {
        let program = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "wmdm".to_owned());
        LockHolder::current(&program)
    }

    /// The record's bytes (UTF-8, LF line ends):
    ///
    /// ```text
    /// wmdm-writer-lock 1
    /// host=<host name>
    /// pid=<process id>
    /// program=<program name>
    /// since=<seconds since the epoch>
    /// session=<hex>
    /// ```
    pub fn encode(&self) -> Vec<u8> {
        let clean = |s: &str| -> String { s.chars().filter(|c| !c.is_control()).collect() };
        format!(
            "{RECORD_KIND}\nhost={}\npid={}\nprogram={}\nsince={}\nsession={}\n",
            clean(&self.host),
            self.pid,
            clean(&self.program),
            self.since,
            clean(&self.session)
        )
        .into_bytes()
    }

    /// Reads a record; `None` when it is not one (empty, damaged, another format). Unknown
    /// keys are ignored, so newer writers may add some.
    pub fn parse(bytes: &[u8]) -> Option<LockHolder> {
        let text = std::str::from_utf8(bytes).ok()?;
        let mut lines = text.lines();
        if lines.next()? != RECORD_KIND {
            return None;
        }
        let mut h = LockHolder {
            host: String::new(),
            pid: 0,
            program: String::new(),
            since: 0,
            session: String::new(),
        };
        let mut pid = false;
        for line in lines {
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            match k {
                "host" => h.host = v.to_owned(),
                "pid" => {
                    h.pid = v.parse().ok()?;
                    pid = true;
                }
                "program" => h.program = v.to_owned(),
                "since" => h.since = v.parse().ok()?,
                "session" => h.session = v.to_owned(),
                _ => {}
            }
        }
        pid.then_some(h)
    }

    /// True when the holder is this host's process `pid` and that process is gone, as far as
    /// this host can tell (`false` when it cannot tell, or for another host: a lock is only
    /// taken over when its holder is known to be dead).
    pub fn is_dead_here(&self) -> bool {
        self.host == crate::sys::process::host_name()
            && crate::sys::process::pid_alive(self.pid) == Some(false)
    }
}

impl fmt::Display for LockHolder {
    /// `sync (pid 1234 on host, since 2026-12-06 04:50:00 UTC)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pid == 0 && self.program.is_empty() {
            return write!(f, "another program (its lock record cannot be read)");
        }
        let program = if self.program.is_empty() {
            "a program"
        } else {
            &self.program
        };
        write!(f, "{program} (pid {}", self.pid)?;
        if !self.host.is_empty() {
            write!(f, " on {}", self.host)?;
        }
        if self.since > 0 {
            let at = UNIX_EPOCH + std::time::Duration::from_secs(self.since);
            let t = crate::time::WmdmDateTime::from_system_time(at);
            write!(
                f,
                ", since {:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
                t.year, t.month, t.day, t.hour, t.minute, t.second
            )?;
        }
        write!(f, ")")
    }
}

/// A held writer lock; dropping it releases the lock.
pub struct WriterLock {
    holder: LockHolder,
    // The provider's release: its Drop gives the lock back.
    _guard: Box<dyn Send + Sync>,
}

impl fmt::Debug for WriterLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriterLock")
            .field("holder", &self.holder)
            .finish_non_exhaustive()
    }
}

impl WriterLock {
    /// A lock held by `holder`, released when `guard` is dropped (for providers).
    pub fn new(holder: LockHolder, guard: impl Send + Sync + 'static) -> WriterLock {
        WriterLock {
            holder,
            _guard: Box::new(guard),
        }
    }

    /// Who holds it.
    pub fn holder(&self) -> &LockHolder {
        &self.holder
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_damage_is_none() {
        let mut h = LockHolder::current("sync\nx");
        h.since = 1_765_000_000;
        let back = LockHolder::parse(&h.encode()).unwrap();
        assert_eq!(back.program, "syncx");
        assert_eq!((back.pid, back.since), (h.pid, h.since));
        assert!(back.to_string().contains("since 2025-"), "{back}");
        assert_eq!(LockHolder::parse(b""), None);
        assert_eq!(LockHolder::parse(b"wmdm-writer-lock 1\nhost=a\n"), None);
        assert_eq!(LockHolder::parse(b"wmdm-writer-lock 1\npid=x\n"), None);
        assert_eq!(LockHolder::parse(&[0xFF, 0xFE]), None);
        assert!(!h.is_dead_here(), "this process is alive");
    }
}
