//! What the registry validates in a `.crate` is what cargo unpacks: every
//! archive the tarball check accepts is extracted with the same `tar`
//! logic cargo's `unpack_package` uses (`fuzzing::unpacks_as_validated`,
//! which the tarball fuzz target runs too), and the files on disk must be
//! exactly the files the check reported, with the `Cargo.toml`
//! byte-for-byte the one it parsed.
//! The archives are generated from tricky path pieces, header formats
//! (GNU, ustar, old), name encodings (header field, GNU long name, pax
//! `path`) and entry types, plus the reviewed attacks written out.

use std::io::Write;

use edge_registry::protocol::fuzzing;
use edge_registry::protocol::publish::Limits;
use edge_registry::protocol::tarball::{TarballInfo, check_tarball};
use flate2::Compression;
use flate2::write::GzEncoder;
use tar::{EntryType, Header};

#[derive(Clone, Copy, Debug)]
enum Format {
    Gnu,
    Ustar,
    Old,
}

#[derive(Clone, Copy, Debug)]
enum Naming {
    /// The header's own name field (up to 100 bytes).
    Field,
    /// A GNU `././@LongLink` entry before it.
    GnuLong,
    /// A pax extended header with `path`.
    Pax,
}

#[derive(Clone, Debug)]
struct Spec {
    path: String,
    kind: EntryType,
    data: Vec<u8>,
    format: Format,
    naming: Naming,
}

fn header(format: Format) -> Header {
    match format {
        Format::Gnu => Header::new_gnu(),
        Format::Ustar => Header::new_ustar(),
        Format::Old => Header::new_old(),
    }
}

fn raw_name(h: &mut Header, name: &[u8]) {
    let field = &mut h.as_old_mut().name;
    field.fill(0);
    let n = name.len().min(100);
    field[..n].copy_from_slice(&name[..n]);
}

fn append(b: &mut tar::Builder<Vec<u8>>, s: &Spec) {
    let path = s.path.as_bytes();
    let naming = match s.naming {
        Naming::Field if path.len() > 100 => Naming::Pax,
        n => n,
    };
    match naming {
        Naming::Field => {}
        Naming::GnuLong => {
            let mut h = Header::new_gnu();
            raw_name(&mut h, b"././@LongLink");
            h.set_entry_type(EntryType::GNULongName);
            let mut data = path.to_vec();
            data.push(0);
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append(&h, &data[..]).unwrap();
        }
        Naming::Pax => {
            let body = format!(" path={}\n", s.path);
            let mut len = body.len() + 1;
            while format!("{len}{body}").len() != len {
                len += 1;
            }
            let record = format!("{len}{body}");
            let mut h = header(Format::Ustar);
            raw_name(&mut h, b"PaxHeader");
            h.set_entry_type(EntryType::XHeader);
            h.set_size(record.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append(&h, record.as_bytes()).unwrap();
        }
    }
    let mut h = header(s.format);
    let shown: &[u8] = match naming {
        Naming::Field => path,
        _ => b"placeholder-name",
    };
    raw_name(&mut h, shown);
    h.set_entry_type(s.kind);
    h.set_size(s.data.len() as u64);
    h.set_mode(if s.kind.is_dir() { 0o755 } else { 0o644 });
    if s.kind.is_symlink() {
        h.set_link_name("Cargo.toml").unwrap();
    }
    h.set_cksum();
    b.append(&h, &s.data[..]).unwrap();
}

fn archive(specs: &[Spec]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for s in specs {
        append(&mut b, s);
    }
    let tar = b.into_inner().unwrap();
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

const ROOT: &str = "foo-1.0.0";

fn manifest(links: &str) -> Vec<u8> {
    format!("[package]\nname = \"foo\"\nversion = \"1.0.0\"\nlinks = \"{links}\"\n").into_bytes()
}

fn file(path: &str, data: &[u8]) -> Spec {
    Spec {
        path: path.into(),
        kind: EntryType::Regular,
        data: data.to_vec(),
        format: Format::Gnu,
        naming: Naming::Field,
    }
}

/// The disk after cargo's unpacking holds exactly what the check validated.
fn lands_as_validated(bytes: &[u8], info: &TarballInfo, what: &str) {
    if let Err(e) = fuzzing::unpacks_as_validated(bytes, ROOT, info) {
        panic!("{what}: {e}");
    }
}

fn check(bytes: &[u8]) -> Result<TarballInfo, String> {
    check_tarball(bytes, "foo", "1.0.0", &Limits::default()).map_err(|e| e.to_string())
}

#[test]
fn the_reviewed_hidden_manifests_are_refused() {
    let plain = file("foo-1.0.0/Cargo.toml", &manifest("plain"));
    let hidden = manifest("hidden");
    let with = |s: Spec| archive(&[plain.clone(), s]);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            with(file("foo-1.0.0//Cargo.toml", &hidden)),
            "the .crate contains a path with an empty name (`//`): `foo-1.0.0//Cargo.toml`",
        ),
        (
            with(Spec {
                format: Format::Ustar,
                ..file("foo-1.0.0/Cargo.toml/", &hidden)
            }),
            "the .crate contains a file path ending in `/`: `foo-1.0.0/Cargo.toml/`",
        ),
        (
            with(Spec {
                format: Format::Old,
                ..file("foo-1.0.0/Cargo.toml/", &hidden)
            }),
            "the .crate contains a file path ending in `/`: `foo-1.0.0/Cargo.toml/`",
        ),
        (
            with(file("foo-1.0.0/./Cargo.toml", &hidden)),
            "the .crate contains a path with `.`: `foo-1.0.0/./Cargo.toml`",
        ),
        (
            with(file("foo-1.0.0/Cargo.toml", &hidden)),
            "the .crate contains `foo-1.0.0/Cargo.toml` and `foo-1.0.0/Cargo.toml`, which land on the same file (paths are compared ignoring case, as macOS and Windows do)",
        ),
        (
            with(file("foo-1.0.0/CARGO.toml", &hidden)),
            "the .crate contains `foo-1.0.0/Cargo.toml` and `foo-1.0.0/CARGO.toml`, which land on the same file (paths are compared ignoring case, as macOS and Windows do)",
        ),
        (
            with(file("foo-1.0.0/Cargo.toml.", &hidden)),
            "the .crate contains a path with a name ending in a dot or a space (Windows drops it): `foo-1.0.0/Cargo.toml.`",
        ),
        (
            with(file("foo-1.0.0/Cargo.toml:x", &hidden)),
            "the .crate contains a path with `:`: `foo-1.0.0/Cargo.toml:x`",
        ),
        (
            with(file("foo-1.0.0\\Cargo.toml", &hidden)),
            "the .crate contains a path with a backslash: `foo-1.0.0\\Cargo.toml`; use `/` between names",
        ),
        (
            with(Spec {
                naming: Naming::Pax,
                ..file("foo-1.0.0//Cargo.toml", &hidden)
            }),
            "the .crate contains a path with an empty name (`//`): `foo-1.0.0//Cargo.toml`",
        ),
        (
            with(Spec {
                naming: Naming::GnuLong,
                ..file("foo-1.0.0/src/../Cargo.toml", &hidden)
            }),
            "the .crate contains a path with `..`: `foo-1.0.0/src/../Cargo.toml`",
        ),
        (
            with(file("foo-1.0.0/.cargo-ok", b"")),
            "the .crate contains a path with `.cargo-ok`, which cargo skips: `foo-1.0.0/.cargo-ok`",
        ),
        (
            archive(&[file("foo-1.0.0/cargo.toml", &hidden)]),
            "the manifest `cargo.toml` must be named `Cargo.toml` with that exact casing",
        ),
        (
            with(file("foo-1.0.0/Cargo.toml/x", b"")),
            "the .crate uses `foo-1.0.0/Cargo.toml` both as a file and as a folder",
        ),
        (
            archive(&[
                file("foo-1.0.0/src/lib.rs/x", b""),
                file("foo-1.0.0/src/lib.rs", b""),
                plain.clone(),
            ]),
            "the .crate uses `foo-1.0.0/src/lib.rs` both as a file and as a folder",
        ),
        (
            archive(&[file("foo-1.0.0", b""), plain.clone()]),
            "the .crate's root `foo-1.0.0` must be a folder, not a file",
        ),
        (
            with(Spec {
                kind: EntryType::Directory,
                ..file("foo-1.0.0/src/", b"hidden")
            }),
            "the .crate has a folder entry `foo-1.0.0/src/` that carries data",
        ),
        // Found by the second review: a pax global header, which cargo's
        // unpacking still acts on (it creates the folders of its path).
        (
            with(Spec {
                kind: EntryType::XGlobalHeader,
                ..file("foo-1.0.0/src/lib.rs/x", b"")
            }),
            "the .crate contains an entry of an unsupported type at `foo-1.0.0/src/lib.rs/x`; only regular files and directories are allowed",
        ),
        // A Windows short name that can alias a long one.
        (
            archive(&[
                plain.clone(),
                file("foo-1.0.0/src/longfolder/mod.rs", b""),
                file("foo-1.0.0/src/LONGFO~1/mod.rs", &hidden),
            ]),
            "the .crate contains a path with a `~` and digit, the form of a Windows short (8.3) name that can alias another file: `foo-1.0.0/src/LONGFO~1/mod.rs`",
        ),
        (
            with(Spec {
                naming: Naming::Pax,
                ..file(&format!("foo-1.0.0/{}", "n".repeat(256)), b"")
            }),
            "the .crate contains a path with a name longer than 255 bytes: `foo-1.0.0/nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn…`",
        ),
    ];
    for (bytes, want) in cases {
        assert_eq!(check(&bytes).unwrap_err(), want);
    }
    // One deep path (the quadratic-memory probe: 16,000 folders) is refused
    // on its length before any per-folder work.
    let deep = with(Spec {
        naming: Naming::Pax,
        ..file(&format!("foo-1.0.0/{}x", "a/".repeat(16_000)), b"")
    });
    assert!(deep.len() < 2048, "{} bytes", deep.len());
    let e = check(&deep).unwrap_err();
    assert!(
        e.starts_with("the .crate contains a path longer than 4096 bytes: `foo-1.0.0/a/a/"),
        "{e}"
    );
    // Many long paths together are bounded too.
    let many: Vec<Spec> = std::iter::once(plain.clone())
        .chain((0..2200).map(|i| Spec {
            naming: Naming::Pax,
            ..file(
                &format!(
                    "foo-1.0.0/{i}/{}x",
                    format!("{}/", "p".repeat(240)).repeat(16)
                ),
                b"",
            )
        }))
        .collect();
    assert_eq!(
        check(&archive(&many)).err().as_deref(),
        Some("the .crate's paths add up to more than 8388608 bytes")
    );
    // The plain one alone is fine and lands as validated.
    let ok = archive(&[plain]);
    let info = check(&ok).unwrap();
    assert_eq!(info.manifest.links.as_deref(), Some("plain"));
    lands_as_validated(&ok, &info, "plain");
}

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<T: Clone>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())].clone()
    }
}

fn random_path(r: &mut Rng) -> String {
    const TRICKY: &[&str] = &[
        "",
        ".",
        "..",
        "cargo.toml",
        "SRC",
        "a\\b",
        ".cargo-ok",
        "c:d",
        "dot.",
        "sp ",
    ];
    const PLAIN: &[&str] = &["Cargo.toml", "src", "lib.rs", "x", "y", "z", "w"];
    let mut p = String::new();
    match r.below(16) {
        0 => p.push('/'),
        1 => p.push_str("./"),
        2 => p.push_str("bar-1.0.0/"),
        _ => {}
    }
    p.push_str(ROOT);
    for _ in 0..r.below(4) {
        p.push('/');
        p.push_str(if r.below(6) == 0 {
            r.pick(TRICKY)
        } else {
            r.pick(PLAIN)
        });
    }
    if r.below(8) == 0 {
        p.push('/');
    }
    p
}

fn random_spec(r: &mut Rng) -> Spec {
    let kinds = [
        EntryType::Regular,
        EntryType::Regular,
        EntryType::new(0),
        EntryType::Continuous,
        EntryType::Directory,
        EntryType::Directory,
        EntryType::Regular,
        EntryType::Regular,
        EntryType::Symlink,
        EntryType::XGlobalHeader,
    ];
    let kind = r.pick(&kinds);
    let data = if kind.is_dir() || kind.is_symlink() {
        Vec::new()
    } else if r.below(3) == 0 {
        manifest(&format!("l{}", r.below(1000)))
    } else {
        vec![b'z'; r.below(700)]
    };
    Spec {
        path: random_path(r),
        kind,
        data,
        format: r.pick(&[Format::Gnu, Format::Ustar, Format::Old]),
        naming: r.pick(&[Naming::Field, Naming::Field, Naming::GnuLong, Naming::Pax]),
    }
}

#[test]
fn every_accepted_archive_unpacks_to_exactly_what_was_validated() {
    let mut r = Rng(0x5eed_1234_abcd_ef01);
    let (mut accepted, mut refused) = (0, 0);
    for i in 0..6000 {
        let mut specs = Vec::new();
        if r.below(3) != 0 {
            specs.push(Spec {
                format: r.pick(&[Format::Gnu, Format::Ustar, Format::Old]),
                ..file("foo-1.0.0/Cargo.toml", &manifest("first"))
            });
        }
        for _ in 0..1 + r.below(4) {
            specs.push(random_spec(&mut r));
        }
        let n = specs.len();
        let at = r.below(n);
        specs.swap(0, at);
        let bytes = archive(&specs);
        match check(&bytes) {
            Ok(info) => {
                accepted += 1;
                lands_as_validated(&bytes, &info, &format!("case {i}: {specs:?}"));
            }
            Err(_) => refused += 1,
        }
    }
    // The generator must exercise both sides for the test to mean anything.
    assert!(accepted > 400, "only {accepted} archives were accepted");
    assert!(refused > 300, "only {refused} archives were refused");
    println!("{accepted} accepted archives unpacked as validated; {refused} refused");
}

#[test]
fn nothing_may_follow_the_archive_or_the_gzip_stream() {
    let plain = file("foo-1.0.0/Cargo.toml", &manifest("plain"));
    let ok = archive(std::slice::from_ref(&plain));
    assert!(check(&ok).is_ok());

    let mut trailing = ok.clone();
    trailing.extend_from_slice(b"hidden bytes");
    assert_eq!(
        check(&trailing).unwrap_err(),
        "the .crate has data after the end of its gzip stream (12 bytes); cargo would ignore it"
    );

    let second = archive(&[file("foo-1.0.0/src/lib.rs", b"hidden")]);
    let mut two = ok.clone();
    two.extend_from_slice(&second);
    assert_eq!(
        check(&two).unwrap_err(),
        format!(
            "the .crate has a second gzip member after the end of its gzip stream ({} bytes); cargo would ignore it",
            second.len()
        )
    );

    // A second tar archive inside the one gzip member, after the first
    // one's end-of-archive blocks.
    let mut b = tar::Builder::new(Vec::new());
    append(&mut b, &plain);
    let mut tar_bytes = b.into_inner().unwrap();
    let mut b2 = tar::Builder::new(Vec::new());
    append(&mut b2, &file("foo-1.0.0/build.rs", b"fn main() {}"));
    tar_bytes.extend_from_slice(&b2.into_inner().unwrap());
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(&tar_bytes).unwrap();
    assert_eq!(
        check(&gz.finish().unwrap()).unwrap_err(),
        "the .crate has data after the end of its tar archive; cargo would ignore it"
    );

    // Zero padding after the end (as GNU tar's 10 KiB records) is fine.
    let mut b = tar::Builder::new(Vec::new());
    append(&mut b, &plain);
    let mut padded = b.into_inner().unwrap();
    padded.resize(10240, 0);
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(&padded).unwrap();
    let bytes = gz.finish().unwrap();
    let info = check(&bytes).unwrap();
    lands_as_validated(&bytes, &info, "padded");
}
