//! The publish-body parser: framing and metadata validation never panic.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    edge_registry::protocol::fuzzing::publish_body(data);
});
