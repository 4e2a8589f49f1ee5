//! Importing crates from crates.io (`scripts/admin import`), the pure
//! parts: reading a `Cargo.lock`, ordering packages so dependencies come
//! first, and turning a `.crate` file into the publish request cargo would
//! send for it. The command itself (running cargo, HTTP, progress) lives in
//! the admin binary. Native only.

pub mod crate_file;
pub mod lockfile;
pub mod manifest;

/// The index URL cargo uses to name crates.io in index entries and
/// lockfiles.
pub const CRATES_IO_INDEX: &str = "https://github.com/rust-lang/crates.io-index";
