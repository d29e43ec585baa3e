//! The file behind a `sqlite:` URL: where it is, and why it cannot be opened, in words an
//! operator can act on (SQLite itself only says "unable to open database file").

use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::sqlite::SqliteConnectOptions;

use crate::store::{StoreError, StoreResult};

/// The database file of a `sqlite:` URL as an absolute path (what messages name); None for an
/// in-memory database.
pub fn database_file(url: &str) -> StoreResult<Option<PathBuf>> {
    // Parsed by sqlx first, so that a URL it refuses is refused with its message.
    let options = SqliteConnectOptions::from_str(url)?;
    // The two in-memory forms sqlx knows: `sqlite::memory:` and `?mode=memory`.
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let (database, params) = rest.split_once('?').unwrap_or((rest, ""));
    let in_memory = database == ":memory:"
        || url::form_urlencoded::parse(params.as_bytes())
            .any(|(key, value)| key == "mode" && value == "memory");
    if in_memory {
        return Ok(None);
    }
    let file = options.get_filename();
    if file.as_os_str().is_empty() {
        return Err(StoreError::UnsupportedUrl(url.to_string()));
    }
    let absolute = std::path::absolute(file).map_err(|e| StoreError::Open {
        path: file.to_path_buf(),
        cause: e.to_string(),
    })?;
    Ok(Some(absolute))
}

/// Checks that the database file can be opened for reading and writing, creating it (empty:
/// SQLite takes a zero-length file for a new database) when `create`. Without `create`, a
/// missing file is an error: a CLI command given a mistyped `--database` must not leave an
/// empty database behind and report success.
pub fn probe(path: &Path, create: bool) -> StoreResult<()> {
    let opened = OpenOptions::new()
        .read(true)
        .write(true)
        .create(create)
        .truncate(false)
        .open(path);
    match opened {
        Ok(_) => Ok(()),
        Err(error) => {
            let cause = directory_problem(path).unwrap_or_else(|| {
                if error.kind() == io::ErrorKind::NotFound {
                    "it does not exist (`hookwire serve` creates it on first start; \
                     check --database)"
                        .to_string()
                } else {
                    error.to_string()
                }
            });
            Err(StoreError::Open {
                path: path.to_path_buf(),
                cause,
            })
        }
    }
}

/// What is wrong with the directory `file` should be in, if anything: it does not exist, or
/// one of its ancestors is a file. The nearest ancestor that exists tells which.
pub fn directory_problem(file: &Path) -> Option<String> {
    let dir = match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    for ancestor in dir.ancestors() {
        let Ok(meta) = std::fs::metadata(ancestor) else {
            continue;
        };
        if !meta.is_dir() {
            return Some(format!("{} is not a directory", ancestor.display()));
        }
        if ancestor == dir {
            return None;
        }
        return Some(format!("directory {} does not exist", dir.display()));
    }
    Some(format!("directory {} does not exist", dir.display()))
}
