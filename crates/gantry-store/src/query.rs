//! What the store answers: runs, their stages, tasks, artifacts and logs, as typed values. They
//! are not wire types: the server converts them into `gantry-api`'s bodies.
//!
//! The `…Row` types are the rows as both backends read them (`sqlx::FromRow` is generic over the
//! database); they become the public types here, with ranges and enums checked.

use std::fmt;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use gantry_model::{LogStream, RunResult, Selection, TaskOutcome};
use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::recovery::Owner;

/// Which runs [`crate::Store::list_runs`] returns; every field left empty matches all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFilter {
    pub app: Option<String>,
    pub branch: Option<String>,
    pub result: Option<RunStatus>,
    /// Only runs queued at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only runs queued before this time.
    pub until: Option<DateTime<Utc>>,
    /// At most this many runs (all when `None`).
    pub limit: Option<u32>,
    /// Skip this many of the newest runs first.
    pub offset: u32,
}

/// Where a run is: still running, or how it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Success,
    Failure,
    Cancelled,
    Interrupted,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Success => RunResult::Success.as_str(),
            Self::Failure => RunResult::Failure.as_str(),
            Self::Cancelled => RunResult::Cancelled.as_str(),
            Self::Interrupted => RunResult::Interrupted.as_str(),
        }
    }

    /// Parses what [`RunStatus::as_str`] wrote.
    pub fn parse(text: &str) -> Option<Self> {
        if text == "running" {
            return Some(Self::Running);
        }
        RunResult::parse(text).map(Self::from)
    }
}

impl From<RunResult> for RunStatus {
    fn from(result: RunResult) -> Self {
        match result {
            RunResult::Success => Self::Success,
            RunResult::Failure => Self::Failure,
            RunResult::Cancelled => Self::Cancelled,
            RunResult::Interrupted => Self::Interrupted,
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a task or a stage is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Known to the run (it wrote output) but not started.
    Pending,
    /// Running, or waiting between attempts.
    Running,
    Success,
    Failure,
    TimedOut,
    Cancelled,
    Skipped,
    /// Still running when the run ended or its process died.
    Interrupted,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Success => TaskOutcome::Success.as_str(),
            Self::Failure => TaskOutcome::Failure.as_str(),
            Self::TimedOut => TaskOutcome::TimedOut.as_str(),
            Self::Cancelled => TaskOutcome::Cancelled.as_str(),
            Self::Skipped => TaskOutcome::Skipped.as_str(),
            Self::Interrupted => "interrupted",
        }
    }

    /// Parses what [`TaskStatus::as_str`] wrote.
    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Running,
            Self::Success,
            Self::Failure,
            Self::TimedOut,
            Self::Cancelled,
            Self::Skipped,
            Self::Interrupted,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
    }
}

impl From<TaskOutcome> for TaskStatus {
    fn from(outcome: TaskOutcome) -> Self {
        match outcome {
            TaskOutcome::Success => Self::Success,
            TaskOutcome::Failure => Self::Failure,
            TaskOutcome::TimedOut => Self::TimedOut,
            TaskOutcome::Cancelled => Self::Cancelled,
            TaskOutcome::Skipped => Self::Skipped,
        }
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One run, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSummary {
    pub id: String,
    pub app: String,
    pub version: String,
    pub build: u64,
    pub revision: Option<String>,
    pub branch: Option<String>,
    pub traceable: bool,
    pub untraceable_reason: Option<String>,
    pub result: RunStatus,
    pub mock: bool,
    pub queued_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// From start (or queueing, if it never started) to finish; `None` while running.
    pub duration_ms: Option<u64>,
    /// The part of the pipeline the run covered: `"all"`, or `{"to": …}` / `{"only": …}` for
    /// a partial run (`gantry run --to`, `--only`).
    pub selection: Selection,
}

/// One run with everything recorded about it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunDetail {
    pub summary: RunSummary,
    /// The process that recorded it into this store, where known (for runs reported to a
    /// server, the server's placeholder: such runs hold a lease instead).
    pub owner: Option<Owner>,
    /// The machine and process it ran on, as the run reported itself; `None` from clients that
    /// did not say.
    pub runner: Option<gantry_model::Runner>,
    /// When that process was last heard from: its events recorded, or a heartbeat.
    pub last_contact_at: Option<DateTime<Utc>>,
    /// The resolved pipeline definition as it ran (a serialized [`gantry_model::Pipeline`]).
    pub pipeline: serde_json::Value,
    /// In order of first appearance.
    pub stages: Vec<StageRecord>,
    /// In order of first appearance.
    pub tasks: Vec<TaskRecord>,
    pub artifacts: Vec<ArtifactRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageRecord {
    pub name: String,
    pub status: TaskStatus,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRecord {
    pub path: String,
    pub stage: String,
    pub status: TaskStatus,
    /// Attempts started so far (0 for a task that never ran).
    pub attempts: u32,
    /// The exit code of the last finished attempt.
    pub exit_code: Option<i32>,
    /// It failed, but `allow_failure` let the pipeline go on.
    pub allowed_failure: bool,
    pub skip_reason: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactRecord {
    pub task_path: String,
    pub name: String,
    pub size: u64,
    pub sha256: String,
    /// Where the stored copy is: a path on the store's machine, or an `s3://BUCKET/KEY` url (the
    /// API leaves it out).
    pub path: PathBuf,
    pub recorded_at: DateTime<Utc>,
}

/// One line of a task's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// 1 for the task's first line; read on with `after_seq` = the last one seen.
    pub seq: u64,
    pub stream: LogStream,
    pub line: String,
    pub at: DateTime<Utc>,
}

/// One line of a run's log: a task's line with the task's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunLogLine {
    pub path: String,
    pub line: LogLine,
}

/// An app that has runs, with its newest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSummary {
    pub name: String,
    pub runs: u64,
    pub last_run: RunSummary,
}

/// A `runs` row as both backends read it.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct RunRow {
    pub id: String,
    pub app: String,
    pub version: String,
    pub build: i64,
    pub revision: Option<String>,
    pub branch: Option<String>,
    pub traceable: bool,
    pub untraceable_reason: Option<String>,
    pub mock: bool,
    pub result: String,
    pub queued_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub owner_host: Option<String>,
    pub owner_pid: Option<i64>,
    pub owner_start_time: Option<i64>,
    pub last_contact_at: Option<DateTime<Utc>>,
    pub selection: Option<String>,
    pub runner_host: Option<String>,
    pub runner_pid: Option<i64>,
}

/// How a run's selection is stored: `NULL` for a whole run, else its JSON.
pub(crate) fn selection_text(selection: &Selection) -> Option<String> {
    (!selection.is_all()).then(|| serde_json::to_string(selection).unwrap_or_default())
}

/// The columns of [`RunRow`], for `SELECT` lists built with `concat!`.
macro_rules! run_columns {
    () => {
        "id, app, version, build, revision, branch, traceable, untraceable_reason, mock, result, \
         queued_at, started_at, finished_at, owner_host, owner_pid, owner_start_time, last_contact_at, \
         selection, runner_host, runner_pid"
    };
}
pub(crate) use run_columns;

/// Every app with its newest run and its number of runs, for both backends: the counts come
/// from an index (`runs_by_build`), the newest run is one probe of `runs_by_app` per app, so
/// the time grows with the number of apps, not of runs.
pub(crate) const APPS_QUERY: &str = concat!(
    "SELECT ",
    run_columns!(),
    ", total
     FROM (SELECT app AS counted_app, COUNT(*) AS total FROM runs GROUP BY app) AS counts
     JOIN runs ON runs.id = (
         SELECT newest.id FROM runs AS newest WHERE newest.app = counts.counted_app
         ORDER BY newest.queued_at DESC, newest.id DESC LIMIT 1
     )
     ORDER BY app"
);

impl RunRow {
    pub(crate) fn summary(&self) -> Result<RunSummary, StoreError> {
        Ok(RunSummary {
            id: self.id.clone(),
            app: self.app.clone(),
            version: self.version.clone(),
            build: unsigned(self.build, "build number")?,
            revision: self.revision.clone(),
            branch: self.branch.clone(),
            traceable: self.traceable,
            untraceable_reason: self.untraceable_reason.clone(),
            result: RunStatus::parse(&self.result)
                .ok_or_else(|| corrupt("run result", format!("`{}` is not a run result", self.result)))?,
            mock: self.mock,
            queued_at: self.queued_at,
            started_at: self.started_at,
            finished_at: self.finished_at,
            duration_ms: duration_ms(self.started_at.or(Some(self.queued_at)), self.finished_at),
            selection: match &self.selection {
                None => Selection::All,
                Some(text) => serde_json::from_str(text)
                    .map_err(|err| corrupt("run selection", format!("`{text}`: {err}")))?,
            },
        })
    }

    pub(crate) fn runner(&self) -> Option<gantry_model::Runner> {
        Some(gantry_model::Runner {
            host: self.runner_host.clone()?,
            pid: u32::try_from(self.runner_pid?).ok()?,
        })
    }

    pub(crate) fn owner(&self) -> Option<Owner> {
        Some(Owner {
            host: self.owner_host.clone()?,
            pid: u32::try_from(self.owner_pid?).ok()?,
            start_time: self.owner_start_time.and_then(|time| u64::try_from(time).ok()),
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct StageRow {
    pub name: String,
    pub status: String,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl TryFrom<StageRow> for StageRecord {
    type Error = StoreError;

    fn try_from(row: StageRow) -> Result<Self, StoreError> {
        Ok(Self {
            status: task_status(&row.status)?,
            name: row.name,
            started_at: row.started_at,
            finished_at: row.finished_at,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct TaskRow {
    pub path: String,
    pub stage: String,
    pub status: String,
    pub attempts: i64,
    pub exit_code: Option<i64>,
    pub allowed_failure: bool,
    pub skip_reason: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl TryFrom<TaskRow> for TaskRecord {
    type Error = StoreError;

    fn try_from(row: TaskRow) -> Result<Self, StoreError> {
        Ok(Self {
            status: task_status(&row.status)?,
            attempts: u32::try_from(row.attempts)
                .map_err(|_| corrupt("attempt count", row.attempts.to_string()))?,
            exit_code: row
                .exit_code
                .map(|code| i32::try_from(code).map_err(|_| corrupt("exit code", code.to_string())))
                .transpose()?,
            duration_ms: duration_ms(row.started_at, row.finished_at),
            path: row.path,
            stage: row.stage,
            allowed_failure: row.allowed_failure,
            skip_reason: row.skip_reason,
            started_at: row.started_at,
            finished_at: row.finished_at,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ArtifactRow {
    pub task_path: String,
    pub name: String,
    pub size: i64,
    pub sha256: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct LogRow {
    pub path: String,
    pub seq: i64,
    pub stream: String,
    pub line: String,
    pub at: DateTime<Utc>,
}

impl LogRow {
    pub(crate) fn into_run_line(self) -> Result<RunLogLine, StoreError> {
        let stream = match self.stream.as_str() {
            "stdout" => LogStream::Stdout,
            "stderr" => LogStream::Stderr,
            other => return Err(corrupt("log stream", format!("`{other}` is not a stream"))),
        };
        Ok(RunLogLine {
            path: self.path,
            line: LogLine {
                seq: unsigned(self.seq, "log sequence number")?,
                stream,
                line: self.line,
                at: self.at,
            },
        })
    }
}

/// How a [`LogStream`] is stored.
pub(crate) fn stream_name(stream: LogStream) -> &'static str {
    match stream {
        LogStream::Stdout => "stdout",
        LogStream::Stderr => "stderr",
    }
}

/// A `SELECT` result for [`crate::Store::apps`]: the newest run of an app and its run count.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AppRow {
    #[sqlx(flatten)]
    pub run: RunRow,
    pub total: i64,
}

pub(crate) fn unsigned(value: i64, what: &'static str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| corrupt(what, format!("{value} is negative")))
}

fn task_status(text: &str) -> Result<TaskStatus, StoreError> {
    TaskStatus::parse(text).ok_or_else(|| corrupt("task status", format!("`{text}` is not a task status")))
}

fn corrupt(what: &'static str, reason: String) -> StoreError {
    StoreError::Corrupt { what, reason }
}

fn duration_ms(start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>) -> Option<u64> {
    let millis = (end? - start?).num_milliseconds();
    Some(u64::try_from(millis).unwrap_or(0))
}
