//! Cargo's wire formats and rules. Pure: no I/O, no clock, no randomness;
//! callers pass the current time and random bytes in.

#[cfg(not(target_arch = "wasm32"))]
pub mod fuzzing;
pub mod index;
pub mod manifest;
pub mod names;
pub mod publish;
pub mod readme;
pub mod tarball;
pub mod time;
pub mod version;
