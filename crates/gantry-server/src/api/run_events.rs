//! `POST /api/v1/runs/{id}/events`: Gantry's own run events, as `gantry run --server` sends
//! them, recorded with [`gantry_store::Store::record`] (idempotent by event id, so a client
//! may send a batch again after a failure).
//!
//! The batch comes in the versioned envelope of [`gantry_api::RunEventBatch`]; a batch in
//! another version (or in none: a bare array from an older client) is refused with
//! `unsupported_version`, naming both versions and which side to upgrade.
//!
//! An `artifact_packaged` event names a file on the client: the server never reads that path.
//! The artifact must have been uploaded first (`PUT /api/v1/artifacts/{sha256}`), and the event
//! is recorded against the uploaded copy.
//!
//! The run holds a lease ([`crate::lease`]): the batch is recorded in the transaction that
//! renews it under the fencing number the request names ([`gantry_api::FENCING_HEADER`]), or
//! acquires it for the request's token when it names none. A stale number, or a lease held by
//! another token, is refused with `409` and nothing is recorded.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use gantry_api::{ErrorBody, EventsRecorded, RunEventBatch, VersionError};
use gantry_model::RunEventKind;
use gantry_store::RunStatus;

use crate::auth::Principal;
use crate::error::AppError;
use crate::extract::{ApiPath, JsonBytes};
use crate::state::AppState;
use crate::{lease, wire};

/// Records a batch of one run's events, in order, all or nothing.
#[utoipa::path(
    post,
    path = "/api/v1/runs/{id}/events",
    operation_id = "record_run_events",
    tag = "runs",
    params(
        ("id" = String, Path, description = "The run's id; every event must carry it as `run_id`"),
        ("gantry-lease-fencing" = Option<u64>, Header, description = "The fencing number of the run's lease, as the answer to an earlier batch or heartbeat gave it; without it, the batch acquires the lease"),
    ),
    request_body(content = RunEventBatch, description = "Run events, as `gantry run --json` prints them, in the versioned envelope"),
    responses(
        (status = 200, description = "Recorded (events seen before change nothing)", body = EventsRecorded),
        (status = 400, description = "An event is malformed or belongs to another run, the batch is in another version of run events (`unsupported_version`), or the run is a mock run (`mock_run`: its tasks were stand-ins, so it is never recorded as a build)", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The token may not report", body = ErrorBody),
        (status = 404, description = "The run's `run_queued` event was never sent", body = ErrorBody),
        (status = 409, description = "An artifact was not uploaded first (`artifact_missing`), the fencing number is no longer the run lease's (`lease_lost`), or another token holds the lease (`lease_held`)", body = ErrorBody),
        (status = 413, description = "The batch is too large", body = ErrorBody),
        (status = 422, description = "An event has the wrong shape", body = ErrorBody),
    )
)]
pub async fn record(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    principal: Option<axum::Extension<Principal>>,
    headers: HeaderMap,
    body: JsonBytes,
) -> Result<Json<EventsRecorded>, AppError> {
    let holder = lease::holder(principal.as_deref())?;
    let fencing = lease::fencing(&headers)?;
    gantry_api::check_version(body.bytes()).map_err(|error| unsupported(&error))?;
    let RunEventBatch { mut events, .. } = body.parse()?;
    for (index, event) in events.iter_mut().enumerate() {
        if event.run_id.0 != id {
            return Err(AppError::bad_request(format!(
                "event #{index} belongs to run `{}`, not `{id}`",
                event.run_id
            ))
            .with_field(format!("/events/{index}/run_id")));
        }
        if let RunEventKind::ArtifactPackaged {
            sha256, size, source, ..
        } = &mut event.kind
        {
            *source = uploaded_artifact(&state, index, sha256, *size).await?;
        }
    }
    let finishes = events
        .iter()
        .any(|event| matches!(event.kind, RunEventKind::RunFinished { .. }));
    let was_running = finishes
        && status(&state, &id)
            .await
            .is_none_or(|status| status == RunStatus::Running);
    let held = state
        .metrics
        .time_store(
            "record",
            state.store.record_held(
                &id,
                &events,
                &holder,
                fencing,
                lease::ttl(&state),
                state.clock.now(),
            ),
        )
        .await?;
    state.metrics.observe_task_events(&events);
    if was_running
        && let Some(result) = status(&state, &id)
            .await
            .filter(|status| *status != RunStatus::Running)
    {
        state.metrics.run_finished(result.as_str());
    }
    tracing::debug!(run = %id, events = events.len(), "recorded run events");
    Ok(Json(EventsRecorded {
        recorded: events.len(),
        lease: wire::run_lease(held),
    }))
}

/// The refusal of a batch in another version of run events: which side to upgrade.
fn unsupported(error: &VersionError) -> AppError {
    let what = if error.written_by_newer() {
        "upgrade this server, or send them with the gantry version that matches it"
    } else {
        "upgrade the gantry that sends them (its spool keeps the events until then: `gantry sync`)"
    };
    AppError::new(
        StatusCode::BAD_REQUEST,
        "unsupported_version",
        format!("{error}: {what}"),
    )
    .with_field("/version")
}

/// The stored copy of an uploaded artifact, checked against what the event says.
async fn uploaded_artifact(
    state: &AppState,
    index: usize,
    sha256: &str,
    size: u64,
) -> Result<String, AppError> {
    let field = |name: &str| format!("/events/{index}/{name}");
    let artifacts = state.store.artifacts();
    let stored = artifacts
        .size(sha256)
        .await
        .map_err(|error| AppError::from(error).with_field(field("sha256")))?;
    let Some(actual) = stored else {
        return Err(AppError::conflict(
            "artifact_missing",
            format!("artifact sha256:{sha256} was not uploaded; PUT it to /api/v1/artifacts/{sha256} first"),
        )
        .with_field(field("sha256")));
    };
    if actual != size {
        return Err(AppError::bad_request(format!(
            "event #{index} says artifact sha256:{sha256} has {size} bytes, but it has {actual}"
        ))
        .with_field(field("size")));
    }
    Ok(artifacts.stored_at(sha256)?.display().to_string())
}

/// The run's status, for counting finished runs; `None` if it is not recorded (or cannot be
/// read: the metrics must not fail a recording).
async fn status(state: &AppState, id: &str) -> Option<RunStatus> {
    let run = state
        .metrics
        .time_store("find_run", state.store.find_run(id))
        .await
        .ok()??;
    (run.summary.id == id).then_some(run.summary.result)
}
