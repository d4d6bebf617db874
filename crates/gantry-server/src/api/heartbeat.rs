//! `POST /api/v1/runs/{id}/heartbeat`: a client running a run says it is still alive.
//!
//! A run reported over the API holds a lease ([`crate::lease`]): every batch of its events
//! renews it, and so does this call, which `gantry run --server` makes when it has sent nothing
//! for a while (a long, quiet task). A run not heard from for longer than the lease is marked
//! `interrupted`.

use axum::Json;
use axum::extract::State;
use chrono::Utc;
use gantry_api::{ErrorBody, Heartbeat};

use crate::error::AppError;
use crate::extract::ApiPath;
use crate::state::AppState;
use crate::wire;

/// Renews the lease of a running run.
#[utoipa::path(
    post,
    path = "/api/v1/runs/{id}/heartbeat",
    operation_id = "heartbeat_run",
    tag = "runs",
    params(("id" = String, Path, description = "The run's id (the whole id, as in its events)")),
    responses(
        (status = 200, description = "Heard; the run's status and lease", body = Heartbeat),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The token may not report", body = ErrorBody),
        (status = 404, description = "No run has this id (its `run_queued` event was never sent)", body = ErrorBody),
    )
)]
pub async fn heartbeat(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Heartbeat>, AppError> {
    let result = state
        .metrics
        .time_store("record_contact", state.store.record_contact(&id, Utc::now()))
        .await?
        .ok_or_else(|| AppError::not_found(format!("no run is recorded with the id `{id}`")))?;
    Ok(Json(Heartbeat {
        result: wire::run_status(result),
        lease_seconds: state.remote_lease.as_secs(),
    }))
}
