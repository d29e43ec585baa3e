//! How shared store code talks to either database: a statement, its bound values ([`Arg`]) and
//! the rows it returns, over a [`Conn`] (a SQLite or PostgreSQL connection, pooled or inside a
//! transaction). Store logic is then written once, as plain Rust generic over `Conn`; a backend
//! supplies only what its dialect does differently (the few `Conn` items below, and the
//! statements it writes in its own folder).

use async_trait::async_trait;

use super::StoreResult;
use super::rows::StoreRow;

/// A value bound to a statement parameter, typed as the column it meets on PostgreSQL (which
/// decodes strictly: `INTEGER` is i32, `BIGINT` i64).
#[derive(Debug, Clone)]
pub(crate) enum Arg<'a> {
    Int(i32),
    Long(i64),
    OptLong(Option<i64>),
    OptInt(Option<i32>),
    Bool(bool),
    Text(&'a str),
    OptText(Option<&'a str>),
    String(String),
    OptString(Option<String>),
    /// A list of ids, for [`Conn::id_in`].
    Ids(&'a [i64]),
}

/// What a lock taken with [`Conn::try_lock`] protects.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Lock {
    /// The retention sweep (two sweeps updating the same rows could deadlock).
    Sweep,
}

/// A database connection as the shared store code uses it.
#[async_trait]
pub(crate) trait Conn: Send {
    type Row: StoreRow + Send + Sync;

    /// `FOR UPDATE` where a read can lock the rows it reads until the commit; empty where
    /// writes are serialised anyway (SQLite's one writer).
    const FOR_UPDATE: &'static str;
    /// How a claim skips rows another transaction has locked; empty where there are none.
    const SKIP_LOCKED: &'static str;

    async fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<u64>;
    async fn fetch_all(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<Vec<Self::Row>>;
    async fn fetch_optional(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
    ) -> StoreResult<Option<Self::Row>>;

    /// `IN` over the [`Arg::Ids`] bound to `param` (`"$1"`), as this dialect writes it.
    fn id_in(param: &str) -> String;

    /// Tells every node that deliveries became due (PostgreSQL `NOTIFY`; with SQLite the one
    /// process wakes its dispatcher itself). Delivered at the commit.
    async fn announce_work(&mut self) -> StoreResult<()> {
        Ok(())
    }

    /// Takes `lock` until the end of the transaction, or answers false when another node
    /// holds it. True at once where one writer already serialises every write.
    async fn try_lock(&mut self, lock: Lock) -> StoreResult<bool> {
        let _ = lock;
        Ok(true)
    }

    /// Takes the record locks `ids` (sorted) until the end of the transaction, waiting for
    /// them (`store/record_order.rs`). Nothing to do where one writer serialises every write.
    async fn lock_records(&mut self, ids: &[i64]) -> StoreResult<()> {
        let _ = ids;
        Ok(())
    }

    async fn fetch_one(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<Self::Row> {
        self.fetch_optional(sql, args)
            .await?
            .ok_or(super::StoreError::Database(sqlx::Error::RowNotFound))
    }
}

/// Implements the statement part of [`Conn`] for a backend's connection type: `$db` is the
/// sqlx database, `ids => expr` turns an id list into the value its `id_in` binds, and the
/// block holds the dialect's own items.
macro_rules! impl_conn {
    ($conn:ty, $db:ty, $row:ty, |$ids:ident| $bind_ids:expr, { $($dialect:tt)* }) => {
        fn bind_args<'q>(
            mut query: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>,
            args: &'q [$crate::store::sql::Arg<'q>],
        ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments> {
            use $crate::store::sql::Arg;
            for arg in args {
                query = match arg {
                    Arg::Int(v) => query.bind(*v),
                    Arg::Long(v) => query.bind(*v),
                    Arg::OptLong(v) => query.bind(*v),
                    Arg::OptInt(v) => query.bind(*v),
                    Arg::Bool(v) => query.bind(*v),
                    Arg::Text(v) => query.bind(*v),
                    Arg::OptText(v) => query.bind(*v),
                    Arg::String(v) => query.bind(v.as_str()),
                    Arg::OptString(v) => query.bind(v.as_deref()),
                    Arg::Ids($ids) => query.bind($bind_ids),
                };
            }
            query
        }

        #[async_trait::async_trait]
        impl $crate::store::sql::Conn for $conn {
            type Row = $row;

            async fn execute(
                &mut self,
                sql: &str,
                args: &[$crate::store::sql::Arg<'_>],
            ) -> $crate::store::StoreResult<u64> {
                let query = bind_args(sqlx::query(sqlx::AssertSqlSafe(sql)), args);
                Ok(query.execute(&mut *self).await?.rows_affected())
            }

            async fn fetch_all(
                &mut self,
                sql: &str,
                args: &[$crate::store::sql::Arg<'_>],
            ) -> $crate::store::StoreResult<Vec<$row>> {
                let query = bind_args(sqlx::query(sqlx::AssertSqlSafe(sql)), args);
                Ok(query.fetch_all(&mut *self).await?)
            }

            async fn fetch_optional(
                &mut self,
                sql: &str,
                args: &[$crate::store::sql::Arg<'_>],
            ) -> $crate::store::StoreResult<Option<$row>> {
                let query = bind_args(sqlx::query(sqlx::AssertSqlSafe(sql)), args);
                Ok(query.fetch_optional(&mut *self).await?)
            }

            $($dialect)*
        }
    };
}
pub(crate) use impl_conn;
