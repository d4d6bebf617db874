//! The build data repository server: the HTTP API under `/api/v1`, the web UI, health and
//! metrics, all on one listener in front of one [`gantry_store::Store`].
//!
//! - [`server`]: [`Server`], bind then serve with graceful shutdown; [`config`]: [`ServerConfig`].
//! - [`router`]: the whole route table ([`router::router`]), each route with its permission,
//!   and the layers every request goes through (tracing, body limit, metrics, timeout,
//!   authorization).
//! - [`state`]: [`AppState`], what every handler shares.
//! - [`api`]: the JSON API under `/api/v1`, one module per resource.
//! - [`ui`]: the server-rendered web UI.
//! - [`wire`]: the store's answers as the API's bodies ([`gantry_api`]).
//! - [`log_text`]: a task's log as text ([`log_text::TextLog`]), with attempt headers and, when
//!   asked, times: the API's, the UI's plain text and `gantry logs` alike.
//! - [`permission`]: what each route needs ([`permission::Permission`]), declared as it is
//!   registered, in one table the middleware and the OpenAPI document read.
//! - [`auth`]: the authorization middleware, `/login` and `/logout`;
//!   [`token`]: [`create_token`] from scope names, for the CLI.
//! - [`error`]: [`AppError`], the one JSON error shape; [`extract`]: extractors that reject
//!   with it.
//! - [`openapi`]: the OpenAPI document, generated from the handlers.
//! - [`health`]: `/healthz`, `/readyz`; [`metrics`]: `/metrics` and what it counts.
//! - [`lease`]: runs reported over the API whose client went silent become `interrupted`;
//!   [`clock`]: the time it reads, the system's or a test's [`ManualClock`].
//! - [`jobs`]: the job lease and its sweep (a silent agent's job goes back to the queue), and
//!   the queue and the agents as people see them.

pub mod api;
pub mod auth;
pub mod clock;
pub mod config;
pub mod error;
pub mod extract;
pub mod health;
pub mod jobs;
pub mod lease;
pub mod log_text;
pub mod metrics;
pub mod openapi;
pub mod permission;
pub mod router;
pub mod server;
pub mod state;
pub mod token;
pub mod ui;
pub mod wire;

pub use auth::Principal;
pub use clock::{Clock, ManualClock};
pub use config::{
    DEFAULT_LEASE_SWEEP, DEFAULT_MAX_UPLOAD_BYTES, DEFAULT_REMOTE_LEASE, ServerConfig, is_postgres_url,
};
pub use error::AppError;
pub use server::{Server, ServerError};
pub use state::AppState;
pub use token::{CreateTokenError, create_token};
