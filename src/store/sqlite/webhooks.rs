//! Sealing webhook Secrets on SQLite without leaving the plaintext behind in the file.

use super::SqliteStore;
use crate::store::StoreResult;
use crate::store::backend::Backend;
use crate::store::secret_box::SecretBox;
use crate::store::secret_unlock::unlock;
use crate::store::sql::Conn;

/// Sealing replaces plaintext: `secure_delete` zeroes the space the old values leave, and the
/// checkpoint afterwards copies the result into the database file and empties the WAL, so
/// neither file keeps a copy of a plaintext Secret.
pub(super) async fn seal_plaintext_secrets(
    store: &SqliteStore,
    secrets: &SecretBox,
) -> StoreResult<u64> {
    // The write pool has one connection: the pragma holds for the sealing that follows on it.
    store
        .writer()
        .await?
        .execute("PRAGMA secure_delete = ON", &[])
        .await?;
    let sealed = unlock(store, secrets).await;
    let mut conn = store.writer().await?;
    let reset = conn.execute("PRAGMA secure_delete = OFF", &[]).await;
    let sealed = sealed?;
    reset?;
    if sealed > 0 {
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)", &[]).await?;
    }
    Ok(sealed)
}
