//! Shared by the benchmark examples: cargo's publish body for a minimal
//! crate, optionally with same-registry dependencies.
#![allow(dead_code)]

use std::io::Write;

/// A publish body (JSON + `.crate`) for `name@vers`.
pub fn publish_body(name: &str, vers: &str) -> Vec<u8> {
    publish_body_with(name, vers, &[], "")
}

/// A publish body with same-registry normal dependencies and a README.
pub fn publish_body_with(name: &str, vers: &str, deps: &[(&str, &str)], readme: &str) -> Vec<u8> {
    let manifest =
        format!("[package]\nname = \"{name}\"\nversion = \"{vers}\"\nrust-version = \"1.70\"\n");
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(manifest.len() as u64);
    h.set_mode(0o644);
    tar.append_data(
        &mut h,
        format!("{name}-{vers}/Cargo.toml"),
        manifest.as_bytes(),
    )
    .unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar.into_inner().unwrap()).unwrap();
    let tarball = gz.finish().unwrap();
    let deps: Vec<serde_json::Value> = deps
        .iter()
        .map(|(n, req)| serde_json::json!({"name": n, "version_req": req, "features": [], "optional": false, "default_features": true, "target": null, "kind": "normal"}))
        .collect();
    let json = serde_json::json!({
        "name": name, "vers": vers, "deps": deps, "features": {},
        "description": format!("benchmark crate {name}"), "license": "MIT",
        "keywords": ["bench"], "readme": readme, "repository": "https://github.com/acme/bench",
    })
    .to_string();
    let mut b = Vec::new();
    b.extend_from_slice(&(json.len() as u32).to_le_bytes());
    b.extend_from_slice(json.as_bytes());
    b.extend_from_slice(&(tarball.len() as u32).to_le_bytes());
    b.extend_from_slice(&tarball);
    b
}
