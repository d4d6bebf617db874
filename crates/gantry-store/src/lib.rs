//! The build data repository: build numbers, runs, logs, artifacts and CDEvents, on an embedded
//! SQLite file or on PostgreSQL, behind one API.
//!
//! Every state change of a run is recorded twice, consistently, in one transaction: as rows that
//! queries read, and as a CDEvents 0.5.1 event that other tools can read.
//!
//! - [`store`]: [`Store`], the public face: open, allocate build numbers, record, recover, query.
//! - [`recorder`]: what each [`gantry_model::RunEvent`] changes, once per event id.
//! - [`cdevent`]: how run events are told as CDEvents (public: the server speaks it too).
//! - [`validation`]: [`validate_cdevent`], against the official schemas compiled in.
//! - [`query`]: the typed answers ([`RunSummary`], [`RunDetail`], [`LogLine`], ...).
//! - [`aggregate`]: the tables, one module per aggregate (runs, tasks, build numbers, logs,
//!   artifact records, events, tokens), each with its SQL for both databases side by side;
//!   `migrations/{sqlite,postgres}/` hold the schemas, numbered alike.
//! - [`db`]: the one executor: which database a url names, opening and migrating it,
//!   transactions, and statements run on either database.
//! - [`artifact`]: [`ArtifactStore`], artifacts by sha256 in a local directory (by default
//!   beside the database) or an S3-compatible bucket.
//! - [`recovery`]: run owners ([`Owner`]) and whether they are still alive.
//! - [`error`]: [`StoreError`], with the operation or path that failed.
//! - [`lease`]: leases of resources (reported runs, queued jobs): [`Lease`], acquired,
//!   renewed and released under a fencing number, and the sweep of expired ones.
//! - [`job`]: the job queue ([`NewJob`], [`JobRecord`], [`JobLease`]): queued, taken by one
//!   agent under a lease, kept, completed, and queued again when its agent is lost.
//! - [`token`]: API tokens ([`Scope`], [`TokenRecord`]), kept as hashes of their secrets.
//! - [`user`]: users ([`UserRecord`]), the people tokens act for.

mod aggregate;
mod artifact;
pub mod cdevent;
mod db;
mod error;
pub mod job;
pub mod lease;
mod notify;
pub mod query;
mod recorder;
mod recovery;
mod store;
mod token;
mod user;
mod validation;

pub use artifact::{
    ArtifactError, ArtifactLocation, ArtifactReader, ArtifactStore, S3Location, StoredArtifact,
};
pub use cdevent::{RunContext, to_cdevent};
pub use error::StoreError;
pub use job::{
    AgentRecord, JobAttempt, JobError, JobLease, JobRecord, JobStart, JobState, Labels, NewJob, Trigger,
    job_resource, labels_match,
};
pub use lease::{Lease, LeaseError, run_resource};
pub use query::{
    AppSummary, ArtifactRecord, AttemptEnd, LogLine, RunDetail, RunFilter, RunLogLine, RunStatus, RunSummary,
    StageRecord, TaskRecord, TaskStatus,
};
pub use recovery::Owner;
pub use store::{Store, StoreOptions};
pub use token::{MIN_SECRET_LEN, SECRET_PREFIX, Scope, TokenError, TokenRecord};
pub use user::{UserError, UserRecord};
pub use validation::{CdEventError, known_cdevent_types, validate_cdevent};
