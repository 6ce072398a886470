//! Who may read the database: call records hold caller numbers (personal data), so the
//! file is created readable and writable by its owner only (0600), before SQLite opens it.
//!
//! SQLite gives the `-wal` and `-shm` files it creates the database file's permissions,
//! so they are 0600 too. A file that already exists with wider permissions is left as it
//! is (an operator may have chosen group access for a backup user) but each such file is
//! reported with a warning naming the command that tightens it.

use std::path::{Path, PathBuf};

/// Permission bits for files the store creates.
#[cfg(unix)]
pub const FILE_MODE: u32 = 0o600;

/// The database file and the WAL-mode companions SQLite keeps next to it.
pub(crate) fn companions(db: &Path) -> [PathBuf; 3] {
    let with = |suffix: &str| {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    [db.to_path_buf(), with("-wal"), with("-shm")]
}

/// Creates the database file with owner-only permissions when it does not exist yet.
/// A file created meanwhile by another process is fine (it is then only checked).
pub(crate) fn create_private(db: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(FILE_MODE);
    }
    match options.open(db) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// The files among the database and its companions that others than the owner may read
/// or write, with their permission bits. Missing files are skipped.
#[cfg(unix)]
pub fn too_open(db: &Path) -> Vec<(PathBuf, u32)> {
    use std::os::unix::fs::PermissionsExt;
    companions(db)
        .into_iter()
        .filter_map(|p| {
            let mode = std::fs::metadata(&p).ok()?.permissions().mode() & 0o777;
            (mode & 0o077 != 0).then_some((p, mode))
        })
        .collect()
}

/// Not checked on this platform.
#[cfg(not(unix))]
pub fn too_open(_db: &Path) -> Vec<(PathBuf, u32)> {
    Vec::new()
}

/// Warns about every file of the database others may read (see [`too_open`]).
pub(crate) fn warn_if_open(db: &Path) {
    for (path, mode) in too_open(db) {
        tracing::warn!(
            path = %path.display(),
            mode = format!("{mode:o}"),
            "store: the database holds personal data (caller numbers) and is readable by other users; `chmod 600 {}` restricts it to its owner",
            path.display()
        );
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_new_file_is_owner_only_whatever_the_umask_allows() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("r.sqlite");
        create_private(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        assert!(too_open(&db).is_empty());
        // Already there: left alone.
        create_private(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
    }

    #[test]
    fn wider_existing_files_are_reported_not_changed() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("r.sqlite");
        std::fs::write(&db, b"").unwrap();
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
        let wal = companions(&db)[1].clone();
        std::fs::write(&wal, b"").unwrap();
        std::fs::set_permissions(&wal, std::fs::Permissions::from_mode(0o660)).unwrap();
        create_private(&db).unwrap();
        assert_eq!(mode(&db), 0o644, "an operator's choice is not overridden");
        assert_eq!(too_open(&db), vec![(db.clone(), 0o644), (wal, 0o660)]);
    }
}
