//! The store's tables, one module per aggregate: each holds its rows, the SQL that reads and
//! writes them on both databases side by side (written once where the dialects agree), and
//! the methods on [`crate::db::Db`] (statements on their own) and [`crate::db::Tx`] (inside a
//! recording transaction) that run it.
//!
//! - [`runs`]: runs, their listings, contact with their processes and leases.
//! - [`tasks`]: a run's stages and tasks.
//! - [`builds`]: build numbers per app and the run holding each.
//! - [`logs`]: task output lines, numbered per task.
//! - [`artifacts`]: which run packaged which file under which digest.
//! - [`events`]: CDEvents, and the ids of the run events already applied.
//! - [`tokens`]: API tokens, their scopes and the user each acts for.
//! - [`users`]: the people tokens act for.
//! - [`jobs`]: the job queue, each job's attempts, and the agents that take jobs.
//! - [`leases`]: who holds a resource (a reported run, a queued job), until when, under which
//!   fencing number.
//!
//! A new aggregate (deployments, an audit log) is one more module of the same shape, and
//! a migration for each database under `migrations/`, numbered alike.

pub(crate) mod artifacts;
pub(crate) mod builds;
pub(crate) mod events;
pub(crate) mod jobs;
pub(crate) mod leases;
pub(crate) mod logs;
pub(crate) mod runs;
pub(crate) mod tasks;
pub(crate) mod tokens;
pub(crate) mod users;
