//! Service providers that ship with the crate.
//!
//! * [`memory`]: a simulated device held in memory, with a deterministic fault plan, for
//!   testing sync logic and providers' callers.
//! * [`fs`]: a directory-backed mass-storage device (a folder, a USB stick, an SD card).
//! * `mtp` (feature `mtp`): MTP devices (phones, players) over the pure-Rust mtp-rs stack.
//! * [`quirks`]: a wrapper over any provider that injects faults and the quirks of restricted
//!   file systems (no append, no rename, read-only, case-insensitive names...), for tests.

pub mod fs;
pub mod memory;
#[cfg(feature = "mtp")]
pub mod mtp;
pub mod quirks;
