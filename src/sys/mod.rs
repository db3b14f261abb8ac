//! Host-platform calls, each behind a portable function: the only place outside `src/com/` with
//! host `cfg`s of its own. Each concern has its own submodule.

pub(crate) mod beneath;
pub(crate) mod copy;
pub(crate) mod entries;
pub(crate) mod files;
pub(crate) mod fsops;
pub(crate) mod fstype;
pub(crate) mod host;
pub(crate) mod listing;
pub(crate) mod noreplace;
pub(crate) mod process;
pub(crate) mod syncfs;
pub(crate) mod volume;
