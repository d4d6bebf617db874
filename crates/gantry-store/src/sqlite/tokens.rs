//! The SQL of API tokens on SQLite (see [`crate::token`]; schema in
//! `migrations/sqlite/0002_tokens.sql`).

use chrono::{DateTime, Utc};

use super::SqliteBackend;
use crate::cdevent::timestamp;
use crate::error::StoreError;
use crate::token::{Deletion, NewToken, TokenRow, is_last_admin};

impl SqliteBackend {
    crate::same_sql::shared_token_queries!();

    /// Inserts `token` only if no admin token exists, in one statement so that two servers
    /// starting at once cannot both create one.
    pub(crate) async fn insert_first_admin_token(&self, token: &NewToken<'_>) -> Result<bool, StoreError> {
        // `scopes` is space-separated; padding it finds `admin` as a whole word.
        let done = sqlx::query(
            "INSERT INTO tokens (name, scopes, hash, created_at)
             SELECT $1, $2, $3, $4
             WHERE NOT EXISTS (SELECT 1 FROM tokens WHERE (' ' || scopes || ' ') LIKE '% admin %')
             ON CONFLICT DO NOTHING",
        )
        .bind(token.name)
        .bind(token.scopes)
        .bind(token.hash)
        .bind(timestamp(token.created_at))
        .execute(&self.pool)
        .await
        .map_err(StoreError::db("create the bootstrap token"))?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes the token `name` unless it is the last admin token. The check and the delete
    /// share one `BEGIN IMMEDIATE` transaction: holding the write lock from the start, it keeps
    /// two revocations of the last two admin tokens from both passing the check.
    pub(crate) async fn delete_token(&self, name: &str) -> Result<Deletion, StoreError> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(StoreError::db("begin revoking a token"))?;
        let admins: Vec<String> =
            sqlx::query_scalar("SELECT name FROM tokens WHERE (' ' || scopes || ' ') LIKE '% admin %'")
                .fetch_all(&mut *tx)
                .await
                .map_err(StoreError::db("find the admin tokens"))?;
        if is_last_admin(name, &admins) {
            // Explicitly rather than on drop, to give the write lock back at once.
            tx.rollback()
                .await
                .map_err(StoreError::db("roll back a refused revocation"))?;
            return Ok(Deletion::LastAdmin);
        }
        let done = sqlx::query("DELETE FROM tokens WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db("revoke a token"))?;
        tx.commit()
            .await
            .map_err(StoreError::db("commit revoking a token"))?;
        Ok(if done.rows_affected() == 1 {
            Deletion::Deleted
        } else {
            Deletion::Missing
        })
    }
}
