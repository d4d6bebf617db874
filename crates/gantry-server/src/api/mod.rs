//! The JSON API under `/api/v1`, each route's handler with its OpenAPI description.
//!
//! - [`agent`]: the agent protocol under `/api/v1/agent/`: lease, start, heartbeat, complete.
//! - [`queue`]: `POST`, `GET /api/v1/queue`, `DELETE /api/v1/queue/{job}`, `GET /api/v1/agents`.
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
//! `router.rs` registers them, each with its permission, with `/healthz`, `/readyz`, `/metrics`
//! and the document itself, so that the OpenAPI document lists every route of the API.

pub mod agent;
pub mod apps;
pub mod artifacts;
pub mod builds;
pub mod events;
pub mod heartbeat;
pub mod logs;
pub mod queue;
pub mod run_events;
pub mod runs;
pub mod tokens;
