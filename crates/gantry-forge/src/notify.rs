//! Notifications of a build's outcome: to a chat through a Slack-compatible incoming webhook,
//! or to any HTTP receiver as a signed CDEvent.

use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use serde_json::json;

use crate::client::{DeliveryError, Prepared};
use crate::kind::Secret;
use crate::signature::hmac_sha256_hex;

/// The header carrying a generic webhook's signature: `sha256=` and the lowercase hex
/// HMAC-SHA256 of the raw body under the receiver's secret, as GitHub signs its webhooks.
///
/// A receiver verifies it by computing the HMAC-SHA256 of the body bytes exactly as received
/// (before parsing them) with the shared secret, and comparing `sha256=<hex>` to the header in
/// constant time; anything else is refused. The CDEvent's `context.id` is unique per event, so
/// a receiver that sees an id again can drop the repeat of a retried delivery.
pub const NOTIFICATION_SIGNATURE_HEADER: &str = "X-Gantry-Signature-256";

/// Where a project's notifications go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotificationTarget {
    /// A Slack incoming webhook, or any chat that takes its format (Mattermost, Rocket.Chat,
    /// Discord's `/slack` endpoint). The URL is the credential, so it is a [`Secret`].
    Slack { url: Secret },
    /// Any HTTP receiver: the CDEvent as the body, signed with `secret`.
    Webhook { url: Secret, secret: Secret },
}

/// What happened, for people and for machines.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// One line for people: `web #42 succeeded on main`.
    pub text: String,
    /// The build's page.
    pub link: String,
    /// The CDEvent the store recorded for it (`dev.cdevents.pipelinerun.finished.0.3.0` for a
    /// finished run), sent as it is.
    pub cdevent: serde_json::Value,
}

pub(crate) fn request(
    target: &NotificationTarget,
    notification: &Notification,
) -> Result<Prepared, DeliveryError> {
    let json_type = HeaderValue::from_static("application/json");
    match target {
        // https://api.slack.com/messaging/webhooks: `text` in Slack's markup, where a link is
        // `<URL|label>` and `&`, `<`, `>` are escaped.
        NotificationTarget::Slack { url } => Ok(Prepared {
            url: http_url(url)?,
            headers: vec![(CONTENT_TYPE, json_type)],
            body: json!({
                "text": format!(
                    "<{}|{}>",
                    slack_link(&notification.link),
                    slack_escape(&notification.text)
                ),
            }),
        }),
        NotificationTarget::Webhook { url, secret } => {
            let body = serde_json::to_vec(&notification.cdevent).expect("a JSON value always serialises");
            let signature = format!("sha256={}", hmac_sha256_hex(secret.expose().as_bytes(), &body));
            Ok(Prepared {
                url: http_url(url)?,
                headers: vec![
                    (CONTENT_TYPE, json_type),
                    (
                        HeaderName::from_static("x-gantry-signature-256"),
                        HeaderValue::from_str(&signature).expect("hex is a valid header value"),
                    ),
                ],
                body: notification.cdevent.clone(),
            })
        }
    }
}

/// The URL, if it is one Gantry may post to; the error does not repeat it (it is a secret).
fn http_url(url: &Secret) -> Result<String, DeliveryError> {
    match reqwest::Url::parse(url.expose()) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some() => {
            Ok(url.expose().to_owned())
        }
        _ => Err(DeliveryError::InvalidTarget {
            what: "notification",
            reason: "the webhook URL is not an http or https URL".to_owned(),
        }),
    }
}

fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A URL inside `<...|...>`: the two characters that would end it early, percent-encoded.
fn slack_link(url: &str) -> String {
    url.replace('|', "%7C").replace('>', "%3E")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_text_is_escaped_and_linked() {
        let target = NotificationTarget::Slack {
            url: Secret::new("https://hooks.slack.example/services/T/B/x"),
        };
        let notification = Notification {
            text: "web #42 <failed> & retried".into(),
            link: "https://gantry.example/runs/1?a|b".into(),
            cdevent: json!({}),
        };
        let prepared = request(&target, &notification).unwrap();
        assert_eq!(
            prepared.body,
            json!({"text": "<https://gantry.example/runs/1?a%7Cb|web #42 &lt;failed&gt; &amp; retried>"})
        );
    }

    #[test]
    fn a_bad_url_is_refused_without_repeating_it() {
        let target = NotificationTarget::Webhook {
            url: Secret::new("hooks.example/s3cret-path"),
            secret: Secret::new("k"),
        };
        let notification = Notification {
            text: String::new(),
            link: String::new(),
            cdevent: json!({}),
        };
        let Err(error) = request(&target, &notification) else {
            panic!("accepted");
        };
        assert!(!error.to_string().contains("s3cret"), "{error}");
    }
}
