//! The OpenAPI schemas of the model's types that travel in API bodies ([`gantry_model::RunEvent`]
//! and what it holds, [`gantry_model::Selection`], [`gantry_model::Runner`],
//! [`gantry_model::LogStream`]).
//!
//! The model imports no schema library for the API's sake, so these types only describe its
//! serde shapes; they are never sent. A test serializes real model values and validates them
//! against these schemas, so a change to the model that they miss fails it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// The part of the pipeline a run covers: `"all"`, `{"to": NAME}` or `{"only": NAME}`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Selection {
    /// The whole pipeline.
    All,
    /// Everything up to and including this stage or task (setup and finally included).
    To(String),
    /// Just this stage or task (no setup, no finally).
    Only(String),
}

/// A machine and process that runs a pipeline.
#[derive(Serialize, ToSchema)]
pub struct Runner {
    /// Its host name.
    pub host: String,
    pub pid: u32,
}

/// Which output stream a log line came from.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogStream {
    Stdout,
    Stderr,
}

/// How a task or a stage ended.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskOutcome {
    Success,
    Failure,
    TimedOut,
    Cancelled,
    Skipped,
}

/// How a run ended.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunResult {
    Success,
    Failure,
    Cancelled,
    Interrupted,
    AgentLost,
}

/// One thing that happened in a run: its `event` says what, the other fields depend on it.
#[derive(Serialize, ToSchema)]
pub struct RunEvent {
    /// Unique per event (a UUID); recording an event twice with the same id is a no-op.
    pub id: String,
    /// The run's id (a UUID v7), the same in all its events.
    pub run_id: String,
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub kind: RunEventKind,
}

/// What happened.
#[derive(Serialize, ToSchema)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RunEventKind {
    /// The run exists and has its number; the first event of every run.
    RunQueued(RunInfo),
    RunStarted,
    StageStarted {
        stage: String,
    },
    StageFinished {
        stage: String,
        outcome: TaskOutcome,
    },
    TaskStarted {
        path: String,
        attempt: u32,
    },
    /// Lines of a task's output from one stream, in order, secrets already masked, each
    /// without its line ending; what one read of the task's pipe brought (never no line).
    TaskOutput {
        path: String,
        stream: LogStream,
        lines: Vec<String>,
    },
    TaskFinished {
        path: String,
        attempt: u32,
        outcome: TaskOutcome,
        exit_code: Option<i32>,
        /// Another attempt follows.
        will_retry: bool,
        /// The task failed but has `allow_failure`, so the pipeline goes on.
        allowed_failure: bool,
    },
    /// A task that did not run: its `when` was false, or an earlier failure stopped it.
    TaskSkipped {
        path: String,
        reason: String,
    },
    /// A file a task produced. Upload it (`PUT /api/v1/artifacts/{sha256}`) before sending the
    /// event: the server records it against its uploaded copy, never reading `source`.
    ArtifactPackaged {
        path: String,
        /// Its path relative to the task's working directory.
        name: String,
        /// Where the file is on the machine that ran the task.
        source: String,
        size: u64,
        sha256: String,
    },
    RunFinished {
        result: RunResult,
    },
}

/// What a run is, recorded with its first event.
#[derive(Serialize, ToSchema)]
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
    #[schema(value_type = Object)]
    pub pipeline: serde_json::Value,
    /// Whether tasks are stand-ins (`gantry run --mock`).
    pub mock: bool,
    /// Left out for a whole run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection: Option<Selection>,
    /// The process that runs it; left out by clients that do not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runner: Option<Runner>,
}
