//! Runs: a page of them (`GET /api/v1/runs`), and one whole (`GET /api/v1/runs/{id}`, and
//! `gantry show RUN --json`, which prints the same document from a local store).

use std::fmt;

use chrono::{DateTime, Utc};
use gantry_model::{Runner, Selection};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::cdevent::CdEvent;

/// Where a run is: still running, or how it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Success,
    Failure,
    Cancelled,
    /// Its process died, or its client was not heard from for longer than its lease.
    Interrupted,
    /// The agent running it stopped answering; its job was queued again, as another run.
    AgentLost,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Cancelled => "cancelled",
            Self::Interrupted => "interrupted",
            Self::AgentLost => "agent_lost",
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a task or a stage is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
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
            Self::Success => "success",
            Self::Failure => "failure",
            Self::TimedOut => "timed_out",
            Self::Cancelled => "cancelled",
            Self::Skipped => "skipped",
            Self::Interrupted => "interrupted",
        }
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One run, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RunSummary {
    /// A UUID v7: ids sort by creation time. Also the `chainId` of the run's CDEvents.
    pub id: String,
    pub app: String,
    pub version: String,
    #[schema(minimum = 1)]
    pub build: u64,
    /// The git commit it ran, where known.
    pub revision: Option<String>,
    pub branch: Option<String>,
    /// Whether the version can be traced back to a clean commit.
    pub traceable: bool,
    pub untraceable_reason: Option<String>,
    pub result: RunStatus,
    /// Its tasks were stand-ins (`gantry run --mock`).
    pub mock: bool,
    pub queued_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// From start (or queueing, if it never started) to finish; `null` while running.
    pub duration_ms: Option<u64>,
    /// The part of the pipeline the run covered: `"all"`, or `{"to": …}` / `{"only": …}` for a
    /// partial run (`gantry run --to`, `--only`).
    #[schema(value_type = crate::model_schema::Selection)]
    pub selection: Selection,
}

/// One page of runs, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RunsPage {
    pub runs: Vec<RunSummary>,
    /// The `offset` of the next page; `null` on the last one.
    pub next_offset: Option<u32>,
}

/// One run with everything recorded about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RunDocument {
    #[serde(flatten)]
    pub summary: RunSummary,
    /// The machine and process it ran on, as the run reported itself; `null` from clients that
    /// did not say.
    #[serde(default)]
    #[schema(value_type = Option<crate::model_schema::Runner>)]
    pub runner: Option<Runner>,
    /// When its process was last heard from: its events recorded, or a heartbeat.
    pub last_contact_at: Option<DateTime<Utc>>,
    /// The resolved pipeline definition as it ran.
    #[schema(value_type = Object)]
    pub pipeline: serde_json::Value,
    /// In order of first appearance.
    pub stages: Vec<Stage>,
    /// In order of first appearance.
    pub tasks: Vec<Task>,
    pub artifacts: Vec<Artifact>,
    /// The run's CDEvents 0.5.1, in time order (its id is their `chainId`).
    #[schema(value_type = Vec<CdEvent>)]
    pub events: Vec<serde_json::Value>,
}

/// A stage of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Stage {
    pub name: String,
    pub status: TaskStatus,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A task of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Task {
    /// `STAGE/TASK`, or deeper for tasks in groups.
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

/// A file a task of the run produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Artifact {
    pub task_path: String,
    /// Its path relative to the task's working directory.
    pub name: String,
    pub size: u64,
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub sha256: String,
    pub recorded_at: DateTime<Utc>,
    /// Where to download it: `/api/v1/artifacts/{sha256}`, under the server's URL.
    pub download: String,
}

impl Artifact {
    /// The download path of the artifact with this digest.
    pub fn download_path(sha256: &str) -> String {
        format!("/api/v1/artifacts/{sha256}")
    }
}
