//! The tarball checker never panics and stays within its limits.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    edge_registry::protocol::fuzzing::tarball(data);
});
