//! The build data repository server: the HTTP API under `/api/v1`, the web UI, health and
//! metrics, all on one listener in front of one [`gantry_store::Store`].
//!
//! - [`state`]: [`AppState`], what every handler shares.
//! - [`router`]: the whole route table ([`router::router`]).
//! - [`api`]: the JSON API under `/api/v1`.
//! - [`ui`]: the server-rendered web UI.

pub mod api;
pub mod router;
pub mod state;
pub mod ui;

pub use state::AppState;
