//! `POST /api/v1/apps/{app}/builds`: the app's next build number, allocated atomically by the
//! store (unique and gap-free, also across server replicas and local `gantry run`s).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use gantry_api::{BuildAllocated, ErrorBody};

use crate::error::AppError;
use crate::extract::ApiPath;
use crate::state::AppState;

/// Longest app name accepted, in bytes.
const MAX_APP_LEN: usize = 200;

/// Allocates the app's next build number.
#[utoipa::path(
    post,
    path = "/api/v1/apps/{app}/builds",
    operation_id = "allocate_build",
    tag = "apps",
    params(("app" = String, Path, description = "The app's name, as in its `gantry.yml`")),
    responses(
        (status = 201, description = "The build number, never handed out before", body = BuildAllocated),
        (status = 400, description = "Not an app name", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The token may not report", body = ErrorBody),
    )
)]
pub async fn allocate(
    State(state): State<AppState>,
    ApiPath(app): ApiPath<String>,
) -> Result<(StatusCode, Json<BuildAllocated>), AppError> {
    check_app(&app)?;
    let build = state
        .metrics
        .time_store("allocate_build", state.store.allocate_build(&app))
        .await?;
    tracing::info!(app, build, "allocated a build number");
    Ok((StatusCode::CREATED, Json(BuildAllocated { app, build })))
}

/// The names the pipeline file accepts: not blank, no `/`; and printable, not huge.
fn check_app(app: &str) -> Result<(), AppError> {
    let problem = if app.trim().is_empty() {
        "the app name is empty"
    } else if app.contains('/') {
        "the app name contains `/`"
    } else if app.chars().any(char::is_control) {
        "the app name contains control characters"
    } else if app.len() > MAX_APP_LEN {
        "the app name is longer than 200 bytes"
    } else {
        return Ok(());
    };
    Err(AppError::bad_request(problem))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_app_names() {
        for good in ["hello", "my app", "ünï-côdé", "a.b_c"] {
            assert!(check_app(good).is_ok(), "{good}");
        }
        for bad in ["", "  ", "a/b", "tab\there", &"x".repeat(201)] {
            assert!(check_app(bad).is_err(), "{bad:?}");
        }
    }
}
