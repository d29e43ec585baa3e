//! One `hookwire serve` per SQLite file. Two servers on one file would each release, at start,
//! the leases the other holds, and both deliver them: duplicates. So `serve` holds an exclusive
//! advisory lock on `<database>.lock` beside the file for as long as it runs; the kernel drops
//! it when the process ends, however it ends, so a crash never leaves a stale lock. CLI
//! commands take no lock: SQLite itself serialises their few writes with the server's.
//!
//! The file holds the server's pid, only so that a refused second server can name it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::file::directory_problem;
use crate::store::{StoreError, StoreResult};

/// The held lock; dropping it (or the process ending) releases it.
#[derive(Debug)]
pub struct ServeLock {
    _file: File,
}

impl ServeLock {
    /// Locks `database` (an absolute path) for this process, or says who holds it.
    pub fn acquire(database: &Path) -> StoreResult<ServeLock> {
        let lock_path = lock_path(database);
        let open_failed = |cause: String| StoreError::Open {
            path: database.to_path_buf(),
            cause,
        };
        // Not truncated before it is locked: the content is the holder's pid.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| {
                open_failed(directory_problem(&lock_path).unwrap_or_else(|| {
                    format!("cannot create lock file {}: {e}", lock_path.display())
                }))
            })?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StoreError::InUse {
                    path: database.to_path_buf(),
                    pid: holder(&mut file),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(open_failed(format!(
                    "cannot lock {}: {e}",
                    lock_path.display()
                )));
            }
        }
        let written = file
            .set_len(0)
            .and_then(|()| file.write_all(format!("{}\n", std::process::id()).as_bytes()));
        if let Err(e) = written {
            return Err(open_failed(format!(
                "cannot write lock file {}: {e}",
                lock_path.display()
            )));
        }
        Ok(ServeLock { _file: file })
    }
}

/// `<database>.lock` beside the real file: symlinks to one database share one lock.
fn lock_path(database: &Path) -> PathBuf {
    let real = std::fs::canonicalize(database).unwrap_or_else(|_| database.to_path_buf());
    let mut name = real.clone().into_os_string();
    name.push(".lock");
    PathBuf::from(name)
}

/// The pid the holder wrote, if it has written it yet.
fn holder(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    // A pid is a few digits: read no more than that, whatever the file holds.
    file.take(32).read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}
