//! The secret key file (docs/DELIVERY.md, "Secrets at rest"): 32 random bytes, base64 on one
//! line. `--secret-key-file` names it; with SQLite and no flag it is `<database file>.key`
//! beside the database, created (mode 0600) on first start. PostgreSQL needs it named: every
//! node on one database must use the same key.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use sqlx::sqlite::SqliteConnectOptions;

use super::secret_box::{KEY_BYTES, SecretBox};
use super::{StoreError, StoreResult, redact_password};

/// Appended to the SQLite database file's name for the default key file.
const DEFAULT_SUFFIX: &str = ".key";
/// A key file is one line of 44 characters; anything much longer is not a key file.
const MAX_FILE_BYTES: u64 = 256;
/// How to make a key, for the messages.
const MAKE_KEY: &str = "head -c 32 /dev/urandom | base64 >";

#[derive(Debug, thiserror::Error)]
pub enum SecretKeyError {
    #[error(
        "PostgreSQL needs --secret-key-file (or HOOKWIRE_SECRET_KEY_FILE): the key that encrypts \
         webhook Secrets, the same file on every node of the database. Make one once with \
         `{MAKE_KEY} hookwire.key`, copy it to each node, and back it up with the database"
    )]
    RequiredForPostgres,
    #[error(
        "the secret key file {} does not exist: make it once with `{MAKE_KEY} {}` (on \
         PostgreSQL, the same file on every node)",
        .0.display(), .0.display()
    )]
    Missing(PathBuf),
    #[error("cannot read the secret key file {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create the secret key file {}: {source}", .path.display())]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the secret key file {} does not hold a key: expected 32 bytes in base64 on one line \
         (`{MAKE_KEY} FILE` makes one)",
        .0.display()
    )]
    Malformed(PathBuf),
    /// `was_missing`: the default key file did not exist, so this start made a new key.
    #[error("{}", mismatch_message(.path, *.was_missing))]
    Mismatch { path: PathBuf, was_missing: bool },
}

fn mismatch_message(path: &Path, was_missing: bool) -> String {
    let mut message = format!(
        "the secret key in {} does not match the key this database was created with: give the \
         key file the database was created with",
        path.display()
    );
    if was_missing {
        message.push_str(&format!(
            " ({} did not exist: put it back from the backup of the database and its key file)",
            path.display()
        ));
    }
    message
}

/// Where a server's secret key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyFile {
    /// `--secret-key-file`: must exist.
    Given(PathBuf),
    /// Beside the SQLite database: created on first start.
    BesideDatabase(PathBuf),
}

impl KeyFile {
    /// The key file of a server on `database_url`, `given` by `--secret-key-file` or not.
    pub fn for_database(database_url: &str, given: Option<&Path>) -> StoreResult<KeyFile> {
        if let Some(path) = given {
            return Ok(KeyFile::Given(path.to_path_buf()));
        }
        if database_url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(database_url)?;
            let mut name = options.get_filename().as_os_str().to_owned();
            name.push(DEFAULT_SUFFIX);
            Ok(KeyFile::BesideDatabase(PathBuf::from(name)))
        } else if database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://")
        {
            Err(SecretKeyError::RequiredForPostgres.into())
        } else {
            Err(StoreError::UnsupportedUrl(redact_password(database_url)))
        }
    }

    pub fn path(&self) -> &Path {
        match self {
            KeyFile::Given(path) | KeyFile::BesideDatabase(path) => path,
        }
    }

    /// The key, and whether this call created its file.
    pub fn load(&self) -> Result<(SecretBox, bool), SecretKeyError> {
        let path = self.path();
        let created = match self {
            KeyFile::BesideDatabase(path) => create_if_missing(path)?,
            KeyFile::Given(_) => false,
        };
        let mut text = Vec::new();
        File::open(path)
            .and_then(|file| file.take(MAX_FILE_BYTES + 1).read_to_end(&mut text))
            .map_err(|source| match source.kind() {
                ErrorKind::NotFound => SecretKeyError::Missing(path.to_path_buf()),
                _ => SecretKeyError::Read {
                    path: path.to_path_buf(),
                    source,
                },
            })?;
        let malformed = || SecretKeyError::Malformed(path.to_path_buf());
        if text.len() as u64 > MAX_FILE_BYTES {
            return Err(malformed());
        }
        let encoded = std::str::from_utf8(&text).map_err(|_| malformed())?;
        let key: [u8; KEY_BYTES] = BASE64
            .decode(encoded.trim())
            .map_err(|_| malformed())?
            .try_into()
            .map_err(|_| malformed())?;
        Ok((SecretBox::new(&key), created))
    }
}

/// Writes a new random key to `path` unless the file exists; returns whether it did.
fn create_if_missing(path: &Path) -> Result<bool, SecretKeyError> {
    let failed = |source| SecretKeyError::Create {
        path: path.to_path_buf(),
        source,
    };
    let mut key = [0u8; KEY_BYTES];
    getrandom::fill(&mut key).map_err(|e| failed(std::io::Error::other(e.to_string())))?;
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::AlreadyExists => return Ok(false),
        Err(e) => return Err(failed(e)),
    };
    file.write_all(format!("{}\n", BASE64.encode(key)).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(failed)?;
    // The directory entry too: a power cut must not keep the database and lose its key.
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        File::open(dir).and_then(|d| d.sync_all()).map_err(failed)?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_key_file_sits_beside_the_sqlite_database() {
        let beside = |url: &str| KeyFile::for_database(url, None).unwrap();
        assert_eq!(
            beside("sqlite:///var/lib/hookwire/hw.db?mode=rwc"),
            KeyFile::BesideDatabase("/var/lib/hookwire/hw.db.key".into())
        );
        assert_eq!(
            beside("sqlite://hookwire.db"),
            KeyFile::BesideDatabase("hookwire.db.key".into())
        );
        assert_eq!(
            KeyFile::for_database("postgres://h/db", Some(Path::new("k"))).unwrap(),
            KeyFile::Given("k".into())
        );
        assert!(matches!(
            KeyFile::for_database("postgres://h/db", None),
            Err(StoreError::SecretKey(SecretKeyError::RequiredForPostgres))
        ));
    }
}
