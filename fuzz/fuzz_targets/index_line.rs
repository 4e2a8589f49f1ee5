//! Index lines: render → parse gives back the same lines.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    edge_registry::protocol::fuzzing::index_line(data);
});
