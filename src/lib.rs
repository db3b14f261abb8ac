//! # wmdm
//!
//! A pure-Rust model of Windows Media Device Manager (WMDM) and of Windows Media Player's device
//! synchronisation, usable on any operating system.
//!
//! Start with [`SyncJob`] ([`easy`]): a music folder synced to a device folder, with a
//! partnership, playlists in priority order, progress and a summary, in a few lines and with no
//! keys in sight. The WMDM- and WMP-shaped layers it builds on are all public:
//!
//! ```text
//!   application ──► manager (IWMDeviceManager, storage control, progress)
//!                      │   authenticated, MAC'd and encrypted channel (sac)
//!                      ▼
//!   provider traits (IMDServiceProvider, IMDSPDevice, IMDSPStorage, IMDSPObject, ...)
//!                      │
//!        ┌─────────────┴──────────────┐
//!        ▼                            ▼
//!   providers::memory            providers::fs
//!   (simulated device,           (a folder: USB stick,
//!    fault injection)             SD card, player)
//! ```
//!
//! * [`easy`]: the paved path, [`SyncJob`] and [`Syncer`];
//! * [`error`]: the one [`Error`] type and its mapping to and from HRESULT;
//! * [`flags`]: WMDM's flag sets and enumerations with their exact values;
//! * [`library`]: tracks with real tags, playlists, auto playlists, M3U/WPL files, the folder
//!   library sync reads from;
//! * [`playlist_file`]: M3U/M3U8 and WPL playlist files, read and written;
//! * [`metadata`]: tag names, typed tag values, the metadata collection, format codes;
//! * [`provider`]: the service-provider side as Rust traits;
//! * [`sac`]: the secure authenticated channel: certificates, the handshake, MACs, encryption;
//! * [`manager`]: the application side: `DeviceManager`, devices, storages, storage control;
//! * [`sync`]: Windows Media Player sync: partnerships, the planner, the engine with its journal
//!   and ownership ledger, statistics flow-back, events, and the WMP-shaped facade;
//! * [`providers::memory`]: an in-memory device with a deterministic [`FaultPlan`];
//! * [`providers::fs`]: a folder (a USB stick, an SD card) as a device;
//! * [`time`]: `WMDMDATETIME` and the replaceable [`Clock`].
//!
//! See `docs/architecture.md` for how the layers fit, and `docs/mapping.md` for the Rust item
//! that carries each WMDM method.
//!
//! [`FaultPlan`]: providers::memory::FaultPlan
//! [`Clock`]: time::Clock

#![deny(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

#[cfg(all(windows, feature = "com"))]
pub mod com;
pub mod easy;
pub mod error;
mod escape;
pub mod flags;
#[doc(hidden)]
pub mod fuzzing;
pub mod library;
pub mod manager;
mod maps;
pub mod metadata;
pub mod playlist_file;
pub mod provider;
pub mod providers;
pub mod sac;
pub mod sync;
mod sys;
pub mod time;
pub mod transcode;
mod work_queue;

pub use easy::{SyncJob, Syncer};
pub use error::{Error, ErrorCode, ErrorKind, Hresult, Result, ResultExt, Status};

/// The README's code example, compiled and run as a doctest so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
