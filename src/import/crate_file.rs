//! Reading a `.crate` file (its normalised `Cargo.toml` and README) and
//! framing a publish request around it.

use std::io::Read;

/// What the importer needs from inside a `.crate` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrateContents {
    /// `<name>-<version>/Cargo.toml`, as cargo normalised it.
    pub manifest: String,
    /// Every regular file's path below the root, with its text when it is
    /// small UTF-8 (READMEs are looked up here).
    files: Vec<(String, Option<String>)>,
}

/// Largest README carried into the publish metadata (crates.io keeps the
/// same order of magnitude).
const MAX_README: u64 = 512 * 1024;

impl CrateContents {
    /// The text of a file given relative to the package root (`./` and
    /// `a/../b` forms allowed), when present, UTF-8 and not huge.
    pub fn text(&self, rel: &str) -> Option<&str> {
        let want = normalise(rel)?;
        self.files
            .iter()
            .find(|(p, _)| *p == want)
            .and_then(|(_, t)| t.as_deref())
    }
}

fn normalise(rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in rel.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// Unpacks `name-version/Cargo.toml` and the small text files of a
/// `.crate` file.
pub fn read(bytes: &[u8], name: &str, version: &str) -> Result<CrateContents, String> {
    let root = format!("{name}-{version}/");
    let gz = flate2::read::GzDecoder::new(bytes);
    let mut archive = tar::Archive::new(gz);
    let mut manifest = None;
    let mut files = Vec::new();
    let entries = archive
        .entries()
        .map_err(|e| format!("not a .crate file: {e}"))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("damaged .crate file: {e}"))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry
            .path()
            .map_err(|e| format!("damaged .crate file: {e}"))?
            .to_string_lossy()
            .into_owned();
        let Some(rel) = path.strip_prefix(&root) else {
            continue;
        };
        let rel = rel.to_string();
        let text = if entry.size() <= MAX_README {
            let mut buf = Vec::new();
            entry
                .read_to_end(&mut buf)
                .map_err(|e| format!("damaged .crate file: {e}"))?;
            String::from_utf8(buf).ok()
        } else {
            None
        };
        if rel == "Cargo.toml" {
            manifest = text.clone();
        }
        files.push((rel, text));
    }
    let manifest = manifest.ok_or_else(|| format!("{root}Cargo.toml is missing or not UTF-8"))?;
    Ok(CrateContents { manifest, files })
}

/// The body of `PUT /api/v1/crates/new`: JSON and `.crate` file, each
/// after its little-endian u32 length.
pub fn publish_body(json: &[u8], crate_file: &[u8]) -> Result<Vec<u8>, String> {
    let jl = u32::try_from(json.len()).map_err(|_| "metadata too large")?;
    let cl = u32::try_from(crate_file.len()).map_err(|_| ".crate file too large")?;
    let mut b = Vec::with_capacity(8 + json.len() + crate_file.len());
    b.extend_from_slice(&jl.to_le_bytes());
    b.extend_from_slice(json);
    b.extend_from_slice(&cl.to_le_bytes());
    b.extend_from_slice(crate_file);
    Ok(b)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A `.crate` file (gzip tar) holding these files (tests only).
    pub(crate) fn crate_bytes(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut tar = tar::Builder::new(Vec::new());
        for (path, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            tar.append_data(&mut h, path, *data).unwrap();
        }
        let raw = tar.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &raw).unwrap();
        gz.finish().unwrap()
    }

    #[test]
    fn finds_the_manifest_and_readme() {
        let b = crate_bytes(&[
            ("foo-1.0.0/Cargo.toml", b"[package]\nname = \"foo\"\n"),
            ("foo-1.0.0/docs/README.md", b"# Foo"),
            ("foo-1.0.0/logo.png", &[0xff, 0xfe, 0x00]),
        ]);
        let c = read(&b, "foo", "1.0.0").unwrap();
        assert!(c.manifest.contains("name = \"foo\""));
        assert_eq!(c.text("docs/README.md"), Some("# Foo"));
        assert_eq!(c.text("./docs/../docs/README.md"), Some("# Foo"));
        assert_eq!(c.text("logo.png"), None, "binary files have no text");
        assert_eq!(c.text("../outside"), None);
    }

    #[test]
    fn rejects_what_is_not_a_crate() {
        assert!(read(b"plain text", "foo", "1.0.0").is_err());
        let other_root = crate_bytes(&[("bar-1.0.0/Cargo.toml", b"x")]);
        assert!(read(&other_root, "foo", "1.0.0").is_err());
    }

    #[test]
    fn frames_like_cargo() {
        let b = publish_body(b"{}", b"abc").unwrap();
        assert_eq!(b, [2, 0, 0, 0, b'{', b'}', 3, 0, 0, 0, b'a', b'b', b'c']);
    }
}
