//! API tokens: who may read the build data, report runs to it, or administer it.
//!
//! A token is a high-entropy random secret shown once, when it is created; the store keeps only
//! its sha256, so a copy of the database gives nobody a usable token. A token has [`Scope`]s,
//! each implying the lesser ones (`admin` ⊃ `report` ⊃ `read`). The first admin token of a
//! store is its bootstrap token ([`Store::ensure_admin_token`]); the last admin token cannot be
//! revoked ([`Store::revoke_token`]), so that someone can always manage tokens.
//!
//! The SQL is in [`crate::aggregate::tokens`]; a token's scopes are rows of `token_scopes`.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::aggregate::tokens::{Deletion, Insertion, NewToken, TokenRow};
use crate::error::StoreError;
use crate::store::Store;

/// What every generated secret starts with, so that a leaked one is easy to recognize (and to
/// scan for in logs and repositories).
pub const SECRET_PREFIX: &str = "gantry_";

/// Secrets given by an operator (`GANTRY_ADMIN_TOKEN`) must be at least this long.
pub const MIN_SECRET_LEN: usize = 16;

/// `last_used_at` is written at most this often per token, so that reading the API does not
/// turn every request into a database write.
const LAST_USED_RESOLUTION: Duration = Duration::minutes(1);

/// What a token allows. `admin` allows everything; `report` allows reading; `agent` allows
/// taking jobs from the queue and reporting their runs, and nothing else (no reading).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Read runs, logs, artifacts, events, and every page of the UI.
    Read,
    /// Report: allocate build numbers, record run events, upload artifacts, send CDEvents.
    Report,
    /// An agent: take queued jobs, keep and complete them, and report their runs.
    Agent,
    /// Manage tokens.
    Admin,
}

impl Scope {
    pub const ALL: [Self; 4] = [Self::Read, Self::Report, Self::Agent, Self::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Report => "report",
            Self::Agent => "agent",
            Self::Admin => "admin",
        }
    }

    /// Parses what [`Scope::as_str`] wrote.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|scope| scope.as_str() == text)
    }

    /// Whether holding `self` allows what `needed` allows.
    pub fn implies(self, needed: Self) -> bool {
        match self {
            Self::Admin => true,
            Self::Agent => matches!(needed, Self::Agent | Self::Report),
            Self::Report => matches!(needed, Self::Report | Self::Read),
            Self::Read => needed == Self::Read,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A token as listed: never its secret, nor the secret's hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenRecord {
    pub name: String,
    /// As given at creation, in the order read, report, admin.
    pub scopes: Vec<Scope>,
    /// The user the token acts for; `None` for a machine token (a CI service, an agent).
    pub user: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When a request last used it (to the minute); `None` if never.
    pub last_used_at: Option<DateTime<Utc>>,
}

impl TokenRecord {
    /// Whether this token allows what `needed` allows.
    pub fn allows(&self, needed: Scope) -> bool {
        self.scopes.iter().any(|scope| scope.implies(needed))
    }
}

/// A failed token operation.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("`{name}` is not a valid token name: {reason}")]
    InvalidName { name: String, reason: &'static str },

    #[error("a token needs at least one scope (read, report, agent or admin)")]
    NoScopes,

    #[error("a token named `{name}` exists already")]
    NameTaken { name: String },

    /// Users are added on purpose (`gantry user add`), never by creating a token for them.
    #[error("there is no user `{user}`")]
    UnknownUser { user: String },

    #[error("the token secret is too short: it needs at least {MIN_SECRET_LEN} characters")]
    WeakSecret,

    /// Revoking the only token with the `admin` scope would leave nobody able to manage tokens
    /// over the API (the way back is `gantry token create --db` on the server's machine).
    #[error(
        "token `{name}` is the last one with the `admin` scope, and revoking it would leave nobody able to manage tokens: create another admin token first, then revoke this one"
    )]
    LastAdmin { name: String },

    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Whether deleting `name` would leave no admin token, given the names of every admin token
/// (as read inside the transaction that deletes).
pub(crate) fn is_last_admin(name: &str, admins: &[String]) -> bool {
    matches!(admins, [only] if only == name)
}

impl Store {
    /// Creates a machine token named `name` with `scopes` and returns its secret, which is not
    /// stored and cannot be shown again.
    pub async fn create_token(&self, name: &str, scopes: &[Scope]) -> Result<String, TokenError> {
        self.create_token_for(name, scopes, None).await
    }

    /// Creates a token named `name` with `scopes`, acting for `user` (who must exist,
    /// [`TokenError::UnknownUser`] otherwise) or, without one, a machine token; returns its
    /// secret, which is not stored and cannot be shown again.
    pub async fn create_token_for(
        &self,
        name: &str,
        scopes: &[Scope],
        user: Option<&str>,
    ) -> Result<String, TokenError> {
        let secret = generate_secret();
        self.insert_token(name, scopes, &secret, user).await?;
        Ok(secret)
    }

    /// Creates a machine token with a secret chosen by the operator (at least
    /// [`MIN_SECRET_LEN`] long).
    pub async fn create_token_with_secret(
        &self,
        name: &str,
        scopes: &[Scope],
        secret: &str,
    ) -> Result<(), TokenError> {
        self.insert_token(name, scopes, secret, None).await
    }

    async fn insert_token(
        &self,
        name: &str,
        scopes: &[Scope],
        secret: &str,
        user: Option<&str>,
    ) -> Result<(), TokenError> {
        check_name(name)?;
        check_secret(secret)?;
        let scopes = distinct_scopes(scopes)?;
        let hash = hash_secret(secret);
        let token = NewToken {
            name,
            scopes: &scopes,
            hash: &hash,
            created_at: Utc::now(),
            user,
        };
        match self.db().insert_token(&token).await? {
            Insertion::Created => Ok(()),
            Insertion::NameTaken => Err(TokenError::NameTaken {
                name: name.to_owned(),
            }),
            Insertion::UnknownUser => Err(TokenError::UnknownUser {
                user: user.unwrap_or_default().to_owned(),
            }),
        }
    }

    /// Creates the admin token `name` unless the store has an admin token already: with `secret`
    /// when given, else a random one. Returns the secret when it created the token, so that it
    /// can be shown once; `None` when an admin token existed. Safe against servers starting
    /// at once on one database: only one of them creates it.
    pub async fn ensure_admin_token(
        &self,
        name: &str,
        secret: Option<&str>,
    ) -> Result<Option<String>, TokenError> {
        check_name(name)?;
        let secret = match secret {
            Some(secret) => {
                check_secret(secret)?;
                secret.to_owned()
            }
            None => generate_secret(),
        };
        let hash = hash_secret(&secret);
        let token = NewToken {
            name,
            scopes: &[Scope::Admin],
            hash: &hash,
            created_at: Utc::now(),
            user: None,
        };
        if self.db().insert_first_admin_token(&token).await? {
            return Ok(Some(secret));
        }
        let admins = self.db().count_admin_tokens().await?;
        if admins > 0 {
            Ok(None)
        } else {
            Err(TokenError::NameTaken {
                name: name.to_owned(),
            })
        }
    }

    /// The token whose secret is `secret`, if there is one; records that it was used.
    pub async fn authenticate(&self, secret: &str) -> Result<Option<TokenRecord>, StoreError> {
        let hash = hash_secret(secret);
        let row = self.db().token_by_hash(&hash).await?;
        // The row was found by the hash, so the comparison cannot fail; comparing in constant
        // time anyway keeps the check sound if the lookup ever becomes a prefix or range query.
        let Some(row) = row.filter(|row| constant_time_eq(row.hash.as_bytes(), hash.as_bytes())) else {
            return Ok(None);
        };
        let now = Utc::now();
        if row
            .last_used_at
            .is_none_or(|last| now - last >= LAST_USED_RESOLUTION)
        {
            self.db().touch_token(&row.name, now).await?;
        }
        Ok(Some(row.record()))
    }

    /// Every token, by name.
    pub async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let rows = self.db().tokens().await?;
        Ok(rows.into_iter().map(TokenRow::record).collect())
    }

    /// Deletes the token named `name`; `false` when there was none. Refuses
    /// ([`TokenError::LastAdmin`]) to delete the last token with the `admin` scope, checking
    /// and deleting in one transaction so that concurrent revocations cannot remove them all.
    pub async fn revoke_token(&self, name: &str) -> Result<bool, TokenError> {
        let deletion = self.db().delete_token(name).await?;
        match deletion {
            Deletion::Deleted => Ok(true),
            Deletion::Missing => Ok(false),
            Deletion::LastAdmin => Err(TokenError::LastAdmin {
                name: name.to_owned(),
            }),
        }
    }
}

/// `gantry_` and 64 hexadecimal digits: 244 random bits from the operating system's generator
/// (two version 4 UUIDs, whose 6 fixed bits each are left in place).
fn generate_secret() -> String {
    let (first, second) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    format!("{SECRET_PREFIX}{}{}", first.simple(), second.simple())
}

/// What the store keeps of a secret.
pub(crate) fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Compares without stopping at the first difference.
fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len() && left.iter().zip(right).fold(0_u8, |diff, (a, b)| diff | (a ^ b)) == 0
}

fn check_name(name: &str) -> Result<(), TokenError> {
    match name_problem(name) {
        Some(reason) => Err(TokenError::InvalidName {
            name: name.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

/// Why `name` cannot name a token or a user, if it cannot. Never a `:`, so that an audit
/// trail's `token:NAME` for a machine token cannot be taken for a user's name.
pub(crate) fn name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("it is empty");
    }
    if name.len() > 64 {
        return Some("it is longer than 64 characters");
    }
    if !name
        .bytes()
        .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'@'))
    {
        return Some("use letters, digits, `-`, `_`, `.` and `@`");
    }
    None
}

fn check_secret(secret: &str) -> Result<(), TokenError> {
    if secret.chars().count() < MIN_SECRET_LEN {
        Err(TokenError::WeakSecret)
    } else {
        Ok(())
    }
}

/// Scopes as stored: each once, in the order read, report, admin; at least one.
fn distinct_scopes(scopes: &[Scope]) -> Result<Vec<Scope>, TokenError> {
    let mut sorted = scopes.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.is_empty() {
        return Err(TokenError::NoScopes);
    }
    Ok(sorted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_imply_the_lesser_ones() {
        let check = |held: Scope, needed: Scope, expect: bool| {
            assert_eq!(held.implies(needed), expect, "{held} for {needed}");
        };
        check(Scope::Admin, Scope::Read, true);
        check(Scope::Admin, Scope::Report, true);
        check(Scope::Report, Scope::Read, true);
        check(Scope::Report, Scope::Admin, false);
        check(Scope::Read, Scope::Report, false);
        check(Scope::Read, Scope::Read, true);
        check(Scope::Agent, Scope::Report, true);
        check(Scope::Agent, Scope::Agent, true);
        check(Scope::Agent, Scope::Read, false);
        check(Scope::Report, Scope::Agent, false);
        check(Scope::Admin, Scope::Agent, true);
    }

    #[test]
    fn scopes_are_stored_sorted_once() {
        assert_eq!(
            distinct_scopes(&[Scope::Admin, Scope::Read, Scope::Admin]).unwrap(),
            [Scope::Read, Scope::Admin]
        );
        assert!(matches!(distinct_scopes(&[]), Err(TokenError::NoScopes)));
        assert_eq!(Scope::parse("admin"), Some(Scope::Admin));
        assert_eq!(Scope::parse("root"), None);
    }

    #[test]
    fn secrets_are_random_and_long() {
        let (one, two) = (generate_secret(), generate_secret());
        assert_ne!(one, two);
        assert!(one.starts_with(SECRET_PREFIX));
        assert_eq!(one.len(), SECRET_PREFIX.len() + 64);
        assert_eq!(hash_secret(&one).len(), 64);
        assert_ne!(hash_secret(&one), hash_secret(&two));
    }

    #[test]
    fn names_are_checked() {
        for good in ["bootstrap", "ci-runner_1", "alice@example.com"] {
            check_name(good).unwrap();
        }
        for bad in ["", "with space", "ü", &"x".repeat(65), "a/b"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_the_sole_admin_is_the_last_one() {
        let admins = |names: &[&str]| names.iter().map(|name| (*name).to_owned()).collect::<Vec<_>>();
        assert!(is_last_admin("root", &admins(&["root"])));
        assert!(!is_last_admin("root", &admins(&["root", "other"])));
        assert!(!is_last_admin("ci", &admins(&["root"])));
        assert!(!is_last_admin("ci", &admins(&[])));
    }

    #[test]
    fn compares_in_constant_time_correctly() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
