//! The server end to end, in one test binary (a binary each would be linked each): the HTTP API
//! driven through the router (`oneshot`) on a real store, and over real sockets where the
//! transport matters (live logs, graceful shutdown, servers sharing a SQLite file, replicas on
//! one PostgreSQL database, artifacts in a real S3-compatible server); the web UI's pages through
//! the router, and in a real headless Chromium.
//!
//! - [`support`]: what the tests share beyond the `gantry-test` kit (the router under test,
//!   servers on a free port, server-sent events, moto, Chromium, the UI's demo data).
//! - [`api`]: the API under `/api/v1`, health, metrics, tokens, leases, the log's secrecy.
//! - [`ui`]: the web UI's pages, streams and assets, and the browser.

mod api;
mod support;
mod ui;
