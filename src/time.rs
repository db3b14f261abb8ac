//! Time: WMDM's `WMDMDATETIME`, and the [`Clock`] every time-dependent part of the crate reads.
//!
//! The core never reads the system clock directly: providers, the sync engine and the secure
//! channel take a [`Clock`], so tests run in virtual time with a [`ManualClock`] and never sleep.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};

/// `WMDMDATETIME`: a calendar date and time in UTC, six 16-bit fields
/// (`wYear, wMonth, wDay, wHour, wMinute, wSecond`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct WmdmDateTime {
    /// Year, for example 2026.
    pub year: u16,
    /// Month, 1-12.
    pub month: u16,
    /// Day of the month, 1-31.
    pub day: u16,
    /// Hour, 0-23.
    pub hour: u16,
    /// Minute, 0-59.
    pub minute: u16,
    /// Second, 0-59.
    pub second: u16,
}

impl fmt::Debug for WmdmDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

impl fmt::Display for WmdmDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian).
const fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date for a day count from 1970-01-01.
const fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

const fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 => {
            if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 {
                29
            } else {
                28
            }
        }
        _ => 0,
    }
}

impl WmdmDateTime {
    /// Builds a date, checking every field.
    ///
    /// # Errors
    /// [`Error::InvalidArg`] when a field is out of range (month 13, 31 April, hour 24, ...).
    pub fn new(
        year: u16,
        month: u16,
        day: u16,
        hour: u16,
        minute: u16,
        second: u16,
    ) -> Result<Self> {
        let dt = WmdmDateTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
        };
        if dt.is_valid() {
            Ok(dt)
        } else {
            Err(Error::InvalidArg)
        }
    }

    /// True when every field is in range.
    pub const fn is_valid(&self) -> bool {
        self.month >= 1
            && self.month <= 12
            && self.day >= 1
            && (self.day as i64) <= days_in_month(self.year as i64, self.month as i64)
            && self.hour < 24
            && self.minute < 60
            && self.second < 60
    }

    /// The date for seconds since the Unix epoch (UTC). Times before year 0 or after 65535
    /// are clamped to those years' bounds.
    pub const fn from_unix(secs: i64) -> WmdmDateTime {
        // Clamp to what 16-bit years can hold.
        let min = days_from_civil(0, 1, 1) * 86_400;
        let max = days_from_civil(65_535, 12, 31) * 86_400 + 86_399;
        let secs = if secs < min {
            min
        } else if secs > max {
            max
        } else {
            secs
        };
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        WmdmDateTime {
            year: y as u16,
            month: m as u16,
            day: d as u16,
            hour: (rem / 3600) as u16,
            minute: (rem % 3600 / 60) as u16,
            second: (rem % 60) as u16,
        }
    }

    /// Seconds since the Unix epoch (UTC).
    ///
    /// # Errors
    /// [`Error::InvalidArg`] when the date is not valid.
    pub fn to_unix(&self) -> Result<i64> {
        if !self.is_valid() {
            return Err(Error::InvalidArg);
        }
        let days = days_from_civil(self.year as i64, self.month as i64, self.day as i64);
        Ok(days * 86_400 + self.hour as i64 * 3600 + self.minute as i64 * 60 + self.second as i64)
    }

    /// The date for a [`SystemTime`] (whole seconds, UTC).
    pub fn from_system_time(t: SystemTime) -> WmdmDateTime {
        let secs = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(e) => {
                let back = e.duration();
                let whole = i64::try_from(back.as_secs()).unwrap_or(i64::MAX);
                // Round towards the past: 0.5 s before the epoch is second -1.
                -whole - i64::from(back.subsec_nanos() > 0)
            }
        };
        WmdmDateTime::from_unix(secs)
    }

    /// The 12-byte little-endian wire form (six WORDs).
    pub fn to_bytes(&self) -> [u8; 12] {
        let mut out = [0u8; 12];
        for (chunk, v) in out.chunks_exact_mut(2).zip([
            self.year,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
        ]) {
            chunk.copy_from_slice(&v.to_le_bytes());
        }
        out
    }

    /// Parses the 12-byte wire form. The fields are taken as they are; use
    /// [`WmdmDateTime::is_valid`] to check them.
    ///
    /// # Errors
    /// [`Error::InvalidArg`] unless `bytes` is exactly 12 bytes long.
    pub fn from_bytes(bytes: &[u8]) -> Result<WmdmDateTime> {
        let arr: &[u8; 12] = bytes.try_into().map_err(|_| Error::InvalidArg)?;
        let w = |i: usize| u16::from_le_bytes([arr[2 * i], arr[2 * i + 1]]);
        Ok(WmdmDateTime {
            year: w(0),
            month: w(1),
            day: w(2),
            hour: w(3),
            minute: w(4),
            second: w(5),
        })
    }
}

/// A source of the current time. Replace it in tests to run in virtual time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> SystemTime;

    /// Lets `duration` of time pass. A real clock sleeps; a [`ManualClock`] advances.
    fn sleep(&self, duration: Duration);
}

/// The operating system's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// A clock that moves only when told to: `sleep` advances it instantly. Clones share the same
/// time, so a test can hand one clone to a device and keep another to read or advance.
#[derive(Clone, Debug)]
pub struct ManualClock {
    nanos: Arc<AtomicI64>,
}

impl ManualClock {
    /// A clock set to the given number of seconds after the Unix epoch.
    pub fn at_unix(secs: i64) -> ManualClock {
        ManualClock {
            nanos: Arc::new(AtomicI64::new(secs.saturating_mul(1_000_000_000))),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let n = i64::try_from(by.as_nanos()).unwrap_or(i64::MAX);
        self.nanos.fetch_add(n, Ordering::SeqCst);
    }

    /// Nanoseconds since the Unix epoch.
    pub fn unix_nanos(&self) -> i64 {
        self.nanos.load(Ordering::SeqCst)
    }
}

impl Default for ManualClock {
    /// 2026-01-01T00:00:00Z.
    fn default() -> Self {
        ManualClock::at_unix(1_767_225_600)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        let n = self.unix_nanos();
        if n >= 0 {
            UNIX_EPOCH + Duration::from_nanos(n as u64)
        } else {
            UNIX_EPOCH - Duration::from_nanos(n.unsigned_abs())
        }
    }

    fn sleep(&self, duration: Duration) {
        self.advance(duration);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_dates() {
        assert_eq!(
            WmdmDateTime::from_unix(0),
            WmdmDateTime::new(1970, 1, 1, 0, 0, 0).unwrap()
        );
        assert_eq!(
            WmdmDateTime::from_unix(1_767_225_600),
            WmdmDateTime::new(2026, 1, 1, 0, 0, 0).unwrap()
        );
        assert_eq!(
            WmdmDateTime::from_unix(951_782_400),
            WmdmDateTime::new(2000, 2, 29, 0, 0, 0).unwrap()
        );
        assert!(WmdmDateTime::new(2001, 2, 29, 0, 0, 0).is_err());
        assert!(WmdmDateTime::new(2001, 4, 31, 0, 0, 0).is_err());
        assert!(WmdmDateTime::new(2001, 1, 1, 24, 0, 0).is_err());
    }

    #[test]
    fn manual_clock_advances_on_sleep() {
        let c = ManualClock::at_unix(10);
        let other = c.clone();
        c.sleep(Duration::from_secs(5));
        assert_eq!(
            other.now().duration_since(UNIX_EPOCH).unwrap(),
            Duration::from_secs(15)
        );
    }

    #[test]
    fn short_bytes_are_an_error() {
        assert_eq!(WmdmDateTime::from_bytes(&[0; 11]), Err(Error::InvalidArg));
        assert_eq!(WmdmDateTime::from_bytes(&[0; 13]), Err(Error::InvalidArg));
    }

    proptest! {
        #[test]
        fn unix_round_trip(secs in -62_000_000_000i64..2_000_000_000_000) {
            let dt = WmdmDateTime::from_unix(secs);
            prop_assert!(dt.is_valid());
            prop_assert_eq!(dt.to_unix().unwrap(), secs);
        }

        #[test]
        fn bytes_round_trip(f in proptest::array::uniform6(any::<u16>())) {
            let dt = WmdmDateTime { year: f[0], month: f[1], day: f[2], hour: f[3], minute: f[4], second: f[5] };
            prop_assert_eq!(WmdmDateTime::from_bytes(&dt.to_bytes()).unwrap(), dt);
        }
    }
}
