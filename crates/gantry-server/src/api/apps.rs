//! `GET /api/v1/apps`: every app that has runs, with its newest run.

use axum::Json;
use axum::extract::State;
use gantry_api::{AppList, ErrorBody};

use crate::error::AppError;
use crate::state::AppState;
use crate::wire;

/// Every app that has runs, by name, with its run count and newest run.
#[utoipa::path(
    get,
    path = "/api/v1/apps",
    operation_id = "list_apps",
    tag = "apps",
    responses(
        (status = 200, description = "The apps", body = AppList),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
pub async fn list(State(state): State<AppState>) -> Result<Json<AppList>, AppError> {
    let apps = state.metrics.time_store("apps", state.store.apps()).await?;
    Ok(Json(AppList {
        apps: apps.iter().map(wire::app_summary).collect(),
    }))
}
