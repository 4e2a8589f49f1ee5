//! Private scratch directories for `scripts/admin`.
//!
//! Backups hold password hashes and token hashes, and `import` writes a
//! manifest that cargo then reads, so their scratch space must be neither
//! readable by other users nor at a name another user can guess and
//! prepare (a directory or symbolic link made in advance). Each one is
//! created fresh (`create_dir`, which fails if anything is already there)
//! under a random name with mode 0700, and removed with everything in it
//! when the guard is dropped: on success, on error and on panic.

use std::path::{Path, PathBuf};

/// A directory that exists, is private to this user, and is removed with
/// its contents on drop.
#[derive(Debug)]
pub struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    /// Creates `<temp dir>/<prefix>-<128 random bits>` with mode 0700.
    pub fn new(prefix: &str) -> Result<ScratchDir, String> {
        Self::new_in(&std::env::temp_dir(), prefix)
    }

    /// Creates `<parent>/<prefix>-<128 random bits>` with mode 0700.
    pub fn new_in(parent: &Path, prefix: &str) -> Result<ScratchDir, String> {
        use std::os::unix::fs::DirBuilderExt;
        let mut random = [0u8; 16];
        getrandom::fill(&mut random).map_err(|e| format!("no randomness: {e}"))?;
        let name = format!(
            "{prefix}-{}",
            edge_registry::protocol::index::to_hex(&random)
        );
        let path = parent.join(name);
        // Not `create_dir_all`: the final component must be new, never an
        // existing directory or a link someone else put there.
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .map_err(|e| format!("cannot create a private directory {}: {e}", path.display()))?;
        // The umask can only remove bits; make sure of 0700 regardless.
        use std::os::unix::fs::PermissionsExt;
        let dir = ScratchDir { path };
        std::fs::set_permissions(&dir.path, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("cannot restrict {}: {e}", dir.path.display()))?;
        Ok(dir)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A path inside the directory.
    pub fn join(&self, rel: &str) -> PathBuf {
        self.path.join(rel)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Creates (never reuses, never follows a link at) a file readable and
/// writable only by this user.
pub fn create_private(path: &Path) -> Result<std::fs::File, String> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
        create_private(path)?
            .write_all(bytes)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn private_random_and_removed_on_drop() {
        let a = ScratchDir::new("scratch-test").unwrap();
        let b = ScratchDir::new("scratch-test").unwrap();
        assert_ne!(a.path(), b.path(), "names are random");
        let mode = std::fs::metadata(a.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        write_private(&a.join("secret"), b"hash").unwrap();
        let fmode = std::fs::metadata(a.join("secret"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(fmode & 0o777, 0o600);
        // A second write to the same name is refused, not followed.
        assert!(write_private(&a.join("secret"), b"x").is_err());
        let path = a.path().to_path_buf();
        drop(a);
        assert!(!path.exists(), "removed on drop");
    }

    #[test]
    fn removed_when_the_work_fails() {
        let mut seen = PathBuf::new();
        let result: Result<(), String> = (|| {
            let d = ScratchDir::new("scratch-test")?;
            seen = d.path().to_path_buf();
            std::fs::create_dir(d.join("nested")).map_err(|e| e.to_string())?;
            std::fs::write(d.join("nested/file"), b"x").map_err(|e| e.to_string())?;
            Err("failed half way".into())
        })();
        assert!(result.is_err());
        assert!(!seen.as_os_str().is_empty() && !seen.exists());
    }

    #[test]
    fn never_takes_over_an_existing_path() {
        let parent = ScratchDir::new("scratch-parent").unwrap();
        // A link planted where a file will be written is not followed.
        let target = parent.join("victim");
        std::fs::write(&target, b"keep").unwrap();
        let link = parent.join("planted");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(write_private(&link, b"overwrite").is_err());
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
    }
}
