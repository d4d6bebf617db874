//! The route table: the API, the UI, health and metrics on one router.

use axum::Router;

use crate::state::AppState;

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    Router::new().merge(crate::api::router()).merge(crate::ui::router()).with_state(state)
}
