//! The agent protocol ([`gantry_api::agent`]): `POST /api/v1/agent/lease` hands a queued job to
//! an agent, waiting for one without polling; `start`, `heartbeat` and `complete` under
//! `/api/v1/agent/jobs/{job}/` keep and end it under the lease's fencing number, so that an
//! agent whose lease was lost (the job went back to the queue) is refused with `409
//! lease_lost`. These routes need the `agent` scope.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gantry_api::{
    CompleteAnswer, CompleteRequest, ErrorBody, JobStart, Lease, LeaseHeartbeat, LeaseHeartbeatAnswer,
    LeaseRequest, StartRequest,
};
use gantry_model::RunResult;

use crate::error::AppError;
use crate::extract::{ApiJson, ApiPath};
use crate::jobs;
use crate::state::AppState;
use crate::wire;

/// The longest a lease request is held open: below the request timeout.
pub const MAX_WAIT: Duration = Duration::from_secs(25);

/// How often a waiting request looks again when no word comes: jobs queued by another process
/// on a SQLite file send none.
const LOOK_AGAIN: Duration = Duration::from_secs(5);

/// Hands the oldest queued job the agent can run to it.
#[utoipa::path(
    post,
    path = "/api/v1/agent/lease",
    operation_id = "lease_job",
    tag = "agents",
    request_body = LeaseRequest,
    responses(
        (status = 200, description = "A job, leased to the agent", body = Lease),
        (status = 204, description = "No job for the agent came within `wait_seconds`"),
        (status = 400, description = "The agent's name is empty or too long", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The token is no agent's", body = ErrorBody),
    )
)]
pub async fn lease(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<LeaseRequest>,
) -> Result<Response, AppError> {
    let name = request.agent.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(AppError::bad_request("an agent's name is 1 to 200 characters").with_field("/agent"));
    }
    let wait = Duration::from_secs(u64::from(request.wait_seconds)).min(MAX_WAIT);
    let deadline = tokio::time::Instant::now() + wait;
    // Subscribed before looking, so that a job queued between the look and the wait wakes it.
    let mut queued = state.store.subscribe_queued();
    queued.borrow_and_update();
    let ttl = jobs::ttl(&state);
    loop {
        let taken = state
            .metrics
            .time_store(
                "take_job",
                state.store.take_job(
                    name,
                    &request.labels,
                    request.version.as_deref(),
                    ttl,
                    state.clock.now(),
                ),
            )
            .await?;
        if let Some(taken) = taken {
            tracing::info!(agent = name, job = %taken.job.id, attempt = taken.job.attempts, "leased a job");
            return Ok(Json(jobs::lease(&taken, state.job_lease)).into_response());
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return Ok(StatusCode::NO_CONTENT.into_response());
        }
        let pause = (deadline - now).min(LOOK_AGAIN);
        tokio::select! {
            _ = queued.changed() => {}
            () = tokio::time::sleep(pause) => {}
            () = state.shutdown.cancelled() => return Ok(StatusCode::NO_CONTENT.into_response()),
        }
    }
}

/// The agent checked the job's commit out and read its app: the run id and build number to
/// record its run as.
#[utoipa::path(
    post,
    path = "/api/v1/agent/jobs/{job}/start",
    operation_id = "start_job",
    tag = "agents",
    params(("job" = String, Path, description = "The job's id")),
    request_body = StartRequest,
    responses(
        (status = 200, description = "The run to record", body = JobStart),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The token is no agent's", body = ErrorBody),
        (status = 404, description = "No such job", body = ErrorBody),
        (status = 409, description = "The lease is lost (`lease_lost`), or the job was queued for another app (`app_mismatch`)", body = ErrorBody),
    )
)]
pub async fn start(
    State(state): State<AppState>,
    ApiPath(job): ApiPath<String>,
    ApiJson(request): ApiJson<StartRequest>,
) -> Result<Json<JobStart>, AppError> {
    let start = state
        .metrics
        .time_store(
            "start_job",
            state
                .store
                .start_job(&job, fencing(request.fencing), &request.app),
        )
        .await?;
    Ok(Json(JobStart {
        run_id: start.run_id,
        app: start.app,
        build: start.build,
    }))
}

/// Keeps the lease on a job; says whether to cancel it.
#[utoipa::path(
    post,
    path = "/api/v1/agent/jobs/{job}/heartbeat",
    operation_id = "heartbeat_job",
    tag = "agents",
    params(("job" = String, Path, description = "The job's id")),
    request_body = LeaseHeartbeat,
    responses(
        (status = 200, description = "Kept", body = LeaseHeartbeatAnswer),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The token is no agent's", body = ErrorBody),
        (status = 404, description = "No such job", body = ErrorBody),
        (status = 409, description = "The lease is lost: the job went back to the queue (`lease_lost`)", body = ErrorBody),
    )
)]
pub async fn heartbeat(
    State(state): State<AppState>,
    ApiPath(job): ApiPath<String>,
    ApiJson(request): ApiJson<LeaseHeartbeat>,
) -> Result<Json<LeaseHeartbeatAnswer>, AppError> {
    let (lease, cancel) = state
        .metrics
        .time_store(
            "keep_job",
            state.store.keep_job(
                &job,
                fencing(request.fencing),
                request.draining,
                jobs::ttl(&state),
                state.clock.now(),
            ),
        )
        .await?;
    Ok(Json(LeaseHeartbeatAnswer {
        expires_at: lease.expires_at,
        cancel,
    }))
}

/// Ends a job with its run's result.
#[utoipa::path(
    post,
    path = "/api/v1/agent/jobs/{job}/complete",
    operation_id = "complete_job",
    tag = "agents",
    params(("job" = String, Path, description = "The job's id")),
    request_body = CompleteRequest,
    responses(
        (status = 200, description = "Ended", body = CompleteAnswer),
        (status = 400, description = "The result is `running`", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The token is no agent's", body = ErrorBody),
        (status = 404, description = "No such job", body = ErrorBody),
        (status = 409, description = "The lease is lost: the job went back to the queue, or was completed already (`lease_lost`)", body = ErrorBody),
    )
)]
pub async fn complete(
    State(state): State<AppState>,
    ApiPath(job): ApiPath<String>,
    ApiJson(request): ApiJson<CompleteRequest>,
) -> Result<Json<CompleteAnswer>, AppError> {
    let result = match wire::store_run_status(request.result) {
        gantry_store::RunStatus::Running => {
            return Err(
                AppError::bad_request("a job completes with how its run ended, never `running`")
                    .with_field("/result"),
            );
        }
        status => RunResult::parse(status.as_str()).unwrap_or(RunResult::Failure),
    };
    if let Some(message) = &request.message {
        tracing::warn!(job, %message, "an agent could not run a job");
    }
    let done = state
        .metrics
        .time_store(
            "complete_job",
            state
                .store
                .complete_job(&job, fencing(request.fencing), result, state.clock.now()),
        )
        .await?;
    Ok(Json(CompleteAnswer {
        state: wire::job_state(done.state),
    }))
}

/// A fencing number as the store counts it (one past `i64::MAX` never matches).
fn fencing(fencing: u64) -> i64 {
    i64::try_from(fencing).unwrap_or(i64::MAX)
}
