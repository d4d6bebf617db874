//! API tokens (admin): `POST /api/v1/tokens` ([`NewToken`] → [`CreatedToken`]), `GET`
//! ([`TokenList`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a token may do; each allows the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Read runs, logs, artifacts and events.
    Read,
    /// Also report runs: build numbers, run events, artifacts, CDEvents.
    Report,
    /// Also manage tokens.
    Admin,
}

/// A token to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// Unique; letters, digits, `-`, `_`, `.` and `@`, up to 64.
    #[schema(example = "ci")]
    pub name: String,
    #[schema(example = json!(["report"]))]
    pub scopes: Vec<Scope>,
}

/// A token just created, with its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreatedToken {
    pub name: String,
    pub scopes: Vec<Scope>,
    /// Shown this once: only its hash is kept.
    pub secret: String,
}

/// Every token, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenList {
    pub tokens: Vec<TokenInfo>,
}

/// A token, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenInfo {
    pub name: String,
    pub scopes: Vec<Scope>,
    pub created_at: DateTime<Utc>,
    /// To the minute; `null` if never used.
    pub last_used_at: Option<DateTime<Utc>>,
}
