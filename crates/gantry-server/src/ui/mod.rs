//! The web UI: server-rendered HTML pages compiled into the binary, readable with JavaScript off,
//! with small scripts that follow running runs and logs over server-sent events.
//!
//! Pages (stable URLs, to paste in a chat):
//! - [`apps`]: `/` every app's latest run and trend; `/apps/{app}` an app's version history.
//! - [`runs`]: `/runs` every run, filtered by app, branch and result, page by page.
//! - [`run`]: `/runs/{id}` one run: header, stage graph ([`graph`]), artifacts;
//!   `/apps/{app}/builds/{build}` redirects there.
//! - [`log`]: `/runs/{id}/tasks/{*path}` a task's log, streamed from the store page by page.
//! - [`live`]: `/ui/runs/{id}/status` and `/ui/runs/{id}/follow/{*path}`, the event streams the
//!   scripts subscribe to.
//! - [`assets`]: `/assets/{file}`, the stylesheet, the script and the icon, embedded.
//! - [`login_page`]: the `/login` form, in the same shell as every page.
//!
//! Shared parts: [`layout`] (the page shell), [`viewer`] (who is looking, for the top bar),
//! [`error`] (the friendly error pages, and
//! [`not_found_page`] for a fallback route),
//! [`format`] (times, durations, sizes), [`badge`] (status colours and words), [`pager`]
//! (newer/older pagination), [`url`] (escaping values into links).

mod apps;
mod assets;
mod badge;
mod error;
mod format;
mod graph;
mod layout;
mod live;
mod log;
mod login;
mod pager;
mod run;
mod runs;
mod url;
pub mod viewer;

use axum::Router;
use axum::routing::get;
pub use error::not_found_page;
pub use login::login_page;

use crate::state::AppState;

/// The UI's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(apps::overview))
        .route("/apps/{app}", get(apps::history))
        .route("/apps/{app}/builds/{build}", get(run::by_build))
        .route("/runs", get(runs::list))
        .route("/runs/{id}", get(run::page))
        .route("/runs/{id}/tasks/{*path}", get(log::page))
        .route("/ui/runs/{id}/status", get(live::status))
        .route("/ui/runs/{id}/follow/{*path}", get(live::follow))
        .route("/assets/{file}", get(assets::serve))
}
