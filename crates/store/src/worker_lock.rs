//! The one-worker-per-database rule, enforced: an exclusive OS lock on `<database>.outbox-lock`
//! held for as long as a worker runs. The OS releases it when the process ends, `kill -9`
//! included, so a crashed worker never blocks its successor.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

/// Held while this process delivers the outbox of a database.
#[derive(Debug)]
pub struct WorkerLock {
    _file: File,
}

/// The lock file of a database.
pub fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".outbox-lock");
    PathBuf::from(name)
}

/// Takes the lock if no other worker holds it: `Ok(None)` while another process (or
/// another worker in this one) delivers.
pub fn try_lock(db: &Path) -> std::io::Result<Option<WorkerLock>> {
    let mut options = OpenOptions::new();
    options.create(true).truncate(false).write(true);
    // Owner-only like the database it sits beside (it holds nothing, but says it exists).
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(crate::perms::FILE_MODE);
    }
    let file = options.open(lock_path(db))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(WorkerLock { _file: file })),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_holder_at_a_time_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("r.sqlite");
        let first = try_lock(&db).unwrap();
        assert!(first.is_some());
        assert!(
            try_lock(&db).unwrap().is_none(),
            "a second worker must wait"
        );
        drop(first);
        assert!(try_lock(&db).unwrap().is_some());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(lock_path(&db))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
