//! The HTTP client that sends statuses and notifications, retrying transient failures.
//!
//! Every send is an `async fn` the server spawns (`tokio::spawn`), so a slow or absent forge
//! holds up no request and no build. Redirects are not followed: a forge's API does not
//! redirect a status, and following one could carry a token to another host. Errors and logs
//! name the host only, never the URL: a Slack webhook URL is itself a secret.

use std::time::{Duration, SystemTime};

use http::header::{HeaderName, HeaderValue};
use reqwest::StatusCode;

use crate::notify::{self, Notification, NotificationTarget};
use crate::retry::{RetryPolicy, retry_after};
use crate::status::{self, CommitStatus, StatusTarget};

/// Sends commit statuses and notifications. Cheap to clone (one connection pool), so one
/// client serves the whole server.
#[derive(Debug, Clone)]
pub struct ForgeClient {
    http: reqwest::Client,
    retry: RetryPolicy,
}

/// Why a status or notification was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The settings cannot make a request: nothing was sent.
    #[error("invalid {what} target: {reason}")]
    InvalidTarget { what: &'static str, reason: String },
    /// The receiver answered with a final refusal (a `4xx` other than `429`, or a redirect):
    /// a wrong token, a repository or commit it does not know.
    #[error("{what} refused by `{host}`: HTTP {status}: {body}")]
    Refused {
        what: &'static str,
        host: String,
        status: u16,
        /// The start of the answer's body, which says why.
        body: String,
    },
    /// Transient failures until the tries ran out, or a `Retry-After` beyond the policy's
    /// longest wait.
    #[error("{what} to `{host}` not delivered after {attempts} attempts: {last}")]
    GaveUp {
        what: &'static str,
        host: String,
        attempts: u32,
        last: String,
    },
    #[error("failed to set up the HTTP client")]
    Client(#[source] reqwest::Error),
}

/// One POST, ready to send (and to send again).
pub(crate) struct Prepared {
    pub url: String,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: serde_json::Value,
}

/// The longest part of a refusal's body kept in the error.
const BODY_EXCERPT: usize = 300;

impl ForgeClient {
    /// A client with the default [`RetryPolicy`], a 10 s connect timeout and 30 s for a
    /// whole request.
    pub fn new() -> Result<Self, DeliveryError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("gantry/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(DeliveryError::Client)?;
        Ok(ForgeClient {
            http,
            retry: RetryPolicy::default(),
        })
    }

    /// The same client with another retry policy.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets `status` on the commit at `target`'s forge.
    pub async fn set_status(
        &self,
        target: &StatusTarget,
        status: &CommitStatus,
    ) -> Result<(), DeliveryError> {
        self.send("commit status", status::request(target, status)?).await
    }

    /// Sends `notification` to `target`.
    pub async fn notify(
        &self,
        target: &NotificationTarget,
        notification: &Notification,
    ) -> Result<(), DeliveryError> {
        self.send("notification", notify::request(target, notification)?)
            .await
    }

    async fn send(&self, what: &'static str, prepared: Prepared) -> Result<(), DeliveryError> {
        let host = reqwest::Url::parse(&prepared.url)
            .ok()
            .and_then(|url| url.host_str().map(str::to_owned))
            .ok_or_else(|| DeliveryError::InvalidTarget {
                what,
                reason: "the URL has no host".to_owned(),
            })?;
        let body = serde_json::to_vec(&prepared.body).expect("a JSON value always serialises");
        let attempts = self.retry.attempts.max(1);
        let mut tried = 0;
        loop {
            tried += 1;
            let mut request = self.http.post(&prepared.url).body(body.clone());
            for (name, value) in &prepared.headers {
                request = request.header(name, value);
            }
            let (last, asked) = match request.send().await {
                Ok(response) if response.status().is_success() => return Ok(()),
                Ok(response) if transient(response.status()) => (
                    format!("HTTP {}", response.status().as_u16()),
                    retry_after(response.headers(), SystemTime::now()),
                ),
                Ok(response) => {
                    let status = response.status().as_u16();
                    let text = response.text().await.unwrap_or_default();
                    return Err(DeliveryError::Refused {
                        what,
                        host,
                        status,
                        body: text.chars().take(BODY_EXCERPT).collect(),
                    });
                }
                // Without the URL: a notification's URL may hold its credential.
                Err(error) => (causes(&error.without_url()), None),
            };
            let give_up = |last: String| DeliveryError::GaveUp {
                what,
                host: host.clone(),
                attempts: tried,
                last,
            };
            if tried >= attempts {
                return Err(give_up(last));
            }
            let Some(wait) = self.retry.wait(tried, asked) else {
                return Err(give_up(format!("{last}, and asked to retry after {asked:?}")));
            };
            tracing::warn!(%host, what, attempt = tried, %last, ?wait, "delivery failed, retrying");
            tokio::time::sleep(wait).await;
        }
    }
}

/// An error and its causes on one line (`error sending request: ... Connection refused`).
fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Answers worth trying again: the receiver is overloaded or failing, not refusing.
fn transient(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}
