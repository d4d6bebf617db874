//! The `gantry` binary end to end: real processes, real bash, git, SQLite and PostgreSQL stores,
//! servers on real sockets. One test binary for the crate (a binary each would be linked each).

mod agents;
mod commands;
mod diagnostics;
mod docs_api;
mod logs;
mod run;
mod server;
mod server_log;
mod server_postgres;
mod store;
