//! [`AppError`]: every failed API request, as one stable JSON body.
//!
//! ```json
//! {"error": {"code": "not_found", "message": "run `0191…` is not in the store"}}
//! ```
//!
//! `code` is stable (scripts may match on it), `message` is for people, and `field`, when
//! present, is a JSON pointer to the part of the request body that is wrong. Bad input is always
//! a 4xx; a 5xx means the server or its store failed, and its detail goes to the log only.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gantry_api::{ErrorBody, ErrorDetail};
use gantry_store::{ArtifactError, JobError, LeaseError, StoreError, TokenError};

/// A failed request: its status, a stable code and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppError {
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<String>,
}

impl AppError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn too_large(limit: u64) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body is larger than {limit} bytes"),
        )
    }

    /// A failure of the server itself: the detail is logged, the client gets a generic message.
    pub fn internal(what: &str, error: &(dyn std::error::Error + 'static)) -> Self {
        tracing::error!(error = %chain(error), "failed to {what}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("failed to {what}; the server log has the detail"),
        )
    }

    /// Names the part of the request body that is wrong (a JSON pointer).
    #[must_use]
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.status, self.code, self.message)
    }
}

impl std::error::Error for AppError {}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if self.status.is_client_error() {
            tracing::debug!(status = %self.status, code = self.code, message = %self.message, "request refused");
        }
        let status = self.status;
        let unauthorized = status == StatusCode::UNAUTHORIZED;
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
                field: self.field,
            },
        };
        let mut response = (status, axum::Json(body)).into_response();
        if unauthorized {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"gantry\""),
            );
        }
        response
    }
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        let error = match error {
            StoreError::Artifact(error) => return error.into(),
            other => other,
        };
        match &error {
            StoreError::UnknownRun { run_id } => Self::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("run `{run_id}` is not in the store; send its `run_queued` event first"),
            ),
            StoreError::BuildRefused { app, .. } => Self::conflict(
                "build_refused",
                format!("{error}; take a build number from POST /api/v1/apps/{app}/builds"),
            ),
            StoreError::MockRun { .. } => Self::new(StatusCode::BAD_REQUEST, "mock_run", error.to_string()),
            StoreError::AmbiguousRun { .. } => {
                Self::new(StatusCode::BAD_REQUEST, "ambiguous_run", error.to_string())
            }
            StoreError::DigestMismatch { expected, actual, .. } => Self::new(
                StatusCode::BAD_REQUEST,
                "digest_mismatch",
                format!("the content has sha256 {actual}, not {expected}"),
            ),
            StoreError::InvalidCdEvent { index, source } => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid_cdevent",
                format!(
                    "CDEvent #{index} is not valid: at `{}`: {}",
                    source.field, source.reason
                ),
            )
            .with_field(source.field.clone()),
            _ => Self::internal("use the build data store", &error),
        }
    }
}

impl From<ArtifactError> for AppError {
    fn from(error: ArtifactError) -> Self {
        match &error {
            ArtifactError::InvalidDigest { .. } => {
                Self::new(StatusCode::BAD_REQUEST, "invalid_digest", error.to_string())
            }
            ArtifactError::DigestMismatch { .. } => {
                Self::new(StatusCode::BAD_REQUEST, "digest_mismatch", error.to_string())
            }
            ArtifactError::TooLarge { limit } => Self::too_large(*limit),
            ArtifactError::Source { source, .. } => {
                Self::bad_request(format!("the upload was cut short: {source}"))
            }
            _ => Self::internal("use the artifact store", &error),
        }
    }
}

impl From<TokenError> for AppError {
    fn from(error: TokenError) -> Self {
        match error {
            TokenError::NameTaken { .. } => Self::conflict("name_taken", error.to_string()),
            TokenError::InvalidName { .. } => Self::bad_request(error.to_string()).with_field("/name"),
            TokenError::NoScopes => Self::bad_request(error.to_string()).with_field("/scopes"),
            TokenError::WeakSecret => Self::bad_request(error.to_string()),
            TokenError::UnknownUser { .. } => Self::bad_request(error.to_string()).with_field("/user"),
            TokenError::LastAdmin { .. } => Self::conflict("last_admin_token", error.to_string()),
            TokenError::Store(error) => error.into(),
        }
    }
}

impl From<JobError> for AppError {
    fn from(error: JobError) -> Self {
        match error {
            JobError::Unknown { .. } => Self::not_found(error.to_string()),
            JobError::AppMismatch { .. } => Self::conflict("app_mismatch", error.to_string()),
            JobError::Lease(LeaseError::Lost { .. }) => Self::conflict(
                "lease_lost",
                format!(
                    "{error}: the job's lease expired and the job went back to the queue, or it was completed; stop working on it"
                ),
            ),
            JobError::Lease(error) => error.into(),
            JobError::Store(error) => error.into(),
        }
    }
}

impl From<LeaseError> for AppError {
    fn from(error: LeaseError) -> Self {
        match error {
            LeaseError::Held { .. } => Self::conflict("lease_held", error.to_string()),
            LeaseError::Lost { .. } => Self::conflict(
                "lease_lost",
                format!(
                    "{error}: the run's lease expired or another client took it; stop reporting this run"
                ),
            ),
            LeaseError::Closed { .. } => Self::conflict("lease_lost", error.to_string()),
            LeaseError::Store(error) => error.into(),
        }
    }
}

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_query", rejection.body_text())
    }
}

impl From<PathRejection> for AppError {
    fn from(rejection: PathRejection) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_path", rejection.body_text())
    }
}

/// An error with its sources, `: `-separated, for the log (and as the command line prints it).
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
