//! The HTTP API, driven through the router (`oneshot`) on a real SQLite store, and over a real
//! socket where the transport matters (live logs, graceful shutdown, concurrent servers, and
//! replicas on one PostgreSQL database).

mod artifacts;
mod auth;
mod events;
mod harness;
mod health;
mod lease;
mod logs;
mod openapi;
mod permissions;
mod postgres;
mod replicas;
mod runs;
mod socket;
mod tokens;
