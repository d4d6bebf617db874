//! API tokens: `tokens` (a name, the sha256 of the secret, times of creation and last use, the
//! user it acts for if any) and
//! `token_scopes` (one row per scope a token holds). The rules (who may revoke what, how
//! secrets are made and checked) are in [`crate::token`].
//!
//! Schema: `migrations/*/0002_tokens.sql`, `0008_token_scopes.sql` and `0010_users.sql`.

use chrono::{DateTime, Utc};

use crate::db::{Arg, Db, Sql, Statement, Statements, Tx};
use crate::error::StoreError;
use crate::token::{Scope, TokenRecord, is_last_admin};

/// A token to insert.
#[derive(Debug)]
pub(crate) struct NewToken<'a> {
    pub name: &'a str,
    /// Sorted, without repeats, not empty.
    pub scopes: &'a [Scope],
    pub hash: &'a str,
    pub created_at: DateTime<Utc>,
    /// The user it acts for; `None` for a machine token.
    pub user: Option<&'a str>,
}

/// A token as both databases read it, with a column for each scope it may hold.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct TokenRow {
    pub name: String,
    pub hash: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub user_name: Option<String>,
    read: bool,
    report: bool,
    agent: bool,
    admin: bool,
}

/// The columns of [`TokenRow`], for `SELECT … FROM tokens`.
macro_rules! token_columns {
    () => {
        "name, hash, created_at, last_used_at, user_name,
         EXISTS (SELECT 1 FROM token_scopes s WHERE s.token_name = tokens.name AND s.scope = 'read') AS read,
         EXISTS (SELECT 1 FROM token_scopes s WHERE s.token_name = tokens.name AND s.scope = 'report') AS report,
         EXISTS (SELECT 1 FROM token_scopes s WHERE s.token_name = tokens.name AND s.scope = 'agent') AS agent,
         EXISTS (SELECT 1 FROM token_scopes s WHERE s.token_name = tokens.name AND s.scope = 'admin') AS admin"
    };
}

/// What a database did when asked to insert a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Insertion {
    Created,
    /// A token has the name: nothing was inserted.
    NameTaken,
    /// The token's user does not exist: nothing was inserted.
    UnknownUser,
}

/// What a database did when asked to delete a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Deletion {
    Deleted,
    /// No token has the name.
    Missing,
    /// The token is the last admin token: nothing was deleted.
    LastAdmin,
}

impl TokenRow {
    pub(crate) fn record(self) -> TokenRecord {
        let held = [
            (Scope::Read, self.read),
            (Scope::Report, self.report),
            (Scope::Agent, self.agent),
            (Scope::Admin, self.admin),
        ];
        TokenRecord {
            scopes: held
                .into_iter()
                .filter(|(_, held)| *held)
                .map(|(scope, _)| scope)
                .collect(),
            name: self.name,
            user: self.user_name,
            created_at: self.created_at,
            last_used_at: self.last_used_at,
        }
    }
}

impl Db {
    /// Inserts `token`, unless a token with this name (or, astronomically unlikely, this hash)
    /// exists or its user does not.
    pub(crate) async fn insert_token(&self, token: &NewToken<'_>) -> Result<Insertion, StoreError> {
        let mut tx = self.begin().await?;
        if let Some(user) = token.user {
            let found: Option<(String,)> = tx
                .fetch_optional(
                    "find a token's user",
                    Sql::both("SELECT name FROM users WHERE name = $1"),
                    &[user.into()],
                )
                .await?;
            if found.is_none() {
                tx.rollback().await?;
                return Ok(Insertion::UnknownUser);
            }
        }
        let created = tx
            .execute(
                "create a token",
                Sql::both(
                    "INSERT INTO tokens (name, hash, created_at, user_name) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                ),
                &[
                    token.name.into(),
                    token.hash.into(),
                    token.created_at.into(),
                    token.user.into(),
                ],
            )
            .await?;
        Ok(if tx.finish_token(token, created == 1).await? {
            Insertion::Created
        } else {
            Insertion::NameTaken
        })
    }

    /// Inserts `token` (whose only scope is `admin`) only if no admin token exists. Two servers
    /// starting at once insert the same name: the second waits for the first's row, then
    /// inserts nothing.
    pub(crate) async fn insert_first_admin_token(&self, token: &NewToken<'_>) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let created = tx
            .execute(
                "create the bootstrap token",
                Sql::both(
                    "INSERT INTO tokens (name, hash, created_at)
                     SELECT $1, $2, $3
                     WHERE NOT EXISTS (SELECT 1 FROM token_scopes WHERE scope = 'admin')
                     ON CONFLICT DO NOTHING",
                ),
                &[token.name.into(), token.hash.into(), token.created_at.into()],
            )
            .await?;
        tx.finish_token(token, created == 1).await
    }

    pub(crate) async fn count_admin_tokens(&self) -> Result<i64, StoreError> {
        let (count,) = self
            .connection()
            .await?
            .fetch_one(
                "count admin tokens",
                Sql::both("SELECT COUNT(*) FROM token_scopes WHERE scope = 'admin'"),
                &[],
            )
            .await?;
        Ok(count)
    }

    pub(crate) async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRow>, StoreError> {
        self.connection()
            .await?
            .fetch_optional(
                "look a token up",
                Sql::both(concat!(
                    "SELECT ",
                    token_columns!(),
                    " FROM tokens WHERE hash = $1"
                )),
                &[hash.into()],
            )
            .await
    }

    pub(crate) async fn touch_token(&self, name: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.connection()
            .await?
            .execute(
                "record a token's use",
                Sql::both("UPDATE tokens SET last_used_at = $2 WHERE name = $1"),
                &[name.into(), at.into()],
            )
            .await?;
        Ok(())
    }

    pub(crate) async fn tokens(&self) -> Result<Vec<TokenRow>, StoreError> {
        self.connection()
            .await?
            .fetch_all(
                "list tokens",
                Sql::both(concat!("SELECT ", token_columns!(), " FROM tokens ORDER BY name")),
                &[],
            )
            .await
    }

    /// Deletes the token `name` (its scopes with it) unless it is the last admin token, checking
    /// and deleting in one transaction. SQLite's holds the write lock from its start, so two
    /// revocations of the last two admin tokens cannot both pass the check. On PostgreSQL,
    /// under read committed, a plain conditional `DELETE` would let each count the other as
    /// still there; so the admin scopes' rows are locked first (in name order, so that
    /// concurrent revocations cannot deadlock): the second waits for the first and then no
    /// longer sees the token it deleted.
    pub(crate) async fn delete_token(&self, name: &str) -> Result<Deletion, StoreError> {
        let mut tx = self.begin().await?;
        let admins: Vec<(String,)> = tx
            .fetch_all(
                "find the admin tokens",
                Sql::each(
                    "SELECT token_name FROM token_scopes WHERE scope = 'admin'",
                    "SELECT token_name FROM token_scopes WHERE scope = 'admin' ORDER BY token_name FOR UPDATE",
                ),
                &[],
            )
            .await?;
        let admins: Vec<String> = admins.into_iter().map(|(admin,)| admin).collect();
        if is_last_admin(name, &admins) {
            tx.rollback().await?;
            return Ok(Deletion::LastAdmin);
        }
        let deleted = tx
            .execute(
                "revoke a token",
                Sql::both("DELETE FROM tokens WHERE name = $1"),
                &[name.into()],
            )
            .await?;
        tx.commit().await?;
        Ok(if deleted == 1 {
            Deletion::Deleted
        } else {
            Deletion::Missing
        })
    }
}

impl Tx {
    /// Gives a token just inserted (`created`) its scopes and commits; rolls back otherwise.
    async fn finish_token(mut self, token: &NewToken<'_>, created: bool) -> Result<bool, StoreError> {
        if !created {
            self.rollback().await?;
            return Ok(false);
        }
        let mut insert = Statement::new("INSERT INTO token_scopes (token_name, scope) VALUES ");
        insert.values(token.scopes, |scope| {
            [Arg::from(token.name), scope.as_str().into()]
        });
        self.execute("record a token's scopes", insert.sql(), &insert.args)
            .await?;
        self.commit().await?;
        Ok(true)
    }
}
