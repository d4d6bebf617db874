//! A webhook delivery, from headers and raw body to a [`ForgeEvent`].
//!
//! The order of the checks is the point: the size first (nothing is hashed beyond the limit),
//! then the signature (nothing unauthenticated is parsed), then the headers that say what the
//! delivery is, then the payload. The server maps [`WebhookError::status`] to its answer.

use http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use crate::event::ForgeEvent;
use crate::kind::{ForgeKind, Secret};
use crate::signature::{hmac_matches, token_matches};
use crate::{gitea, github, gitlab};

/// The largest webhook body accepted, in bytes: GitHub's own cap on a payload (25 MB), which no
/// forge's push or pull request event comes near. The server should stop reading a request
/// body at this size too, so that a larger one is never buffered whole.
pub const MAX_WEBHOOK_BODY: usize = 25 * 1024 * 1024;

/// A verified delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDelivery {
    /// The forge's id for this delivery (GitHub `X-GitHub-Delivery`, Gitea/Forgejo
    /// `X-Gitea-Delivery`/`X-Forgejo-Delivery`, GitLab `X-Gitlab-Event-UUID`), kept so that a
    /// redelivery can be recognised. `None` when the forge sent none (GitLab before 15.x).
    pub delivery_id: Option<String>,
    /// The event kind header as sent (`push`, `Tag Push Hook`, ...), for logs.
    pub event_kind: String,
    pub event: ForgeEvent,
}

/// Why a delivery was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("webhook body of {size} bytes is over the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    /// The signature or token is missing or wrong, or no secret is configured. Deliberately
    /// vague: the sender learns nothing about the secret.
    #[error("webhook not authenticated: {reason}")]
    Unauthenticated { reason: &'static str },
    #[error("webhook has no `{header}` header, or it is not text")]
    MissingHeader { header: &'static str },
    /// The payload is not the JSON the event kind promises; `path` says where (`.` for the
    /// whole body, `pull_request.head.sha`, `commits[0].author`).
    #[error("malformed `{event_kind}` payload at `{path}`: {message}")]
    Malformed {
        event_kind: String,
        path: String,
        message: String,
    },
}

impl WebhookError {
    /// The HTTP status the server answers with: 413, 401, or 400.
    pub fn status(&self) -> StatusCode {
        match self {
            WebhookError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            WebhookError::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            WebhookError::MissingHeader { .. } | WebhookError::Malformed { .. } => StatusCode::BAD_REQUEST,
        }
    }
}

/// Verifies a delivery from a forge of `kind` against the project's webhook `secret` and
/// parses it. `body` must be the raw bytes received: the signature covers them, not any
/// re-serialisation. An empty `secret` refuses every delivery, so a project without one
/// cannot be triggered by anyone who finds its URL.
pub fn parse_webhook(
    kind: ForgeKind,
    headers: &HeaderMap,
    body: &[u8],
    secret: &Secret,
) -> Result<WebhookDelivery, WebhookError> {
    if body.len() > MAX_WEBHOOK_BODY {
        return Err(WebhookError::TooLarge {
            size: body.len(),
            limit: MAX_WEBHOOK_BODY,
        });
    }
    let secret = secret.expose();
    if secret.is_empty() {
        return Err(WebhookError::Unauthenticated {
            reason: "no webhook secret is configured for this project",
        });
    }
    match kind {
        ForgeKind::GitHub => {
            let signature =
                header(headers, &["x-hub-signature-256"]).ok_or(WebhookError::Unauthenticated {
                    reason: "no `X-Hub-Signature-256` header",
                })?;
            let valid = signature
                .strip_prefix("sha256=")
                .is_some_and(|hex| hmac_matches(secret.as_bytes(), body, hex));
            if !valid {
                return Err(WebhookError::Unauthenticated {
                    reason: "`X-Hub-Signature-256` does not match the body",
                });
            }
            let event_kind = required(headers, "X-GitHub-Event", &["x-github-event"])?;
            Ok(WebhookDelivery {
                delivery_id: header(headers, &["x-github-delivery"]).map(str::to_owned),
                event: github::parse(event_kind, body)?,
                event_kind: event_kind.to_owned(),
            })
        }
        ForgeKind::Gitea | ForgeKind::Forgejo => {
            // Forgejo sends its own headers and Gitea's; Gitea sends only its own.
            let signature = header(headers, &["x-forgejo-signature", "x-gitea-signature"]).ok_or(
                WebhookError::Unauthenticated {
                    reason: "no `X-Gitea-Signature` or `X-Forgejo-Signature` header",
                },
            )?;
            if !hmac_matches(secret.as_bytes(), body, signature) {
                return Err(WebhookError::Unauthenticated {
                    reason: "`X-Gitea-Signature` does not match the body",
                });
            }
            let event_kind = required(headers, "X-Gitea-Event", &["x-forgejo-event", "x-gitea-event"])?;
            Ok(WebhookDelivery {
                delivery_id: header(headers, &["x-forgejo-delivery", "x-gitea-delivery"]).map(str::to_owned),
                event: gitea::parse(event_kind, body)?,
                event_kind: event_kind.to_owned(),
            })
        }
        ForgeKind::GitLab => {
            let token = header(headers, &["x-gitlab-token"]).ok_or(WebhookError::Unauthenticated {
                reason: "no `X-Gitlab-Token` header",
            })?;
            if !token_matches(token, secret) {
                return Err(WebhookError::Unauthenticated {
                    reason: "`X-Gitlab-Token` is not the webhook secret",
                });
            }
            let event_kind = required(headers, "X-Gitlab-Event", &["x-gitlab-event"])?;
            Ok(WebhookDelivery {
                delivery_id: header(headers, &["x-gitlab-event-uuid"]).map(str::to_owned),
                event: gitlab::parse(event_kind, body)?,
                event_kind: event_kind.to_owned(),
            })
        }
    }
}

/// The first of `names` present with a text value (header names are case-insensitive; `http`
/// keeps them lowercase).
fn header<'a>(headers: &'a HeaderMap, names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|name| headers.get(*name)?.to_str().ok())
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

fn required<'a>(
    headers: &'a HeaderMap,
    shown: &'static str,
    names: &[&str],
) -> Result<&'a str, WebhookError> {
    header(headers, names).ok_or(WebhookError::MissingHeader { header: shown })
}

/// Deserializes a whole payload, saying where it went wrong if it does.
pub(crate) fn from_json<T: DeserializeOwned>(event_kind: &str, body: &[u8]) -> Result<T, WebhookError> {
    let malformed = |path: String, message: String| WebhookError::Malformed {
        event_kind: event_kind.to_owned(),
        path,
        message,
    };
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|error| malformed(error.path().to_string(), error.inner().to_string()))?;
    deserializer
        .end()
        .map_err(|error| malformed(".".to_owned(), error.to_string()))?;
    Ok(value)
}
