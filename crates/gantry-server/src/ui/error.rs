//! [`UiError`]: what can go wrong behind a page, shown as a friendly page with a way back.
//!
//! Unknown runs, apps and tasks are 404s, bad links and query parameters 400s; a store failure is
//! a 500 whose detail goes to the log, not to the browser.

use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use gantry_store::StoreError;
use maud::{Markup, html};

use super::layout::{Nav, Page};
use super::url;

/// Why a page cannot be shown.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    /// Nothing is recorded under this name.
    #[error("{what} not found")]
    NotFound { what: String, detail: Markup },
    /// The link or a query parameter makes no sense.
    #[error("bad request: {reason}")]
    BadRequest { reason: String },
    /// A run query matches several runs.
    #[error("`{query}` matches several runs")]
    Ambiguous { query: String, candidates: Vec<String> },
    #[error("failed to read the build data")]
    Store(#[source] StoreError),
}

impl UiError {
    /// A 404 page saying that `what` is unknown, with `detail` below.
    pub fn not_found(what: impl Into<String>, detail: Markup) -> Self {
        Self::NotFound {
            what: what.into(),
            detail,
        }
    }

    /// The 404 of a run id that matches no run.
    pub fn no_run(query: &str) -> Self {
        Self::not_found(
            "Run not found",
            html! {
                p { "No run is recorded as " code { (query) } "." }
                p { "A run is named by its id, a unique prefix of its id, or " code { "APP#BUILD" } "." }
            },
        )
    }

    pub fn bad_request(reason: impl Into<String>) -> Self {
        Self::BadRequest {
            reason: reason.into(),
        }
    }
}

impl From<StoreError> for UiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::AmbiguousRun { query, candidates } => Self::Ambiguous { query, candidates },
            other => Self::Store(other),
        }
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let (status, title, body) = match self {
            Self::NotFound { what, detail } => (StatusCode::NOT_FOUND, what, detail),
            Self::BadRequest { reason } => (
                StatusCode::BAD_REQUEST,
                "Bad request".to_owned(),
                html! { p { (reason) } },
            ),
            Self::Ambiguous { query, candidates } => (
                StatusCode::BAD_REQUEST,
                "Several runs match".to_owned(),
                html! {
                    p { code { (query) } " matches several runs; pick one:" }
                    ul { @for id in &candidates { li { a href=(url::run(id)) { code { (id) } } } } }
                },
            ),
            Self::Store(error) => {
                tracing::error!(error = %error, detail = ?error, "web UI: failed to read the build data");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong".to_owned(),
                    html! {
                        p { "The build data could not be read. The server's log has the details." }
                        p { "Try again in a moment." }
                    },
                )
            }
        };
        let body = html! {
            section.error-page {
                p.error-code { (status.as_u16()) }
                h1 { (title) }
                (body)
                p.error-links { a href="/" { "All apps" } " · " a href="/runs" { "All runs" } }
            }
        };
        Page::new(title.clone(), Nav::None, body).respond(status)
    }
}

/// The friendly 404 page for a path that names no page, for a router's fallback.
pub async fn not_found_page(uri: Uri) -> Response {
    UiError::not_found(
        "Page not found",
        html! {
            p { "Nothing lives at " code { (uri.path()) } "." }
            p { "Runs are at " code { "/runs/ID" } ", apps at " code { "/apps/NAME" } "." }
        },
    )
    .into_response()
}

/// What a page handler returns.
pub type UiResult<T = Response> = Result<T, UiError>;
