//! Gantry and the forges that host its projects' repositories.
//!
//! In: a forge's webhook delivery (headers and raw body) is checked against the project's
//! webhook secret and normalised into one [`ForgeEvent`], whatever the forge
//! ([`parse_webhook`]). Out: a commit status on the forge ([`ForgeClient::set_status`]) and a
//! notification to a chat or any HTTP receiver ([`ForgeClient::notify`]), both retried on
//! transient failures.
//!
//! Code map:
//! - `kind.rs`: [`ForgeKind`], the forges spoken to, and [`Secret`], a value never shown.
//! - `event.rs`: [`ForgeEvent`] and what it carries; the vocabulary the server acts on.
//! - `webhook.rs`: [`parse_webhook`]: size limit, signature, delivery id, event kind, then the
//!   forge's parser. `signature.rs` holds the constant-time checks.
//! - `github.rs`, `gitea.rs`, `gitlab.rs`: each forge's webhook payloads.
//! - `status.rs`: [`CommitStatus`], the forge it goes to ([`StatusTarget`]), and the request
//!   each forge's API takes for it, beside the link to that API's documentation.
//! - `notify.rs`: [`Notification`] to a Slack-compatible or a signed generic webhook.
//! - `client.rs`: [`ForgeClient`], the HTTP client, and `retry.rs`, its [`RetryPolicy`].
//!
//! The crate does no storage and serves nothing: the server reads a project's forge settings,
//! calls in here, and records what it decides.

mod client;
mod event;
mod gitea;
mod github;
mod gitlab;
mod kind;
mod notify;
mod retry;
mod signature;
mod status;
mod webhook;

pub use client::{DeliveryError, ForgeClient};
pub use event::{Commit, ForgeEvent, Person, PullRequest, PullRequestAction, Push, Repository, Tag};
pub use kind::{ForgeKind, Secret, UnknownForgeKind};
pub use notify::{NOTIFICATION_SIGNATURE_HEADER, Notification, NotificationTarget};
pub use retry::RetryPolicy;
pub use signature::hmac_sha256_hex;
pub use status::{CommitStatus, MAX_DESCRIPTION, StatusState, StatusTarget};
pub use webhook::{MAX_WEBHOOK_BODY, WebhookDelivery, WebhookError, parse_webhook};
