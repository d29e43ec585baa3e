//! What a server does with its secret key at start, the same SQL on both backends: check it
//! against the key this database was created with, then seal the webhook Secrets still stored
//! in plaintext (written before Secrets were encrypted).

use super::secret_box::{SEALED_PREFIX, SecretBox};
use super::{StoreError, StoreResult};

/// Plaintext Secrets read per query while sealing them, so memory stays bounded.
const SEAL_PAGE: i64 = 500;

/// Defines `$name(conn, secrets)` for one backend's connection type. Returns how many Secrets
/// it sealed; `StoreError::WrongSecretKey` when the key is not the database's.
macro_rules! unlock_on {
    ($name:ident, $connection:ty) => {
        pub(crate) async fn $name(conn: &mut $connection, secrets: &SecretBox) -> StoreResult<u64> {
            // The first start records a value sealed under its key. Nodes starting together on
            // a new database race here: one row wins, and each node checks its key against it.
            sqlx::query(
                "INSERT INTO secret_key_check (id, sealed) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
            )
            .bind(secrets.key_check()?)
            .execute(&mut *conn)
            .await?;
            let check: String =
                sqlx::query_scalar("SELECT sealed FROM secret_key_check WHERE id = 1")
                    .fetch_one(&mut *conn)
                    .await?;
            if !secrets.matches_key_check(&check) {
                return Err(StoreError::WrongSecretKey);
            }
            let prefix_len = SEALED_PREFIX.len() as i32;
            let mut tx = sqlx::Connection::begin(&mut *conn).await?;
            let (mut sealed, mut after) = (0, 0);
            loop {
                let rows: Vec<(i32, String)> = sqlx::query_as(
                    "SELECT id, secret FROM webhooks WHERE id > $1 AND secret IS NOT NULL \
                     AND substr(secret, 1, $2) <> $3 ORDER BY id LIMIT $4",
                )
                .bind(after)
                .bind(prefix_len)
                .bind(SEALED_PREFIX)
                .bind(SEAL_PAGE)
                .fetch_all(&mut *tx)
                .await?;
                let Some((last, _)) = rows.last() else {
                    break;
                };
                after = *last;
                for (id, plain) in &rows {
                    // `AND secret = $3`: when another node sealed the row first (it waits for
                    // that node's commit, then sees the new value), there is nothing left to do.
                    sealed += sqlx::query(
                        "UPDATE webhooks SET secret = $1 WHERE id = $2 AND secret = $3",
                    )
                    .bind(secrets.seal_secret(Some(plain))?)
                    .bind(id)
                    .bind(plain)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                }
            }
            tx.commit().await?;
            Ok(sealed)
        }
    };
}

unlock_on!(unlock_sqlite, sqlx::SqliteConnection);
unlock_on!(unlock_postgres, sqlx::PgConnection);
