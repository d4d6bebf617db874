//! `GET /api/v1/apps`: every app that has runs, with its newest run.

use axum::Json;
use axum::extract::State;
use gantry_store::AppSummary;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{AppError, ErrorBody};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct AppList {
    /// By name: `{"name", "runs", "last_run": {…a run…}}`.
    #[schema(value_type = Vec<Object>)]
    pub apps: Vec<AppSummary>,
}

/// Every app that has runs, by name, with its run count and newest run.
#[utoipa::path(
    get,
    path = "/api/v1/apps",
    tag = "apps",
    responses(
        (status = 200, description = "The apps", body = AppList),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
pub async fn list(State(state): State<AppState>) -> Result<Json<AppList>, AppError> {
    let apps = state.metrics.time_store("apps", state.store.apps()).await?;
    Ok(Json(AppList { apps }))
}
