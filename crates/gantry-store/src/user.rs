//! Users: the people tokens act for, so that approvals and the audit log name a person rather
//! than a token. A user is added on purpose ([`Store::add_user`]), never as a side effect of
//! creating a token: a misspelt name is refused instead of becoming a second identity. A token
//! of no user is a machine token (a CI service, an agent), named by itself.
//!
//! The SQL is in [`crate::aggregate::users`].

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::aggregate::users::UserRow;
use crate::error::StoreError;
use crate::store::Store;
use crate::token::name_problem;

/// The longest email address kept (RFC 5321's limit on a path).
const MAX_EMAIL_LEN: usize = 254;

/// A user as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserRecord {
    pub name: String,
    pub email: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A user that could not be added.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("`{name}` is not a valid user name: {reason}")]
    InvalidName { name: String, reason: &'static str },

    #[error("`{email}` is not an email address: {reason}")]
    InvalidEmail { email: String, reason: &'static str },

    #[error("a user named `{name}` exists already")]
    NameTaken { name: String },

    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Store {
    /// Adds the user `name`, with an email address if given.
    pub async fn add_user(&self, name: &str, email: Option<&str>) -> Result<(), UserError> {
        if let Some(reason) = name_problem(name) {
            return Err(UserError::InvalidName {
                name: name.to_owned(),
                reason,
            });
        }
        if let Some(email) = email
            && let Some(reason) = email_problem(email)
        {
            return Err(UserError::InvalidEmail {
                email: email.to_owned(),
                reason,
            });
        }
        if self.db().insert_user(name, email, Utc::now()).await? {
            Ok(())
        } else {
            Err(UserError::NameTaken {
                name: name.to_owned(),
            })
        }
    }

    /// Every user, by name.
    pub async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let rows = self.db().users().await?;
        Ok(rows.into_iter().map(UserRow::record).collect())
    }
}

/// Why `email` cannot be an address, if it cannot: only what is plainly wrong is refused (the
/// address is for people to read, not for Gantry to send to).
fn email_problem(email: &str) -> Option<&'static str> {
    if email.len() > MAX_EMAIL_LEN {
        return Some("it is longer than 254 characters");
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("it holds a space or a control character");
    }
    match email.rsplit_once('@') {
        Some((local, domain)) if !local.is_empty() && !domain.is_empty() => None,
        _ => Some("it needs a name, `@` and a domain"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_loosely() {
        for good in ["alice@example.com", "a.b+ci@sub.example.org", "\"odd\"@example"] {
            assert_eq!(email_problem(good), None, "{good}");
        }
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "a lice@example.com",
            &format!("{}@x", "a".repeat(254)),
        ] {
            assert!(email_problem(bad).is_some(), "{bad}");
        }
    }
}
