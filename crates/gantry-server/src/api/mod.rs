//! The JSON API under `/api/v1`.

use axum::Router;

use crate::state::AppState;

/// The API's routes.
pub fn router() -> Router<AppState> {
    Router::new()
}
