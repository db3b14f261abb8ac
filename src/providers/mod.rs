//! Service providers that ship with the crate.
//!
//! * [`memory`]: a simulated device held in memory, with a deterministic fault plan, for
//!   testing sync logic and providers' callers.

pub mod memory;
