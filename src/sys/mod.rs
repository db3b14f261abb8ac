//! Host-platform calls, each behind a portable function: the only place outside `src/com/` with
//! host `cfg`s of its own. Each concern has its own submodule.

pub(crate) mod files;
pub(crate) mod fsops;
pub(crate) mod fstype;
pub(crate) mod process;
pub(crate) mod syncfs;
