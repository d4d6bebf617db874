//! `/healthz` (the process answers) and `/readyz` (it can serve: its store answers, and it is
//! not shutting down), for load balancers and orchestrators. Neither needs a token.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gantry_store::RunFilter;

use gantry_api::{ErrorBody, HEALTHY, READY};

use crate::error::AppError;
use crate::state::AppState;

/// A store slower than this counts as not ready.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /healthz`: the process is alive. Never touches the store.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "health",
    responses((status = 200, description = "The process answers", body = String, content_type = "text/plain"))
)]
pub async fn healthz() -> &'static str {
    HEALTHY
}

/// `GET /readyz`: the store answers a trivial query, and the server is not shutting down.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "health",
    responses(
        (status = 200, description = "Ready to serve", body = String, content_type = "text/plain"),
        (status = 503, description = "Shutting down, or the store does not answer", body = ErrorBody),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let unavailable = |message: &str| AppError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message);
    if state.shutdown.is_cancelled() {
        return unavailable("the server is shutting down").into_response();
    }
    let probe = RunFilter {
        limit: Some(1),
        ..RunFilter::default()
    };
    let answered = state
        .metrics
        .time_store("ready_probe", state.store.list_runs(&probe));
    match tokio::time::timeout(READY_TIMEOUT, answered).await {
        Ok(Ok(_)) => READY.into_response(),
        Ok(Err(error)) => {
            tracing::warn!(error = %crate::error::chain(&error), "not ready: the store failed");
            unavailable("the build data store failed to answer").into_response()
        }
        Err(_) => unavailable("the build data store did not answer in time").into_response(),
    }
}
