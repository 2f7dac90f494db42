//! Scheme locks: an OS file lock per scheme, held for the whole run by the process running it.
//!
//! The catalog's running row already keeps a scheme from overlapping itself
//! ([`crate::catalog::Catalog::try_start_run`]), but a row cannot tell a live run from one
//! whose process was killed until its heartbeat goes stale (minutes). The OS releases a file
//! lock the moment its process dies, even on `kill -9`, so at start-up a running row whose
//! scheme lock can be taken belongs to a dead process and is marked interrupted at once.
//!
//! Order matters: a run takes the scheme lock *before* it inserts its running row, so a
//! running row whose lock is free is always dead. The locks are advisory (`flock` on Unix,
//! `LockFileEx` on Windows, through `fs4`) and live in `<data dir>/locks/`.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};

/// The folder of scheme locks inside the data folder.
pub fn locks_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("locks")
}

/// A held scheme lock; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct SchemeLock {
    scheme_id: u32,
    // Held open: closing the file releases the lock.
    _file: File,
}

impl SchemeLock {
    /// Takes the lock of `scheme_id` unless another process (or another run in this one)
    /// holds it; `None` then.
    ///
    /// # Errors
    /// `Internal` when the lock file cannot be created (the data folder is not writable).
    pub fn try_take(data_dir: &Path, scheme_id: u32) -> Result<Option<SchemeLock>> {
        let dir = locks_dir(data_dir);
        std::fs::create_dir_all(&dir).map_err(|e| {
            Error::internal(format!(
                "Could not create the folder for run locks ({}). Check that Backup Center's \
                 data folder is writable.",
                dir.display()
            ))
            .with_source(e)
        })?;
        let path = dir.join(format!("scheme-{scheme_id}.lock"));
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| {
                Error::internal(format!("Could not open the run lock {}.", path.display()))
                    .with_source(e)
            })?;
        // Fully qualified: std's inherent `File::try_lock` is newer than our minimum Rust.
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => Ok(Some(SchemeLock {
                scheme_id,
                _file: file,
            })),
            Err(fs4::TryLockError::WouldBlock) => Ok(None),
            Err(fs4::TryLockError::Error(e)) => Err(Error::new(
                ErrorKind::Internal,
                format!("Could not take the run lock {}.", path.display()),
            )
            .with_source(e)),
        }
    }

    pub fn scheme_id(&self) -> u32 {
        self.scheme_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scheme_lock_is_exclusive_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let a = SchemeLock::try_take(dir.path(), 7).unwrap().unwrap();
        assert_eq!(a.scheme_id(), 7);
        assert!(
            SchemeLock::try_take(dir.path(), 7).unwrap().is_none(),
            "a held scheme lock must not be taken twice"
        );
        assert!(SchemeLock::try_take(dir.path(), 8).unwrap().is_some());
        drop(a);
        assert!(SchemeLock::try_take(dir.path(), 7).unwrap().is_some());
    }
}
