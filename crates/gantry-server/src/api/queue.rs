//! The queue and the agents as people and tools see them: `POST /api/v1/queue` queues a run of
//! a repository at a commit (admin), `GET /api/v1/queue` lists the jobs waiting (with why) and
//! running, `DELETE /api/v1/queue/{job}` cancels one (admin), `GET /api/v1/agents` lists the
//! agents.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use gantry_api::{AgentsPage, ErrorBody, QueuePage, QueueRequest, QueuedJob};
use gantry_store::{NewJob, Trigger};

use crate::auth::Principal;
use crate::error::AppError;
use crate::extract::{ApiJson, ApiPath};
use crate::jobs;
use crate::state::AppState;

/// How many jobs the queue lists at most, of each state.
const QUEUE_LIMIT: u32 = 500;

/// Queues a run of a repository at a commit.
#[utoipa::path(
    post,
    path = "/api/v1/queue",
    operation_id = "queue_job",
    tag = "agents",
    request_body = QueueRequest,
    responses(
        (status = 201, description = "Queued", body = QueuedJob),
        (status = 400, description = "The repository or revision is missing", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The token is no admin's", body = ErrorBody),
    )
)]
pub async fn queue(
    State(state): State<AppState>,
    principal: Option<axum::Extension<Principal>>,
    ApiJson(request): ApiJson<QueueRequest>,
) -> Result<(StatusCode, Json<QueuedJob>), AppError> {
    let repository = request.repository.trim();
    if repository.is_empty() {
        return Err(AppError::bad_request("a job needs the repository to fetch").with_field("/repository"));
    }
    let revision = request.revision.trim();
    if revision.is_empty() || !revision.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(
            AppError::bad_request("a job's revision is a commit id (hexadecimal)").with_field("/revision"),
        );
    }
    if let Some(app) = &request.app
        && app.trim().is_empty()
    {
        return Err(AppError::bad_request("an app's name is not empty").with_field("/app"));
    }
    let job = NewJob {
        app: request.app.clone(),
        repository: repository.to_owned(),
        revision: revision.to_owned(),
        branch: request.branch.clone().filter(|branch| !branch.is_empty()),
        labels: request.labels.clone(),
        trigger: Trigger {
            kind: "api".to_owned(),
            by: principal.map(|principal| principal.audit_name()),
            detail: None,
        },
    };
    let queued = state
        .metrics
        .time_store("queue_job", state.store.queue_job(&job, state.clock.now()))
        .await?;
    tracing::info!(job = %queued.id, repository, revision, "queued a job");
    let agents = state.store.agents().await?;
    Ok((
        StatusCode::CREATED,
        Json(jobs::queued_job(&state, &queued, &agents)),
    ))
}

/// The jobs waiting for an agent, longest waiting first, then those running.
#[utoipa::path(
    get,
    path = "/api/v1/queue",
    operation_id = "list_queue",
    tag = "agents",
    responses(
        (status = 200, description = "The queue", body = QueuePage),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
pub async fn list(State(state): State<AppState>) -> Result<Json<QueuePage>, AppError> {
    Ok(Json(jobs::queue_page(&state, QUEUE_LIMIT).await?))
}

/// Cancels a job: at once while it waits; its agent stops it at its next heartbeat while it
/// runs.
#[utoipa::path(
    delete,
    path = "/api/v1/queue/{job}",
    operation_id = "cancel_job",
    tag = "agents",
    params(("job" = String, Path, description = "The job's id")),
    responses(
        (status = 204, description = "Cancelled, or its agent asked to stop it"),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The token is no admin's", body = ErrorBody),
        (status = 404, description = "No job waiting or running has this id", body = ErrorBody),
    )
)]
pub async fn cancel(
    State(state): State<AppState>,
    ApiPath(job): ApiPath<String>,
) -> Result<StatusCode, AppError> {
    if state.store.cancel_job(&job, state.clock.now()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::not_found(format!(
            "no job waiting or running has the id `{job}`"
        )))
    }
}

/// Every agent the server heard from, with what it does now.
#[utoipa::path(
    get,
    path = "/api/v1/agents",
    operation_id = "list_agents",
    tag = "agents",
    responses(
        (status = 200, description = "The agents, by name", body = AgentsPage),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
pub async fn agents(State(state): State<AppState>) -> Result<Json<AgentsPage>, AppError> {
    let agents = state.store.agents().await?;
    let now = state.clock.now();
    Ok(Json(AgentsPage {
        agents: agents
            .iter()
            .map(|agent| jobs::agent_summary(&state, agent, now))
            .collect(),
    }))
}
