//! One test's database: a SQLite file in a temporary directory or a new PostgreSQL database
//! (see the module doc of `support`), and SQL run on it from outside the server.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;

/// The variable naming a PostgreSQL server to run the tests on (unset: SQLite).
pub const DATABASE_URL_VAR: &str = "HOOKWIRE_TEST_DATABASE_URL";

/// `HOOKWIRE_TEST_DATABASE_URL` when it names a PostgreSQL server; None when it is unset or
/// empty (the tests then use SQLite). Panics on any other value, so that a typo cannot
/// silently run the suite on SQLite.
pub fn postgres_admin_url() -> Option<String> {
    let url = std::env::var(DATABASE_URL_VAR).ok()?;
    let url = url.trim();
    if url.is_empty() {
        return None;
    }
    assert!(
        url.starts_with("postgres://") || url.starts_with("postgresql://"),
        "{DATABASE_URL_VAR}={url:?} is not a postgres:// URL (unset it to test on SQLite)"
    );
    Some(url.to_string())
}

/// `admin_url` with its database replaced by `name` (user, host, port and query kept).
pub fn postgres_url_with_database(admin_url: &str, name: &str) -> String {
    let mut url = url::Url::parse(admin_url)
        .unwrap_or_else(|e| panic!("{DATABASE_URL_VAR}={admin_url:?} is not a URL: {e}"));
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// One test's database: a SQLite file in a temporary directory, or a new PostgreSQL database
/// (see the module doc). Shared by every server started on it; removed when the last one goes.
pub struct TestDatabase {
    url: String,
    /// (admin URL, database name) on PostgreSQL.
    postgres: Option<(String, String)>,
    /// The secret key file every server on a PostgreSQL database is given (SQLite servers use
    /// the default, beside the database file).
    secret_key_file: Option<PathBuf>,
    /// The SQLite file's directory, or the key file's.
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    /// A database nobody has used yet (hookwire creates and migrates it on first use).
    pub fn fresh() -> Arc<TestDatabase> {
        let db = match postgres_admin_url() {
            Some(admin) => {
                let name = format!("hw_{}", uuid::Uuid::new_v4().simple());
                let dir = tempfile::tempdir().expect("temp dir");
                TestDatabase {
                    url: postgres_url_with_database(&admin, &name),
                    postgres: Some((admin, name)),
                    secret_key_file: Some(new_secret_key_file(dir.path())),
                    _dir: Some(dir),
                }
            }
            None => {
                let dir = tempfile::tempdir().expect("temp dir");
                TestDatabase {
                    url: format!("sqlite://{}", dir.path().join("hookwire.db").display()),
                    postgres: None,
                    secret_key_file: None,
                    _dir: Some(dir),
                }
            }
        };
        Arc::new(db)
    }

    /// The URL to pass as `--database`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// The environment that gives `hookwire serve` this database's secret key file, if it
    /// needs one (`Command::envs`).
    pub fn secret_key_env(&self) -> Option<(&'static str, PathBuf)> {
        let file = self.secret_key_file.clone()?;
        Some(("HOOKWIRE_SECRET_KEY_FILE", file))
    }
}

/// Writes a new random secret key file (32 bytes, base64) in `dir`; returns its path.
pub fn new_secret_key_file(dir: &std::path::Path) -> PathBuf {
    use base64::Engine;
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).expect("random key");
    let path = dir.join(format!("{}.key", uuid::Uuid::new_v4().simple()));
    let text = base64::engine::general_purpose::STANDARD.encode(key) + "\n";
    std::fs::write(&path, text).expect("write key file");
    path
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin, name)) = &self.postgres else {
            return; // the TempDir removes the SQLite file
        };
        if std::thread::panicking() {
            eprintln!("test database kept for inspection: {}", self.url);
            return;
        }
        // Best effort: without psql the database stays (a throwaway cluster goes whole). A
        // backend of a killed server may take a moment to go: try a few times.
        let mut error = String::new();
        for _ in 0..3 {
            let Ok(out) = Command::new("psql")
                .args(["-X", "-q", "-w", "-d", admin, "-c"])
                .arg(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .stdin(Stdio::null())
                .output()
            else {
                return; // no psql
            };
            if out.status.success() {
                return;
            }
            error = String::from_utf8_lossy(&out.stderr).trim().to_string();
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
        eprintln!("could not drop test database {name}: {error}");
    }
}

/// Runs one SQL statement on the server's database, as an operator's tool (or a bug) could.
pub async fn execute_sql(database_url: &str, sql: &str) {
    use sqlx::Connection;
    if database_url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(database_url)
            .await
            .expect("open the SQLite database");
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(&mut conn)
            .await
            .expect("run the SQL");
    } else {
        let mut conn = sqlx::PgConnection::connect(database_url)
            .await
            .expect("connect to PostgreSQL");
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(&mut conn)
            .await
            .expect("run the SQL");
    }
}
