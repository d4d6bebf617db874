//! Which database a store talks to, and the row operations every backend provides.
//!
//! The logic of recording (what an event changes, idempotency, CDEvents) lives once, in
//! [`crate::recorder`], and writes through [`RecordTx`]; each backend module (`sqlite`,
//! `postgres`) holds only its SQL. Adding a backend means a new [`Backend`] variant, a new
//! [`Location`] and one module implementing the same methods.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::cdevent::RunContext;
use crate::error::StoreError;
use crate::postgres::PostgresBackend;
use crate::recovery::Owner;
use crate::sqlite::SqliteBackend;

/// Where the database is, parsed from the url given to [`crate::Store::open`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    /// `sqlite://PATH`, `sqlite:PATH` or a bare path.
    Sqlite(PathBuf),
    Postgres(String),
}

impl Location {
    pub(crate) fn parse(url: &str) -> Result<Self, StoreError> {
        let invalid = |reason: &str| StoreError::InvalidUrl {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        let path = match url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            Some(path) => path,
            None if url.contains("://") => {
                return Err(invalid("the scheme is neither `sqlite` nor `postgres`"));
            }
            None => url,
        };
        // Options are set by the store itself; a query string would be taken as part of the name.
        if path.contains('?') {
            return Err(invalid("a sqlite url takes no options"));
        }
        if path.is_empty() || path == ":memory:" {
            return Err(invalid(
                "a file path is needed (the store keeps artifacts beside it)",
            ));
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }
}

/// An open database.
#[derive(Debug, Clone)]
pub(crate) enum Backend {
    Sqlite(SqliteBackend),
    Postgres(PostgresBackend),
}

/// A `runs` row to insert, from a `run_queued` event.
#[derive(Debug)]
pub(crate) struct NewRun<'a> {
    pub id: &'a str,
    pub info: &'a gantry_model::event::RunInfo,
    pub pipeline_json: &'a str,
    pub queued_at: DateTime<Utc>,
    pub owner: &'a Owner,
}

/// A CDEvent to store.
#[derive(Debug)]
pub(crate) struct NewEvent<'a> {
    pub id: &'a str,
    pub chain_id: Option<&'a str>,
    /// `context.type`.
    pub kind: String,
    pub timestamp: DateTime<Utc>,
    /// The event as JSON: the text received, for other tools' events.
    pub json: String,
}

/// A line of a task's output to append to its log.
#[derive(Debug)]
pub(crate) struct NewLogLine<'a> {
    pub task_id: i64,
    /// The `task_output` event's id: a line whose event was recorded before is left out.
    pub event_id: &'a str,
    pub stream: &'static str,
    pub line: &'a str,
    pub at: DateTime<Utc>,
}

/// The most rows one multi-row `INSERT` takes; six parameters a row stays far below both
/// databases' limits on parameters a statement.
const ROWS_PER_INSERT: usize = 100;

/// Splits `rows` into the chunks of multi-row `INSERT`s: as many of [`ROWS_PER_INSERT`] as fit,
/// then powers of two. Each size is a different statement, so a backend's cache of prepared
/// statements holds at most eight shapes of each insert however the batches are sized.
pub(crate) fn insert_chunks<T>(rows: &[T]) -> impl Iterator<Item = &[T]> {
    let mut rest = rows;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let size = if rest.len() >= ROWS_PER_INSERT {
            ROWS_PER_INSERT
        } else {
            1 << rest.len().ilog2()
        };
        let (chunk, after) = rest.split_at(size);
        rest = after;
        Some(chunk)
    })
}

/// How an attempt of a task ended, for [`RecordTx::finish_task`].
#[derive(Debug)]
pub(crate) struct TaskEnd<'a> {
    pub attempt: u32,
    /// The task's status after this attempt (`running` when another attempt follows).
    pub status: &'a str,
    pub exit_code: Option<i32>,
    pub allowed_failure: bool,
    /// `None` when another attempt follows.
    pub finished_at: Option<DateTime<Utc>>,
}

/// The writes of one recording transaction. Every method is one or two statements.
pub(crate) trait RecordTx {
    /// Marks a state-change event as applied; `false` when it already was.
    async fn claim(
        &mut self,
        id: &str,
        run_id: &str,
        kind: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    async fn run_context(&mut self, run_id: &str) -> Result<Option<RunContext>, StoreError>;
    /// The last build number allocated for `app`; `None` when none was.
    async fn last_build(&mut self, app: &str) -> Result<Option<u64>, StoreError>;
    /// The run that holds `app`'s build number `build` (above 0), if any.
    async fn build_holder(&mut self, app: &str, build: u64) -> Result<Option<String>, StoreError>;
    /// Inserts the run unless it exists, and gives it its build number (above 0);
    /// [`StoreError::BuildRefused`] when another run took that number meanwhile.
    async fn insert_run(&mut self, run: &NewRun<'_>) -> Result<(), StoreError>;
    async fn start_run(&mut self, run_id: &str, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Sets the result of a run still `running`, and marks its unfinished stages and tasks
    /// `interrupted`; `false` (and no change) when the run had already finished.
    async fn finish_run(&mut self, run_id: &str, result: &str, at: DateTime<Utc>)
    -> Result<bool, StoreError>;
    async fn start_stage(&mut self, run_id: &str, stage: &str, at: DateTime<Utc>) -> Result<(), StoreError>;
    async fn finish_stage(
        &mut self,
        run_id: &str,
        stage: &str,
        status: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Creates the stage row with `status` unless it exists (tasks name their stage).
    async fn ensure_stage(&mut self, run_id: &str, stage: &str, status: &str) -> Result<(), StoreError>;
    /// Returns the task's row id.
    async fn start_task(
        &mut self,
        run_id: &str,
        path: &str,
        stage: &str,
        attempt: u32,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError>;
    async fn finish_task(
        &mut self,
        run_id: &str,
        path: &str,
        stage: &str,
        end: &TaskEnd<'_>,
    ) -> Result<i64, StoreError>;
    async fn skip_task(
        &mut self,
        run_id: &str,
        path: &str,
        stage: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError>;
    /// The task's row id, creating a `pending` row for a task not seen yet.
    async fn task_id(&mut self, run_id: &str, path: &str, stage: &str) -> Result<i64, StoreError>;
    /// Appends each line after its task's last one, in order, leaving out the lines whose
    /// event was recorded already (so that a task's lines stay numbered 1, 2, 3, ...). The
    /// lines' event ids are distinct.
    async fn append_logs(&mut self, lines: &[NewLogLine<'_>]) -> Result<(), StoreError>;
    async fn insert_artifact(
        &mut self,
        run_id: &str,
        task_path: &str,
        name: &str,
        size: u64,
        sha256: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Stores the events in order, leaving out those whose id is stored already; returns how
    /// many were stored.
    async fn insert_events(&mut self, events: &[NewEvent<'_>]) -> Result<u64, StoreError>;
    /// Notes that the run's process was heard from at `at` (a later time is kept).
    async fn touch_run(&mut self, run_id: &str, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Whether the run is still `running` and silent since before `silent_since`, holding its
    /// row until the transaction ends so that no contact and no other finish slips in between.
    async fn hold_if_silent(&mut self, run_id: &str, silent_since: DateTime<Utc>)
    -> Result<bool, StoreError>;
}

/// The error for a build number another run holds.
pub(crate) fn build_taken(run: &NewRun<'_>, holder: &str) -> StoreError {
    StoreError::BuildRefused {
        run_id: run.id.to_owned(),
        app: run.info.app.clone(),
        build: run.info.build,
        reason: format!("run `{holder}` has that build number already"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_chunks_cover_every_row_in_few_sizes() {
        for len in [0, 1, 2, 3, 7, 99, 100, 101, 250, 1000, 1234] {
            let rows: Vec<usize> = (0..len).collect();
            let chunks: Vec<&[usize]> = insert_chunks(&rows).collect();
            assert_eq!(chunks.concat(), rows, "{len}");
            for chunk in chunks {
                assert!(
                    chunk.len() == ROWS_PER_INSERT || chunk.len().is_power_of_two(),
                    "{len}"
                );
            }
        }
    }

    #[test]
    fn parses_urls() {
        let check = |url: &str, expect: Option<Location>| {
            assert_eq!(Location::parse(url).ok(), expect, "{url}");
        };
        let sqlite = |path: &str| Some(Location::Sqlite(PathBuf::from(path)));
        check(
            "sqlite:///var/lib/gantry/gantry.db",
            sqlite("/var/lib/gantry/gantry.db"),
        );
        check("sqlite://gantry.db", sqlite("gantry.db"));
        check("sqlite:gantry.db", sqlite("gantry.db"));
        check("/tmp/x/gantry.db", sqlite("/tmp/x/gantry.db"));
        check(".gantry/gantry.db", sqlite(".gantry/gantry.db"));
        check(
            "postgres://u@h/db",
            Some(Location::Postgres("postgres://u@h/db".into())),
        );
        check("mysql://h/db", None);
        check("sqlite://", None);
        check("sqlite::memory:", None);
        check("sqlite://x.db?mode=ro", None);
        check("", None);
    }
}
