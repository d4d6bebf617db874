//! Users: `users` (a name, an optional email, when added), the people tokens act for; a token's
//! `user_name` names its user, or none for a machine token. The rules are in [`crate::user`].
//!
//! Schema: `migrations/*/0010_users.sql`.

use chrono::{DateTime, Utc};

use crate::db::{Db, Sql, Statements};
use crate::error::StoreError;
use crate::user::UserRecord;

/// A user as both databases read it.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct UserRow {
    pub name: String,
    pub email: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl UserRow {
    pub(crate) fn record(self) -> UserRecord {
        UserRecord {
            name: self.name,
            email: self.email,
            created_at: self.created_at,
        }
    }
}

impl Db {
    /// `false` when a user with this name exists.
    pub(crate) async fn insert_user(
        &self,
        name: &str,
        email: Option<&str>,
        created_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let inserted = self
            .connection()
            .await?
            .execute(
                "add a user",
                Sql::both(
                    "INSERT INTO users (name, email, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                ),
                &[name.into(), email.into(), created_at.into()],
            )
            .await?;
        Ok(inserted == 1)
    }

    pub(crate) async fn users(&self) -> Result<Vec<UserRow>, StoreError> {
        self.connection()
            .await?
            .fetch_all(
                "list users",
                Sql::both("SELECT name, email, created_at FROM users ORDER BY name"),
                &[],
            )
            .await
    }
}
