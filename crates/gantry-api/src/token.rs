//! API tokens (admin): `POST /api/v1/tokens` ([`NewToken`] → [`CreatedToken`]), `GET`
//! ([`TokenList`]); and who a request's token speaks for, `GET /api/v1/whoami` ([`Whoami`]).
//!
//! A token belongs to a user (a person, named in approvals and the audit log) or to no one: a
//! machine token, named by itself (a CI service, an agent).

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
    /// Take jobs from the queue and report their runs; nothing else.
    Agent,
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
    /// The user the token acts for, who must exist (`gantry user add`); absent or `null` for a
    /// machine token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "alice")]
    pub user: Option<String>,
}

/// A token just created, with its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreatedToken {
    pub name: String,
    pub scopes: Vec<Scope>,
    /// The user the token acts for; `null` for a machine token.
    pub user: Option<String>,
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
    /// The user the token acts for; `null` for a machine token.
    pub user: Option<String>,
    pub created_at: DateTime<Utc>,
    /// To the minute; `null` if never used.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Who a request speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PrincipalKind {
    /// A person, through one of their tokens.
    User,
    /// A token of no user (a CI service, an agent).
    Machine,
    /// No token (where anonymous reading is on).
    Anonymous,
}

/// The principal of the request: `GET /api/v1/whoami`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Whoami {
    pub kind: PrincipalKind,
    /// The name an audit trail records: the user's name, `token:NAME` for a machine token,
    /// `anonymous` without a token.
    #[schema(example = "alice")]
    pub name: String,
    /// The token's name; `null` without a token.
    pub token: Option<String>,
    /// The token's scopes; empty without a token.
    pub scopes: Vec<Scope>,
}
