//! [`RunEvent`]: everything that happens in a run, as values.
//!
//! The engine's only output. The terminal reporter, the store writer and (later) the uploader
//! all consume the same stream, so what a person sees, what is recorded and what is reported
//! can never disagree.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::pipeline::Pipeline;
use crate::plan::{Selection, TaskPath};

/// The identity of a run: a UUID (v7, so ids sort by creation time). Also the `CDEvents` `chainId`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(pub String);

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One thing that happened in a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunEvent {
    /// Unique per event (a UUID); recording an event twice with the same id is a no-op.
    pub id: String,
    pub run_id: RunId,
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub kind: RunEventKind,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RunEventKind {
    /// The run exists and has its number; the first event of every run.
    RunQueued(Box<RunInfo>),
    RunStarted,
    StageStarted {
        stage: String,
    },
    StageFinished {
        stage: String,
        outcome: TaskOutcome,
    },
    TaskStarted {
        path: TaskPath,
        attempt: u32,
    },
    /// Lines of a task's output from one stream, in order, secrets already masked, each
    /// without its line ending. One event carries what one read of the task's pipe brought
    /// (never no line), so a chatty task costs an event per read, not per line.
    TaskOutput {
        path: TaskPath,
        stream: LogStream,
        lines: Vec<String>,
    },
    TaskFinished {
        path: TaskPath,
        attempt: u32,
        outcome: TaskOutcome,
        exit_code: Option<i32>,
        /// Another attempt follows.
        will_retry: bool,
        /// The task failed but has `allow_failure`, so the pipeline goes on.
        allowed_failure: bool,
    },
    /// A task that did not run: its `when` was false, or an earlier failure or cancellation
    /// stopped the pipeline before it.
    TaskSkipped {
        path: TaskPath,
        reason: String,
    },
    /// A file a task produced, collected after the task succeeded.
    ArtifactPackaged {
        path: TaskPath,
        /// The artifact's name: its path relative to the task's working directory.
        name: String,
        /// Where the file is now, so a writer can copy it into its artifact store.
        source: String,
        size: u64,
        sha256: String,
    },
    RunFinished {
        result: RunResult,
    },
}

/// What a run is, recorded with its first event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInfo {
    pub app: String,
    pub version: String,
    pub build: u64,
    pub revision: Option<String>,
    pub branch: Option<String>,
    pub traceable: bool,
    /// Why the run is not traceable, when it is not.
    pub untraceable_reason: Option<String>,
    /// The resolved pipeline definition, as it runs.
    pub pipeline: Pipeline,
    /// Whether tasks are stand-ins (`gantry run --mock`).
    pub mock: bool,
    /// The part of the pipeline the run covers (`--to`, `--only`); left out when whole.
    #[serde(default, skip_serializing_if = "Selection::is_all")]
    pub selection: Selection,
    /// The process that runs it, as it reports itself: where a run reported to a server from
    /// elsewhere ran. `None` from clients that do not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runner: Option<Runner>,
}

/// A machine and process that runs a pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Runner {
    /// Its host name.
    pub host: String,
    pub pid: u32,
}

/// Which output stream a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogStream {
    Stdout,
    Stderr,
}

/// How a task (or a stage) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskOutcome {
    Success,
    Failure,
    TimedOut,
    Cancelled,
    Skipped,
}

impl TaskOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::TimedOut => "timed_out",
            Self::Cancelled => "cancelled",
            Self::Skipped => "skipped",
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunResult {
    Success,
    Failure,
    Cancelled,
    /// Gantry itself died mid-run; found and marked by the next command against the store.
    Interrupted,
    /// The agent running it for a server stopped answering: its job's lease expired and the
    /// job went back to the queue as a new attempt, recorded as another run.
    AgentLost,
}

impl RunResult {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Cancelled => "cancelled",
            Self::Interrupted => "interrupted",
            Self::AgentLost => "agent_lost",
        }
    }

    /// Parses what [`RunResult::as_str`] wrote.
    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Success,
            Self::Failure,
            Self::Cancelled,
            Self::Interrupted,
            Self::AgentLost,
        ]
        .into_iter()
        .find(|result| result.as_str() == text)
    }
}

impl fmt::Display for RunResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for TaskOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
