//! Windows Media Player device sync: partnerships, the planner, the engine, the journal and
//! ownership ledger, statistics flowing back, and the WMP-shaped facade.
//!
//! ```text
//!   Library ──selection_for──► plan() ◄── DeviceContents + Ledger (from the device)
//!                                 │ SyncPlan (ops, totals, reasons)
//!                                 ▼
//!                     SyncEngine::step() ──manager (authenticated)──► device
//!                                 │ journal + ledger in .wmdm-sync/
//!                                 ▼
//!                      SyncEvent to every subscriber
//! ```
//!
//! See docs/sync.md for priorities, eviction, ownership, the journal and resume, and how
//! statistics merge.

mod device;
mod discovery;
mod engine;
mod estimate;
mod event;
mod filter;
mod intent;
mod item_info;
mod journal;
mod legacy;
mod machine;
mod names;
mod partnership;
mod plan;
mod plan_names;
mod plan_room;
pub(crate) mod plan_types;
mod playlist_bytes;
mod recover;
mod resume;
mod runtime;
mod selection;
#[cfg(feature = "serde")]
mod serde_impl;
mod services;
mod session;
mod settings;
mod stats;
mod text;

pub use device::{SYNC_FOLDER, fingerprint_of, read_device_contents};
pub use engine::{SyncContext, SyncEngine, SyncOptions, SyncSummary};
pub use event::{EventBus, EventSubscription, SyncEvent, SyncEventSink, SyncItem, SyncState};
pub use filter::{MediaKind, SyncFilter};
pub use journal::{
    CommitRecord, Committed, Journal, JournalOp, Ledger, LedgerEntry, OwnedKind, temp_name,
};
pub use names::NameRule;
pub use partnership::{
    LastSync, MAX_PARTNERSHIPS, PARTNERSHIPS_FILE_NAME, Partnership, PartnershipMarker,
    PartnershipSettings, PartnershipTable, SyncDeviceStatus, device_key,
};
pub use plan::{
    Adoptable, Conversion, DEFAULT_TEMPLATE, DeleteReason, DeviceContents, DeviceFile, HeldBack,
    HeldChange, HoldReason, LeftOut, LeftOutReason, PlanInput, PlanSettings, PlanTotals,
    PlaylistBytes, PlaylistFormat, PlaylistLayout, SyncOp, SyncPlan, device_metadata,
    metadata_hash, mtime_ns, plan,
};
pub use recover::{LeftAlone, LeftAloneReason};
pub use runtime::{RescanHook, RuntimeOptions, SyncRuntime};
/// Recovery's pure decision, for the `fuzzing` hooks only.
#[cfg(feature = "fuzzing")]
pub(crate) mod recovery_internals {
    pub(crate) use super::recover::{Seen, StateFiles, recover_ledger};
}
pub use selection::{default_rules_playlist, default_selection, partnership_selection};
pub use services::{SharedLibrary, SyncDevice, SyncServices};
pub use settings::{DeviceSettings, MAX_RESERVE_PERCENT};
pub use stats::{RatingConflict, STATS_FILE_NAME, StatsStore, TrackStats};
pub use text::StateParseError;
