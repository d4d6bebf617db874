//! What the store answers: runs, their stages, tasks, artifacts and logs, as typed values. They
//! are not wire types: the server converts them into `gantry-api`'s bodies.
//!
//! The rows they are made from, as both databases read them, are in [`crate::aggregate`]; ranges
//! and enums are checked on the way here.

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
    /// The agent running it stopped answering; the job was queued again as another run.
    AgentLost,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Success => RunResult::Success.as_str(),
            Self::Failure => RunResult::Failure.as_str(),
            Self::Cancelled => RunResult::Cancelled.as_str(),
            Self::Interrupted => RunResult::Interrupted.as_str(),
            Self::AgentLost => RunResult::AgentLost.as_str(),
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
            RunResult::AgentLost => Self::AgentLost,
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
    /// The attempt of the task that wrote it: 1, then 2, 3, ... when the task was retried.
    pub attempt: u32,
}

/// How one attempt of a task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptEnd {
    /// 1 for the first attempt.
    pub attempt: u32,
    pub outcome: gantry_model::TaskOutcome,
    /// `None` when the task's process did not exit by itself (a timeout, a cancellation).
    pub exit_code: Option<i32>,
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

pub(crate) fn unsigned(value: i64, what: &'static str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| corrupt(what, format!("{value} is negative")))
}

pub(crate) fn corrupt(what: &'static str, reason: String) -> StoreError {
    StoreError::Corrupt { what, reason }
}

pub(crate) fn duration_ms(start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>) -> Option<u64> {
    let millis = (end? - start?).num_milliseconds();
    Some(u64::try_from(millis).unwrap_or(0))
}
