//! The web UI: server-rendered HTML pages compiled into the binary, readable with JavaScript off,
//! with small scripts that follow running runs and logs over server-sent events. `router.rs`
//! registers the pages, each with its permission.
//!
//! Pages (stable URLs, to paste in a chat):
//! - [`apps`]: `/` every app's latest run and trend; `/apps/{app}` an app's version history.
//! - [`runs`]: `/runs` every run, filtered by app, branch and result, page by page.
//! - [`run`]: `/runs/{id}` one run: header, stage graph ([`graph`]), artifacts;
//!   `/apps/{app}/builds/{build}` redirects there.
//! - [`log`]: `/runs/{id}/tasks/{*path}` a task's log, streamed from the store page by page.
//! - [`live`]: `/ui/runs/{id}/status` and `/ui/runs/{id}/follow/{*path}`, the event streams the
//!   scripts subscribe to.
//! - [`queue`]: `/queue` the jobs waiting (and why) and running; `/agents` the agents.
//! - [`assets`]: `/assets/{file}`, the stylesheet, the script and the icon, embedded.
//! - [`login_page`]: the `/login` form, in the same shell as every page.
//!
//! Shared parts: [`layout`] (the page shell), [`viewer`] (who is looking, for the top bar),
//! [`error`] (the friendly error pages, and
//! [`not_found_page`] for a fallback route),
//! [`format`] (times, durations, sizes), [`badge`] (status colours and words), [`pager`]
//! (newer/older pagination), [`url`] (escaping values into links).

pub(crate) mod apps;
pub(crate) mod assets;
mod badge;
mod error;
mod format;
mod graph;
mod layout;
pub(crate) mod live;
pub(crate) mod log;
mod login;
mod pager;
pub(crate) mod queue;
pub(crate) mod run;
pub(crate) mod runs;
mod url;
pub mod viewer;

pub use error::not_found_page;
pub use login::login_page;
