//! Writes the publish bodies of a large registry into a folder, for
//! `scripts/bench-pages` to upload: one crate (`big`) with VERSIONS
//! versions and CRATES small crates that each depend on it.
//! Usage: make_bench_registry <out-dir> [CRATES] [VERSIONS]

#[path = "support/mod.rs"]
mod support;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let out = std::path::PathBuf::from(
        args.get(1)
            .expect("usage: make_bench_registry <out-dir> [crates] [versions]"),
    );
    let crates: usize = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(1000);
    let versions: usize = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(500);
    std::fs::create_dir_all(&out).unwrap();
    let readme = "# big\n\nA crate with many versions.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```rust\nfn main() {}\n```\n".repeat(20);
    for v in 0..versions {
        let body =
            support::publish_body_with("big", &format!("0.{}.{}", v / 100, v % 100), &[], &readme);
        std::fs::write(out.join(format!("a-big-{v:05}.body")), body).unwrap();
    }
    for c in 0..crates {
        let name = format!("bench-crate-{c:04}");
        let body = support::publish_body_with(&name, "1.0.0", &[("big", "^0.1")], "# small\n");
        std::fs::write(out.join(format!("b-{name}.body")), body).unwrap();
    }
    println!("{} bodies in {}", versions + crates, out.display());
}
