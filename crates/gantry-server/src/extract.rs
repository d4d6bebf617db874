//! Extractors with [`AppError`] as their rejection, so that a malformed body, query or path gets
//! the API's JSON error shape and its own words instead of axum's plain text.
//!
//! JSON bodies are parsed by [`JsonBytes`]: a plain parse first (the common, valid case pays
//! nothing for error reporting), and only when that fails a second parse that tracks where in
//! the body the problem is, for the error's `field`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderMap, StatusCode, header};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use crate::error::AppError;
use crate::router::MAX_JSON_BYTES;

/// A JSON request body, parsed into `T`.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        let body = JsonBytes::from_request(request, state).await?;
        body.parse().map(Self)
    }
}

/// A request body sent as JSON, not parsed yet: for handlers that parse it their own way
/// (borrowing from it, or in parts).
#[derive(Debug)]
pub struct JsonBytes(Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBytes {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        if !is_json(request.headers()) {
            return Err(AppError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the body must be JSON, sent with `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| body_error(&rejection))?;
        Ok(Self(bytes))
    }
}

impl JsonBytes {
    /// The body as it came.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// The body's first byte that is not white space: `{` for an object, `[` for an array.
    pub fn first_byte(&self) -> Option<u8> {
        self.0.iter().copied().find(|byte| !byte.is_ascii_whitespace())
    }

    /// Parses the body as `T`, which may borrow from it. Malformed JSON is a `400 invalid_json`
    /// saying the line and column; JSON of the wrong shape a `422 invalid_body` naming the field.
    pub fn parse<'a, T: Deserialize<'a>>(&'a self) -> Result<T, AppError> {
        serde_json::from_slice(&self.0).map_err(|error| self.describe::<T>(error))
    }

    /// The error for a body that `T` could not be parsed from, parsed again to find where.
    fn describe<'a, T: Deserialize<'a>>(&'a self, first: serde_json::Error) -> AppError {
        // Malformed JSON first, wherever it is: a shape error found earlier in the body would
        // otherwise hide it.
        let syntax = serde_json::from_slice::<serde::de::IgnoredAny>(&self.0).err();
        let mut parser = serde_json::Deserializer::from_slice(&self.0);
        let (error, mut pointer) = match (syntax, serde_path_to_error::deserialize::<_, T>(&mut parser)) {
            (Some(syntax), _) => (syntax, String::new()),
            (None, Err(error)) => {
                let pointer = pointer(error.path());
                (error.into_inner(), pointer)
            }
            // Cannot happen (the body is JSON, and `T` failed on it); the first error then.
            (None, Ok(_)) => (first, String::new()),
        };
        // serde names a missing field in its message, at the path of the object lacking it.
        if let Some(field) = error
            .to_string()
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            pointer.push('/');
            pointer.push_str(&field.replace('~', "~0").replace('/', "~1"));
        }
        match error.classify() {
            Category::Syntax | Category::Eof | Category::Io => AppError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                format!(
                    "the body is not valid JSON: {} (at line {} column {})",
                    detail(&error),
                    error.line(),
                    error.column()
                ),
            ),
            Category::Data => {
                let place = if pointer.is_empty() {
                    "the body".to_owned()
                } else {
                    format!("`{pointer}`")
                };
                let error = AppError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_body",
                    format!("{place} is not as expected: {}", detail(&error)),
                );
                if pointer.is_empty() {
                    error
                } else {
                    error.with_field(pointer)
                }
            }
        }
    }
}

/// serde's message without the position it appends (given apart) and without Rust's type
/// names: `expected struct NewToken with 2 elements` is `expected an object`.
fn detail(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let mut message = match message.rfind(" at line ") {
        Some(cut) => message[..cut].to_owned(),
        None => message,
    };
    while let Some(start) = message.find("struct ") {
        let name = start + "struct ".len();
        let mut end = message[name..]
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .map_or(message.len(), |length| name + length);
        // `with 2 elements`: serde's words for a struct sent as an array, nothing to a client.
        if let Some(count) = message[end..].strip_prefix(" with ") {
            let digits = count.find(|c: char| !c.is_ascii_digit()).unwrap_or(count.len());
            if let Some(word) = [" elements", " element"]
                .into_iter()
                .find(|word| count[digits..].starts_with(word))
            {
                end += " with ".len() + digits + word.len();
            }
        }
        message.replace_range(start..end, "an object");
    }
    message
        .replace("expected a sequence", "expected an array")
        .replace("expected a map", "expected an object")
}

/// A JSON pointer (RFC 6901) for serde's path: `/0/kind/path`; empty for the whole body.
fn pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut pointer = String::new();
    for segment in path {
        let token = match segment {
            Segment::Seq { index } => index.to_string(),
            Segment::Map { key } => key.replace('~', "~0").replace('/', "~1"),
            Segment::Enum { variant } => variant.replace('~', "~0").replace('/', "~1"),
            Segment::Unknown => continue,
        };
        pointer.push('/');
        pointer.push_str(&token);
    }
    pointer
}

/// Whether the request says its body is JSON: `application/json`, or `application/*+json`.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|subtype| subtype.ends_with("+json"))
}

/// The error for a body that could not be read: too large, or cut off.
fn body_error(rejection: &BytesRejection) -> AppError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::too_large(MAX_JSON_BYTES as u64)
    } else {
        AppError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("the body could not be read: {}", rejection.body_text()),
        )
    }
}

/// The query string.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct ApiQuery<T>(pub T);

/// Path parameters.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct ApiPath<T>(pub T);

#[cfg(test)]
mod tests {
    use super::*;

    fn parse<T: DeserializeOwned>(body: &str) -> Result<T, AppError> {
        JsonBytes(Bytes::from(body.to_owned())).parse()
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Event {
        id: String,
        kind: Kind,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Started,
        Finished,
    }

    #[test]
    fn malformed_json_is_a_400_saying_where() {
        let error = parse::<Vec<Event>>("[{\"id\": \"a\",").unwrap_err();
        assert_eq!(
            (error.status(), error.code()),
            (StatusCode::BAD_REQUEST, "invalid_json")
        );
        assert!(
            error.message().starts_with("the body is not valid JSON: "),
            "{error}"
        );
        assert!(error.message().contains("line 1 column"), "{error}");
        let error = parse::<Vec<Event>>("[{\"id\": \"a\", \"kind\": started}]").unwrap_err();
        assert_eq!(error.code(), "invalid_json", "{error}");
        let error = parse::<serde_json::Value>("").unwrap_err();
        assert_eq!(error.code(), "invalid_json", "{error}");
        // Malformed after a shape error: still malformed.
        for body in ["{bad", "[{\"id\": 1}", "{\"not\": \"an array\"} x"] {
            let error = parse::<Vec<Event>>(body).unwrap_err();
            assert_eq!(error.code(), "invalid_json", "{body}: {error}");
        }
    }

    #[test]
    fn the_wrong_shape_is_a_422_naming_the_field() {
        let error = parse::<Vec<Event>>("{}").unwrap_err();
        assert_eq!(
            (error.status(), error.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body")
        );
        assert_eq!(error.field(), None);
        assert!(error.message().contains("expected an array"), "{error}");

        let error = parse::<Vec<Event>>(r#"[{"id": "a", "kind": "started"}, {"id": "b", "kind": "gone"}]"#)
            .unwrap_err();
        assert_eq!(error.field(), Some("/1/kind"), "{error}");
        assert!(error.message().contains("unknown variant `gone`"), "{error}");

        let error = parse::<Vec<Event>>(r#"[{"id": "a"}]"#).unwrap_err();
        assert_eq!(error.field(), Some("/0/kind"), "{error}");
        assert!(error.message().contains("missing field `kind`"), "{error}");

        let error = parse::<Event>("[]").unwrap_err();
        assert!(error.message().ends_with("expected an object"), "{error}");

        let error = parse::<Vec<Event>>(r#"["x"]"#).unwrap_err();
        assert!(error.message().contains("expected an object"), "{error}");
        assert!(!error.message().contains("struct"), "{error}");
    }

    #[test]
    fn content_types() {
        let check = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, value.parse().unwrap());
            is_json(&headers)
        };
        assert!(check("application/json"));
        assert!(check("Application/JSON; charset=utf-8"));
        assert!(check("application/cloudevents+json"));
        assert!(!check("text/plain"));
        assert!(!check("application/jsonx"));
        assert!(!is_json(&HeaderMap::new()));
    }
}
