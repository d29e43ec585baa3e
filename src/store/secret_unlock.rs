//! What a server does with its secret key at start, the same on both backends: check it
//! against the key this database was created with, then seal the webhook Secrets still stored
//! in plaintext (written before Secrets were encrypted).

use super::backend::Backend;
use super::rows::StoreRow;
use super::secret_box::{SEALED_PREFIX, SecretBox};
use super::sql::{Arg, Conn};
use super::{StoreError, StoreResult};

/// Plaintext Secrets read per query while sealing them, so memory stays bounded.
const SEAL_PAGE: i64 = 500;

/// Returns how many Secrets it sealed; `StoreError::WrongSecretKey` when the key is not the
/// database's.
pub(crate) async fn unlock<B: Backend>(backend: &B, secrets: &SecretBox) -> StoreResult<u64> {
    {
        let mut conn = backend.writer().await?;
        // The first start records a value sealed under its key. Nodes starting together on a
        // new database race here: one row wins, and each node checks its key against it.
        conn.execute(
            "INSERT INTO secret_key_check (id, sealed) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
            &[Arg::String(secrets.key_check()?)],
        )
        .await?;
        let check = conn
            .fetch_one("SELECT sealed FROM secret_key_check WHERE id = 1", &[])
            .await?
            .text("sealed")?;
        if !secrets.matches_key_check(&check) {
            return Err(StoreError::WrongSecretKey);
        }
    }
    let prefix_len = SEALED_PREFIX.len() as i32;
    let mut tx = backend.begin().await?;
    let (mut sealed, mut after) = (0, 0);
    loop {
        let rows = tx
            .fetch_all(
                "SELECT id, secret FROM webhooks WHERE id > $1 AND secret IS NOT NULL \
                 AND substr(secret, 1, $2) <> $3 ORDER BY id LIMIT $4",
                &[
                    Arg::Int(after),
                    Arg::Int(prefix_len),
                    Arg::Text(SEALED_PREFIX),
                    Arg::Long(SEAL_PAGE),
                ],
            )
            .await?;
        let Some(last) = rows.last() else {
            break;
        };
        after = last.int("id")?;
        for row in &rows {
            let plain = row.text("secret")?;
            // `AND secret = $3`: when another node sealed the row first (it waits for that
            // node's commit, then sees the new value), there is nothing left to do.
            sealed += tx
                .execute(
                    "UPDATE webhooks SET secret = $1 WHERE id = $2 AND secret = $3",
                    &[
                        Arg::OptString(secrets.seal_secret(Some(&plain))?),
                        Arg::Int(row.int("id")?),
                        Arg::Text(&plain),
                    ],
                )
                .await?;
        }
    }
    B::commit(tx).await?;
    Ok(sealed)
}
