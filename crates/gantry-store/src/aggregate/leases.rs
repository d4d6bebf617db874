//! Leases: `leases`, one row per leased resource (`run:<id>`, `job:<id>`) with its holder, its
//! fencing number and when it expires. The rules (who may renew, what a refusal says) are in
//! [`crate::lease`].
//!
//! Every operation is one conditional statement, so that several server replicas on one
//! PostgreSQL database (or processes on one SQLite file) never both win: PostgreSQL's row lock
//! makes a concurrent writer wait and then check the condition again on the row as it is after
//! the first one committed; SQLite runs one writer at a time.
//!
//! Schema: `migrations/*/0009_leases.sql`.

use chrono::{DateTime, Utc};

use crate::db::{Db, Sql, Statements, Tx};
use crate::error::StoreError;

/// A lease as both databases read it.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct LeaseRow {
    pub resource: String,
    pub holder: Option<String>,
    pub fencing: i64,
    pub expires_at: DateTime<Utc>,
}

const LEASE_COLUMNS: &str = "resource, holder, fencing, expires_at";

impl Tx {
    /// Gives `resource` to `holder` until `expires_at` when nobody else holds it (never
    /// leased, released, swept, expired at `now`, or held by `holder` itself), with a fencing
    /// number one more than the last; `None` when someone else holds it.
    pub(crate) async fn acquire_lease(
        &mut self,
        resource: &str,
        holder: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Option<LeaseRow>, StoreError> {
        self.fetch_optional(
            "acquire a lease",
            Sql::both(
                "INSERT INTO leases (resource, holder, fencing, acquired_at, expires_at)
                 VALUES ($1, $2, 1, $3, $4)
                 ON CONFLICT (resource) DO UPDATE
                     SET holder = excluded.holder, fencing = leases.fencing + 1,
                         acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
                     WHERE leases.holder IS NULL OR leases.holder = excluded.holder
                        OR leases.expires_at <= excluded.acquired_at
                 RETURNING resource, holder, fencing, expires_at",
            ),
            &[resource.into(), holder.into(), now.into(), expires_at.into()],
        )
        .await
    }

    /// Moves the expiry of `resource` to `expires_at` (never back) if `holder` still holds it
    /// under `fencing` (an expired lease nobody swept or took yet included); `None` otherwise.
    pub(crate) async fn renew_lease(
        &mut self,
        resource: &str,
        holder: &str,
        fencing: i64,
        expires_at: DateTime<Utc>,
    ) -> Result<Option<LeaseRow>, StoreError> {
        self.fetch_optional(
            "renew a lease",
            Sql::both(
                "UPDATE leases SET expires_at = CASE WHEN expires_at > $4 THEN expires_at ELSE $4 END
                 WHERE resource = $1 AND holder = $2 AND fencing = $3
                 RETURNING resource, holder, fencing, expires_at",
            ),
            &[resource.into(), holder.into(), fencing.into(), expires_at.into()],
        )
        .await
    }

    /// Frees `resource` if `holder` holds it under `fencing`; whether it did.
    pub(crate) async fn release_lease(
        &mut self,
        resource: &str,
        holder: &str,
        fencing: i64,
    ) -> Result<bool, StoreError> {
        let released = self
            .execute(
                "release a lease",
                Sql::both(
                    "UPDATE leases SET holder = NULL WHERE resource = $1 AND holder = $2 AND fencing = $3",
                ),
                &[resource.into(), holder.into(), fencing.into()],
            )
            .await?;
        Ok(released == 1)
    }

    /// The lease of `resource`, held or not; `None` if it was never leased.
    pub(crate) async fn lease(&mut self, resource: &str) -> Result<Option<LeaseRow>, StoreError> {
        let sql = format!("SELECT {LEASE_COLUMNS} FROM leases WHERE resource = $1");
        self.fetch_optional("read a lease", Sql::both(&sql), &[resource.into()])
            .await
    }

    /// Takes the expired lease of `resource` from its holder if it is still the one under
    /// `fencing` and still expired at `now`; whether it did. Of several sweepers at once exactly
    /// one does (the row lock, or SQLite's one writer), and a lease renewed meanwhile is kept.
    pub(crate) async fn expire_lease(
        &mut self,
        resource: &str,
        fencing: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let expired = self
            .execute(
                "expire a lease",
                Sql::both(
                    "UPDATE leases SET holder = NULL
                     WHERE resource = $1 AND fencing = $2 AND holder IS NOT NULL AND expires_at <= $3",
                ),
                &[resource.into(), fencing.into(), now.into()],
            )
            .await?;
        Ok(expired == 1)
    }
}

impl Db {
    /// The lease of `resource`, held or not; `None` if it was never leased.
    pub(crate) async fn lease(&self, resource: &str) -> Result<Option<LeaseRow>, StoreError> {
        let sql = format!("SELECT {LEASE_COLUMNS} FROM leases WHERE resource = $1");
        self.connection()
            .await?
            .fetch_optional("read a lease", Sql::both(&sql), &[resource.into()])
            .await
    }

    /// The leases still held whose resource starts with `prefix` that expired at `now`, oldest
    /// expiry first.
    pub(crate) async fn expired_leases(
        &self,
        prefix: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<LeaseRow>, StoreError> {
        // `substr` rather than `LIKE`: a prefix is matched as it is, `%` and `_` included.
        let sql = format!(
            "SELECT {LEASE_COLUMNS} FROM leases
             WHERE substr(resource, 1, length($1)) = $1 AND holder IS NOT NULL AND expires_at <= $2
             ORDER BY expires_at, resource"
        );
        self.connection()
            .await?
            .fetch_all(
                "list expired leases",
                Sql::both(&sql),
                &[prefix.into(), now.into()],
            )
            .await
    }
}
