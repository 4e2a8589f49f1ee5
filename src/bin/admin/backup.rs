//! `scripts/admin backup` and `restore`: the archive file (`archive`) on
//! one side, the service's backup functions (`service::backup`) over the
//! registry's admin API on the other; no SQL of its own.

use std::io::Write;

use edge_registry::service::backup::{self, Error};
use edge_registry::store::sql::backup::{Restore, restore_statements};
use futures_executor::block_on;

use crate::archive;
use crate::commands::{self, Registry};
use crate::connect::Api;
use crate::scratch::{self, ScratchDir};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn text(e: Error) -> String {
    e.to_string()
}

/// Writes every backed-up row (as JSON) and every `.crate` blob into a
/// .tar.gz archive, written beside `file` under a temporary name with mode
/// 0600 and renamed into place only when complete.
pub fn backup(r: &Registry, file: &str) -> Result<(), String> {
    let stores = &r.app.store;
    let snap = block_on(backup::snapshot(stores)).map_err(text)?;
    for (table, n) in [
        ("users", snap.db.users.len()),
        ("identities", snap.db.identities.len()),
        ("tokens", snap.db.tokens.len()),
        ("crates", snap.db.crates.len()),
        ("versions", snap.db.versions.len()),
        ("owners", snap.db.owners.len()),
        ("dependencies", snap.db.dependencies.len()),
        ("audit", snap.db.audit.len()),
    ] {
        println!("{table}: {n} rows");
    }
    let database = serde_json::to_vec(&snap.db).map_err(|e| e.to_string())?;

    let target = std::path::Path::new(file);
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let out_dir = ScratchDir::new_in(&parent, ".backup-partial")?;
    let partial = out_dir.join("archive.tar.gz");
    let out = scratch::create_private(&partial)?;
    let mut writer = archive::Writer::new(std::io::BufWriter::new(out));
    writer.start(&database)?;
    for ck in &snap.cksums {
        let bytes = block_on(backup::blob(stores, ck)).map_err(text)?;
        writer.blob(ck, &bytes)?;
    }
    println!("blobs: {} (checksums verified)", snap.cksums.len());
    let cannot = |e: &dyn std::fmt::Display| format!("cannot write {}: {e}", partial.display());
    let mut buffered = writer.finish()?;
    buffered.flush().map_err(|e| cannot(&e))?;
    let out = buffered.into_inner().map_err(|e| cannot(&e))?;
    out.sync_all().map_err(|e| cannot(&e))?;
    std::fs::rename(&partial, target)
        .map_err(|e| format!("cannot move the backup to {file}: {e}"))?;
    println!("backup written to {file} (mode 0600: it holds password and token hashes)");
    Ok(())
}

/// The SHA-256 of a file, read in pieces.
fn file_sha256(file: &str) -> Result<String, String> {
    use sha2::Digest;
    use std::io::Read;
    let mut f = std::fs::File::open(file).map_err(|e| format!("cannot read {file}: {e}"))?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| format!("cannot read {file}: {e}"))?;
        if n == 0 {
            break;
        }
        hasher.update(buf.get(..n).unwrap_or_default());
    }
    Ok(edge_registry::protocol::index::to_hex(&hasher.finalize()))
}

/// Restores a backup: refuses a non-empty registry without `--force`;
/// reads and checks the whole archive before writing anything; then
/// stores the blobs, writes the rows in one batch, and renders the index.
pub fn restore(r: &Registry, file: &str, force: bool) -> Result<(), String> {
    let stores = &r.app.store;
    let refuse = |problem: String| Error::Refused(problem).to_string();
    if !force && !block_on(backup::is_empty(stores)).map_err(text)? {
        return Err("this registry is not empty; restore into an empty one, or pass --force to merge into it".into());
    }
    let open = || {
        std::fs::File::open(file)
            .map(std::io::BufReader::new)
            .map_err(|e| format!("cannot read {file}: {e}"))
    };
    let scan = archive::scan(open()?).map_err(refuse)?;
    let archive_sha = file_sha256(file)?;
    let db = backup::parse_database(&scan.database).map_err(refuse)?;
    let plan = backup::check(db, &scan.blobs).map_err(refuse)?;
    let scratch = ScratchDir::new("edge-registry-restore")?;
    archive::extract_blobs(open()?, &plan.blobs, scratch.path()).map_err(refuse)?;
    let taken = block_on(backup::taken(stores)).map_err(text)?;
    backup::check_against(&plan, &taken).map_err(refuse)?;

    let db = &plan.db;
    let note = format!(
        "backup sha256 {archive_sha}: {} users, {} identities, {} tokens, {} crates, {} versions, {} audit rows",
        db.users.len(),
        db.identities.len(),
        db.tokens.len(),
        db.crates.len(),
        db.versions.len(),
        db.audit.len()
    );
    let now = now();
    // The rows go in one call: refuse before anything is stored when the
    // admin API would refuse them.
    Api::fits_one_batch(&restore_statements(&Restore {
        db,
        dependencies: &plan.dependencies,
        now,
        note: &note,
    }))
    .map_err(|e| refuse(e.0))?;
    for ck in plan.blobs.keys() {
        let path = scratch.join(&format!("{ck}.crate"));
        let bytes =
            std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        block_on(backup::put_blob(stores, &plan, ck, &bytes)).map_err(text)?;
    }
    block_on(backup::restore(stores, &plan, now, &note)).map_err(text)?;
    drop(scratch);
    println!(
        "restored {} users, {} identities, {} tokens, {} crates, {} versions, {} owners, {} audit rows and {} blobs (checksums verified); rendering the index",
        db.users.len(),
        db.identities.len(),
        db.tokens.len(),
        db.crates.len(),
        db.versions.len(),
        db.owners.len(),
        db.audit.len(),
        plan.blobs.len()
    );
    commands::reindex(r, None)
}
