//! Gantry's test kit: what the integration tests of every crate share, so that each test says
//! only what it checks. A dev-dependency only; no crate of the product depends on it.
//!
//! - [`project`]: a temporary project directory and the real `gantry` binary run in it
//!   ([`Project`], [`Outcome`]), with its git repository.
//! - [`server`]: a real `gantry server` process on a free port ([`ServerProcess`]).
//! - [`postgres`]: a PostgreSQL database of a test's own, dropped after ([`PostgresDatabase`]);
//!   a loud `SKIPPED` without a server, a failure when `CI` is set.
//! - [`store`]: a store on SQLite or PostgreSQL ([`TestStore`], [`on_both_backends!`]).
//! - [`pipeline`]: pipelines built in code ([`PipelineBuilder`]).
//! - [`run`]: the events of a run, built with increasing times ([`RunBuilder`], [`full_run`]).
//! - [`missing`]: skip loudly, or fail under CI, when the machine lacks what a test needs
//!   ([`skip_or_fail`]).
//! - [`redact`]: insta settings that redact ids, times, durations and paths from output.

pub mod missing;
pub mod pipeline;
pub mod postgres;
pub mod project;
pub mod redact;
pub mod run;
pub mod server;
pub mod store;

pub use missing::skip_or_fail;
pub use pipeline::{PipelineBuilder, group, task};
pub use postgres::PostgresDatabase;
pub use project::{Outcome, Project, gantry_binary};
pub use redact::redacted;
pub use run::{HELLO_SHA256, RecordAllocated, RunBuilder, full_run};
pub use server::{ADMIN, ServerProcess, free_port, http_get};
pub use store::TestStore;
