//! Replays the fuzz targets' seed corpus and every input a fuzzer ever
//! found crashing (`fuzz/regressions/<target>/`) through the same entry
//! points, so a fixed crash stays fixed. `scripts/fuzz` runs the fuzzers.

use std::path::Path;

use edge_registry::protocol::fuzzing;

fn replay(target: &str, f: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut n = 0;
    for dir in ["seeds", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for e in entries {
            let path = e.unwrap().path();
            if path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            {
                continue;
            }
            let data = std::fs::read(&path).unwrap();
            f(&data);
            n += 1;
        }
    }
    n
}

#[test]
fn publish_body_corpus() {
    assert!(replay("publish_body", fuzzing::publish_body) >= 2);
}

#[test]
fn tarball_corpus() {
    assert!(replay("tarball", fuzzing::tarball) >= 2);
}

#[test]
fn index_line_corpus() {
    assert!(replay("index_line", fuzzing::index_line) >= 2);
}
