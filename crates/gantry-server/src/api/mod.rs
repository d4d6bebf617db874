//! The JSON API under `/api/v1`, each route's handler with its OpenAPI description.
//!
//! - [`apps`]: `GET /api/v1/apps`.
//! - [`builds`]: `POST /api/v1/apps/{app}/builds`, the next build number.
//! - [`runs`]: `GET /api/v1/runs` (filtered, paged) and `GET /api/v1/runs/{id}`.
//! - [`logs`]: `GET /api/v1/runs/{id}/logs`, as text or followed live over SSE.
//! - [`run_events`]: `POST /api/v1/runs/{id}/events`, Gantry's own run events from clients.
//! - [`heartbeat`]: `POST /api/v1/runs/{id}/heartbeat`, a client keeping its run's lease.
//! - [`events`]: `POST /api/v1/events` and `GET /api/v1/events?chain=`, CDEvents.
//! - [`artifacts`]: `PUT` and `GET /api/v1/artifacts/{sha256}`.
//! - [`tokens`]: `POST`, `GET /api/v1/tokens` and `DELETE /api/v1/tokens/{name}` (admin).
//!
//! [`router`] registers them with `/healthz`, `/readyz`, `/metrics` and the document itself,
//! so that the OpenAPI document lists every route of the API.

pub mod apps;
pub mod artifacts;
pub mod builds;
pub mod events;
pub mod heartbeat;
pub mod logs;
pub mod run_events;
pub mod runs;
pub mod tokens;

use axum::extract::DefaultBodyLimit;
use utoipa::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::openapi::{self, ApiDoc};
use crate::state::AppState;
use crate::{health, metrics};

/// The API's routes and their OpenAPI document.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(openapi::openapi))
        .routes(routes!(apps::list))
        .routes(routes!(builds::allocate))
        .routes(routes!(runs::list))
        .routes(routes!(runs::show))
        .routes(routes!(logs::logs))
        .routes(routes!(run_events::record))
        .routes(routes!(heartbeat::heartbeat))
        .routes(routes!(events::ingest, events::chain))
        // Uploads enforce the configured artifact size limit themselves, while streaming.
        .routes(routes!(artifacts::upload, artifacts::download).layer(DefaultBodyLimit::disable()))
        .routes(routes!(tokens::create, tokens::list))
        .routes(routes!(tokens::revoke))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(metrics::metrics))
}
