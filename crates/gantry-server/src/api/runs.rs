//! `GET /api/v1/runs`, runs filtered and paged, and `GET /api/v1/runs/{id}`, one run with all
//! that is recorded about it.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use gantry_api::{ErrorBody, RunDocument, RunStatus, RunsPage};
use gantry_store::{RunDetail, RunFilter};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::AppError;
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;
use crate::wire;

/// Runs a page has when `limit` is not given.
pub const DEFAULT_LIMIT: u32 = 50;

/// The most runs a page may have.
pub const MAX_LIMIT: u32 = 500;

/// Which runs to list. Every filter left out matches all.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RunsQuery {
    /// Only this app's runs.
    app: Option<String>,
    /// Only runs of this branch.
    branch: Option<String>,
    /// Only runs with this result.
    result: Option<RunStatus>,
    /// Only runs queued at or after this time (RFC 3339; write `+` as `%2B`).
    since: Option<DateTime<Utc>>,
    /// Only runs queued before this time (RFC 3339).
    until: Option<DateTime<Utc>>,
    /// Runs per page: 1 to 500, 50 by default.
    limit: Option<u32>,
    /// Runs to skip first (from `next_offset` of the previous page).
    offset: Option<u32>,
}

/// Runs, newest first, filtered and paged.
#[utoipa::path(
    get,
    path = "/api/v1/runs",
    operation_id = "list_runs",
    tag = "runs",
    params(RunsQuery),
    responses(
        (status = 200, description = "A page of runs", body = RunsPage),
        (status = 400, description = "A bad query parameter", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<RunsQuery>,
) -> Result<Json<RunsPage>, AppError> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AppError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "invalid_query",
            format!("`limit` must be between 1 and {MAX_LIMIT}, not {limit}"),
        ));
    }
    if let (Some(since), Some(until)) = (query.since, query.until)
        && since > until
    {
        return Err(AppError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "invalid_query",
            "`since` is after `until`",
        ));
    }
    let offset = query.offset.unwrap_or(0);
    let nonempty = |text: Option<String>| text.filter(|text| !text.is_empty());
    // One more than the page holds tells whether another page follows. Every field is set
    // today; the base keeps filters added later matching everything here.
    #[allow(clippy::needless_update)]
    let filter = RunFilter {
        app: nonempty(query.app),
        branch: nonempty(query.branch),
        result: query.result.map(wire::store_run_status),
        since: query.since,
        until: query.until,
        limit: Some(limit + 1),
        offset,
        ..RunFilter::default()
    };
    let mut runs = state
        .metrics
        .time_store("list_runs", state.store.list_runs(&filter))
        .await?;
    let more = runs.len() > limit as usize;
    runs.truncate(limit as usize);
    let next_offset = more.then(|| offset.saturating_add(limit));
    Ok(Json(RunsPage {
        runs: runs.iter().map(wire::run_summary).collect(),
        next_offset,
    }))
}

/// One run: its summary, owner, the pipeline definition as it ran, stages, tasks, artifacts
/// (each with its download path) and its CDEvents.
#[utoipa::path(
    get,
    path = "/api/v1/runs/{id}",
    operation_id = "show_run",
    tag = "runs",
    params(("id" = String, Path, description = "A run id, a unique prefix of one, or `APP#BUILD` (as `APP%23BUILD`)")),
    responses(
        (status = 200, description = "The run", body = RunDocument),
        (status = 400, description = "The id matches several runs", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such run", body = ErrorBody),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<RunDocument>, AppError> {
    let detail = find_run(&state, &id).await?;
    let events = state
        .metrics
        .time_store(
            "events_for_chain",
            state.store.events_for_chain(&detail.summary.id),
        )
        .await?;
    // Where the server keeps a file is its own business: clients download by digest.
    Ok(Json(wire::run_document(detail, events)))
}

/// The run named by `query` (id, unique id prefix, or `APP#BUILD`), or a 404.
pub(crate) async fn find_run(state: &AppState, query: &str) -> Result<RunDetail, AppError> {
    state
        .metrics
        .time_store("find_run", state.store.find_run(query))
        .await?
        .ok_or_else(|| {
            AppError::not_found(format!(
                "no run is recorded as `{query}` (a run id, a unique prefix of one, or APP#BUILD)"
            ))
        })
}
