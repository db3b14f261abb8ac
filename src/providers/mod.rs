//! Service providers that ship with the crate.
//!
//!   testing sync logic and providers' callers.

pub mod fs;
