//! Users, applications and tickets: the trait and its one implementation for every backend.

use async_trait::async_trait;

use super::backend::Backend;
use super::rows::{StoreRow, user_from_row};
use super::sql::{Arg, Conn};
use super::{AppRecord, StoreError, StoreResult, UserRecord};
use crate::domain::{Millis, now_millis};

#[async_trait]
pub trait Accounts: Send + Sync + 'static {
    async fn user_count(&self) -> StoreResult<i64>;
    async fn insert_user(
        &self,
        name: &str,
        full_name: &str,
        password_hash: &str,
    ) -> StoreResult<UserRecord>;
    /// The user called `name`, in any letter case.
    async fn user_by_name(&self, name: &str) -> StoreResult<Option<UserRecord>>;
    async fn user_by_id(&self, id: i64) -> StoreResult<Option<UserRecord>>;

    async fn insert_app(&self, name: &str, token_hash: &str) -> StoreResult<AppRecord>;
    async fn app_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<AppRecord>>;

    async fn insert_ticket(
        &self,
        ticket_hash: &str,
        user_id: i64,
        expires_at: Millis,
    ) -> StoreResult<()>;
    /// The user and expiry of a ticket, if it exists.
    async fn ticket(&self, ticket_hash: &str) -> StoreResult<Option<(i64, Millis)>>;
    /// Moves a ticket's expiry to `expires_at`, never earlier than it is.
    async fn extend_ticket(&self, ticket_hash: &str, expires_at: Millis) -> StoreResult<()>;
    /// Ends a ticket (signing out); an unknown one is no error.
    async fn delete_ticket(&self, ticket_hash: &str) -> StoreResult<()>;

    /// Every user, by name.
    async fn users(&self) -> StoreResult<Vec<UserEntry>>;
    /// Sets the e-mail address of user `id` (where its webhooks' ErrorAssociates alerts go).
    async fn set_user_email(&self, id: i64, email: Option<&str>) -> StoreResult<()>;
    /// Gives the user called `name` (any letter case) a new password and ends its tickets;
    /// answers the name as stored, None if there is no such user.
    async fn set_user_password(
        &self,
        name: &str,
        password_hash: &str,
    ) -> StoreResult<Option<String>>;
    /// Removes the user called `name` (any letter case) and its tickets; answers the name as
    /// stored, None if there is no such user.
    async fn remove_user(&self, name: &str) -> StoreResult<Option<String>>;
    /// Every application, by name, with the number of webhooks it owns.
    async fn apps(&self) -> StoreResult<Vec<AppEntry>>;
    /// Makes the token of the application called `name` unusable; its webhooks stay its own.
    async fn revoke_app(&self, name: &str) -> StoreResult<Revocation>;
}

/// A user as `hookwire user list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserEntry {
    pub id: i64,
    pub name: String,
    pub full_name: String,
    /// Where alerts of webhooks naming the user in ErrorAssociates go.
    pub email: Option<String>,
    pub created_at: Millis,
}

/// An application as `hookwire app list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppEntry {
    pub id: i64,
    pub name: String,
    pub revoked: bool,
    /// Webhooks it owns.
    pub webhooks: i64,
    pub created_at: Millis,
}

/// What `revoke_app` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    Revoked,
    AlreadyRevoked,
    NoSuchApp,
}

/// A revoked application keeps its row (its webhooks reference it) but its token hash becomes
/// `revoked:<id>`: unique as the column requires, and never the SHA-256 hex of a token.
const REVOKED_PREFIX: &str = "revoked:";

/// Finds a user by name as logins do (see `user_by_name`): `$1` the name key, `$2` the name.
const USER_BY_NAME: &str = "name_key = $1 OR (name_key IS NULL AND name = $2)";

/// The key a user name is unique and found by: user names are case-insensitive in every
/// script (`Émile` is `ÉMILE`), whatever the database's collation or locale.
pub(crate) fn user_name_key(name: &str) -> String {
    name.to_lowercase()
}

const USER_COLUMNS: &str = "id, name, full_name, password_hash";

#[async_trait]
impl<B: Backend> Accounts for B {
    async fn user_count(&self) -> StoreResult<i64> {
        let mut conn = self.reader().await?;
        conn.fetch_one("SELECT COUNT(*) AS n FROM users", &[])
            .await?
            .long("n")
    }

    async fn insert_user(
        &self,
        name: &str,
        full_name: &str,
        password_hash: &str,
    ) -> StoreResult<UserRecord> {
        let mut conn = self.writer().await?;
        let sql = format!(
            "INSERT INTO users (name, name_key, full_name, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {USER_COLUMNS}"
        );
        let row = conn
            .fetch_one(
                &sql,
                &[
                    Arg::Text(name),
                    Arg::String(user_name_key(name)),
                    Arg::Text(full_name),
                    Arg::Text(password_hash),
                    Arg::Long(now_millis()),
                ],
            )
            .await
            .map_err(|e| conflict(e, || format!("user '{name}'")))?;
        user_from_row(&row)
    }

    async fn user_by_name(&self, name: &str) -> StoreResult<Option<UserRecord>> {
        let mut conn = self.reader().await?;
        // A user whose key clashed with another's when keys were first filled in (see
        // `fill_user_name_keys`) has none, and is found by its exact name.
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE {USER_BY_NAME}");
        conn.fetch_optional(&sql, &[Arg::String(user_name_key(name)), Arg::Text(name)])
            .await?
            .as_ref()
            .map(user_from_row)
            .transpose()
    }

    async fn user_by_id(&self, id: i64) -> StoreResult<Option<UserRecord>> {
        let mut conn = self.reader().await?;
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        conn.fetch_optional(&sql, &[Arg::Long(id)])
            .await?
            .as_ref()
            .map(user_from_row)
            .transpose()
    }

    async fn insert_app(&self, name: &str, token_hash: &str) -> StoreResult<AppRecord> {
        let mut conn = self.writer().await?;
        let row = conn
            .fetch_one(
                "INSERT INTO apps (name, token_hash, created_at) VALUES ($1, $2, $3) RETURNING id, name",
                &[Arg::Text(name), Arg::Text(token_hash), Arg::Long(now_millis())],
            )
            .await
            .map_err(|e| conflict(e, || format!("application '{name}' or its token")))?;
        app_from_row(&row)
    }

    async fn app_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<AppRecord>> {
        let mut conn = self.reader().await?;
        conn.fetch_optional(
            "SELECT id, name FROM apps WHERE token_hash = $1",
            &[Arg::Text(token_hash)],
        )
        .await?
        .as_ref()
        .map(app_from_row)
        .transpose()
    }

    async fn insert_ticket(
        &self,
        ticket_hash: &str,
        user_id: i64,
        expires_at: Millis,
    ) -> StoreResult<()> {
        let now = now_millis();
        let mut tx = self.begin().await?;
        // Expired tickets are swept here, where a write happens anyway.
        tx.execute(
            "DELETE FROM tickets WHERE expires_at < $1",
            &[Arg::Long(now)],
        )
        .await?;
        tx.execute(
            "INSERT INTO tickets (ticket_hash, user_id, expires_at, created_at) VALUES ($1, $2, $3, $4)",
            &[
                Arg::Text(ticket_hash),
                Arg::Long(user_id),
                Arg::Long(expires_at),
                Arg::Long(now),
            ],
        )
        .await?;
        B::commit(tx).await
    }

    async fn ticket(&self, ticket_hash: &str) -> StoreResult<Option<(i64, Millis)>> {
        let mut conn = self.reader().await?;
        conn.fetch_optional(
            "SELECT user_id, expires_at FROM tickets WHERE ticket_hash = $1",
            &[Arg::Text(ticket_hash)],
        )
        .await?
        .map(|r| Ok((r.long("user_id")?, r.long("expires_at")?)))
        .transpose()
    }

    async fn extend_ticket(&self, ticket_hash: &str, expires_at: Millis) -> StoreResult<()> {
        let mut conn = self.writer().await?;
        // Two requests renewing at once must not shorten the ticket: the later expiry wins.
        conn.execute(
            "UPDATE tickets SET expires_at = $1 WHERE ticket_hash = $2 AND expires_at < $1",
            &[Arg::Long(expires_at), Arg::Text(ticket_hash)],
        )
        .await?;
        Ok(())
    }

    async fn delete_ticket(&self, ticket_hash: &str) -> StoreResult<()> {
        let mut conn = self.writer().await?;
        conn.execute(
            "DELETE FROM tickets WHERE ticket_hash = $1",
            &[Arg::Text(ticket_hash)],
        )
        .await?;
        Ok(())
    }

    async fn users(&self) -> StoreResult<Vec<UserEntry>> {
        let mut conn = self.reader().await?;
        let rows = conn
            .fetch_all(
                "SELECT id, name, full_name, email, created_at FROM users ORDER BY name_key, name",
                &[],
            )
            .await?;
        rows.iter()
            .map(|row| {
                Ok(UserEntry {
                    id: row.long("id")?,
                    name: row.text("name")?,
                    full_name: row.text("full_name")?,
                    email: row.opt_text("email")?,
                    created_at: row.long("created_at")?,
                })
            })
            .collect()
    }

    async fn set_user_email(&self, id: i64, email: Option<&str>) -> StoreResult<()> {
        self.writer()
            .await?
            .execute(
                "UPDATE users SET email = $1 WHERE id = $2",
                &[Arg::OptText(email), Arg::Long(id)],
            )
            .await?;
        Ok(())
    }

    async fn set_user_password(
        &self,
        name: &str,
        password_hash: &str,
    ) -> StoreResult<Option<String>> {
        let mut tx = self.begin().await?;
        let Some((id, stored)) = user_id(&mut *tx, name).await? else {
            return Ok(None);
        };
        tx.execute(
            "UPDATE users SET password_hash = $1 WHERE id = $2",
            &[Arg::Text(password_hash), Arg::Long(id)],
        )
        .await?;
        // Whoever logged in with the old password is logged out.
        tx.execute("DELETE FROM tickets WHERE user_id = $1", &[Arg::Long(id)])
            .await?;
        B::commit(tx).await?;
        Ok(Some(stored))
    }

    async fn remove_user(&self, name: &str) -> StoreResult<Option<String>> {
        let mut tx = self.begin().await?;
        let Some((id, stored)) = user_id(&mut *tx, name).await? else {
            return Ok(None);
        };
        tx.execute("DELETE FROM tickets WHERE user_id = $1", &[Arg::Long(id)])
            .await?;
        tx.execute("DELETE FROM users WHERE id = $1", &[Arg::Long(id)])
            .await?;
        B::commit(tx).await?;
        Ok(Some(stored))
    }

    async fn apps(&self) -> StoreResult<Vec<AppEntry>> {
        let mut conn = self.reader().await?;
        let rows = conn
            .fetch_all(
                "SELECT a.id, a.name, a.token_hash, a.created_at, \
                 (SELECT COUNT(*) FROM webhooks w WHERE w.app_id = a.id) AS webhooks \
                 FROM apps a ORDER BY a.name",
                &[],
            )
            .await?;
        rows.iter()
            .map(|row| {
                Ok(AppEntry {
                    id: row.long("id")?,
                    name: row.text("name")?,
                    revoked: row.text("token_hash")?.starts_with(REVOKED_PREFIX),
                    webhooks: row.long("webhooks")?,
                    created_at: row.long("created_at")?,
                })
            })
            .collect()
    }

    async fn revoke_app(&self, name: &str) -> StoreResult<Revocation> {
        let mut tx = self.begin().await?;
        let Some(row) = tx
            .fetch_optional(
                "SELECT id, token_hash FROM apps WHERE name = $1",
                &[Arg::Text(name)],
            )
            .await?
        else {
            return Ok(Revocation::NoSuchApp);
        };
        if row.text("token_hash")?.starts_with(REVOKED_PREFIX) {
            return Ok(Revocation::AlreadyRevoked);
        }
        let id = row.long("id")?;
        tx.execute(
            "UPDATE apps SET token_hash = $1 WHERE id = $2",
            &[Arg::String(format!("{REVOKED_PREFIX}{id}")), Arg::Long(id)],
        )
        .await?;
        B::commit(tx).await?;
        Ok(Revocation::Revoked)
    }
}

/// The id and stored name of the user called `name`, found as logins find it.
async fn user_id(conn: &mut impl Conn, name: &str) -> StoreResult<Option<(i64, String)>> {
    let sql = format!("SELECT id, name FROM users WHERE {USER_BY_NAME}");
    conn.fetch_optional(&sql, &[Arg::String(user_name_key(name)), Arg::Text(name)])
        .await?
        .map(|row| Ok((row.long("id")?, row.text("name")?)))
        .transpose()
}

fn app_from_row(row: &impl StoreRow) -> StoreResult<AppRecord> {
    Ok(AppRecord {
        id: row.long("id")?,
        name: row.text("name")?,
    })
}

/// `Conflict` for a unique violation (the name is taken), other errors as they are.
fn conflict(e: StoreError, what: impl FnOnce() -> String) -> StoreError {
    match e {
        StoreError::Database(sqlx::Error::Database(d)) if d.is_unique_violation() => {
            StoreError::Conflict(what())
        }
        other => other,
    }
}

/// Fills in the name key of users stored before there was one (migration 4), at start. Two
/// names that differ only in letter case outside ASCII could be two users then: the first
/// keeps its name, the next keeps no key and is found by its exact name only.
pub(crate) async fn fill_user_name_keys(backend: &impl Backend) -> StoreResult<()> {
    let mut conn = backend.writer().await?;
    let rows = conn
        .fetch_all(
            "SELECT id, name FROM users WHERE name_key IS NULL ORDER BY id",
            &[],
        )
        .await?;
    for row in &rows {
        let (id, name) = (row.long("id")?, row.text("name")?);
        let filled = conn
            .execute(
                "UPDATE users SET name_key = $1 WHERE id = $2",
                &[Arg::String(user_name_key(&name)), Arg::Long(id)],
            )
            .await;
        match filled.map_err(|e| conflict(e, String::new)) {
            Ok(_) => {}
            Err(StoreError::Conflict(_)) => {
                tracing::warn!(
                    user_id = id,
                    "user name differs from another only in letter case: it logs in by its exact name only"
                );
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
