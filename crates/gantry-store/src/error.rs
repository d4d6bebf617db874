//! [`StoreError`]: everything that can go wrong in the build data repository, with the
//! operation or the path it concerns.

use std::io;
use std::path::PathBuf;

use crate::artifact::ArtifactError;
use crate::validation::CdEventError;

/// A failed store operation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("`{url}` is not a database url: {reason}")]
    InvalidUrl { url: String, reason: String },

    #[error(
        "`{url}` is a PostgreSQL database: it needs an artifact location of its own (a directory or `s3://BUCKET/PREFIX`)"
    )]
    NoArtifactDir { url: String },

    /// Opening the artifact store, or storing an artifact, failed.
    #[error(transparent)]
    Artifact(#[from] ArtifactError),

    #[error("failed to create the directory `{}`", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("failed to open the database `{url}`")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },

    #[error("failed to migrate the database `{url}` to the current schema")]
    Migrate {
        url: String,
        #[source]
        source: sqlx::migrate::MigrateError,
    },

    /// A query failed; `operation` says what the store was doing ("record events", ...).
    #[error("failed to {operation}")]
    Database {
        operation: &'static str,
        #[source]
        source: sqlx::Error,
    },

    #[error("run `{run_id}` is not in the store (its `run_queued` event was never recorded)")]
    UnknownRun { run_id: String },

    /// A `run_queued` event names a build number the store never handed out for its app, or
    /// one another run of the app already has: build numbers are never reused.
    #[error("run `{run_id}` cannot be recorded as {app}#{build}: {reason}")]
    BuildRefused {
        run_id: String,
        app: String,
        build: u64,
        reason: String,
    },

    /// A `run_queued` event of a mock run (`gantry run --mock`): its tasks were stand-ins, so
    /// it is no build of the app, and it is never recorded.
    #[error(
        "run `{run_id}` of `{app}` is a mock run: its tasks were stand-ins, so it is not recorded as a build of the app"
    )]
    MockRun { run_id: String, app: String },

    #[error("`{query}` matches several runs: {}", candidates.join(", "))]
    AmbiguousRun { query: String, candidates: Vec<String> },

    #[error("artifact `{}` has sha256 {actual}, but its event says {expected}", path.display())]
    DigestMismatch {
        path: PathBuf,
        expected: String,
        actual: String,
    },

    /// A CDEvent given to [`crate::Store::record_cdevents`] is not valid.
    #[error("CDEvent #{index} is not valid")]
    InvalidCdEvent {
        index: usize,
        #[source]
        source: CdEventError,
    },

    /// Something read back from the database is not what the store writes.
    #[error("the store holds an unreadable {what}: {reason}")]
    Corrupt { what: &'static str, reason: String },
}

impl StoreError {
    /// Wraps a database error with the operation that failed, for `map_err`.
    pub(crate) fn db(operation: &'static str) -> impl FnOnce(sqlx::Error) -> Self {
        move |source| Self::Database { operation, source }
    }
}
