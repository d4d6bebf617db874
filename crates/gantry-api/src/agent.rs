//! The agent protocol: how a machine that runs pipelines for a server takes work, keeps it, and
//! hands it back; and the queue of jobs it takes them from.
//!
//! 1. `POST /api/v1/agent/lease` with a [`LeaseRequest`]: the server answers `200` with a
//!    [`Lease`] on a queued job whose labels the agent has, or `204` when none comes within
//!    `wait_seconds` (it waits for one to be queued, on any replica, without polling).
//! 2. `POST /api/v1/agent/jobs/{job}/start` with a [`StartRequest`], once the agent has checked
//!    the commit out and read the app from its `gantry.yml`: a [`JobStart`], the run id and
//!    build number the agent records its run as. The run's events go to
//!    `POST /api/v1/runs/{id}/events` as from any client.
//! 3. `POST /api/v1/agent/jobs/{job}/heartbeat` with a [`LeaseHeartbeat`] before the lease
//!    expires: a [`LeaseHeartbeatAnswer`] with the new expiry (and whether to cancel).
//! 4. `POST /api/v1/agent/jobs/{job}/complete` with a [`CompleteRequest`]: a
//!    [`CompleteAnswer`].
//!
//! Every call after the first carries the lease's `fencing` number: a report from a holder
//! whose lease expired (the job went back to the queue, maybe to another agent) has an older
//! number and is refused (`409 lease_lost`), so a job never finishes twice.
//!
//! The queue: `POST /api/v1/queue` ([`QueueRequest`]) adds a job, `GET /api/v1/queue` lists
//! the waiting and running ones ([`QueuedJob`]), `GET /api/v1/agents` the agents
//! ([`AgentSummary`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::run::RunStatus;

/// An agent asking for work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeaseRequest {
    /// The agent's name, unique among the server's agents (its host name by default).
    pub agent: String,
    /// What the agent offers, as `name: value` pairs (`os: linux`); a job goes to an agent
    /// with every one of its labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The agent's Gantry version.
    #[serde(default)]
    pub version: Option<String>,
    /// How long the server may hold the request open when no job is queued (at most 25).
    #[serde(default)]
    pub wait_seconds: u32,
}

/// A job leased to an agent, until `expires_at` unless renewed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Lease {
    /// The job's id.
    pub job: String,
    /// Which attempt of the job this is, from 1.
    pub attempt: u32,
    /// The app, if the job was queued for one (else the agent reads it from `gantry.yml`).
    pub app: Option<String>,
    /// Where to fetch the source, and which commit.
    pub repository: String,
    pub revision: String,
    /// The branch the commit was pushed to, which the pipeline is planned for.
    pub branch: Option<String>,
    /// Grows with every lease of this job: the holder's proof that the lease is still its own.
    pub fencing: u64,
    pub expires_at: DateTime<Utc>,
    /// How long a lease lasts; heartbeats should come at least three times as often.
    pub lease_seconds: u64,
}

/// An agent that checked a job's commit out says which app its `gantry.yml` delivers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    /// The lease's fencing number.
    pub fencing: u64,
    pub app: String,
}

/// What the agent records its run as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JobStart {
    /// The `run_id` of the run's events.
    pub run_id: String,
    pub app: String,
    /// The build number, allocated when the job was queued (or now, when its app was not known).
    pub build: u64,
}

/// An agent keeping its lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeaseHeartbeat {
    /// The lease's fencing number.
    pub fencing: u64,
    /// The agent finishes what it holds and takes no new job.
    #[serde(default)]
    pub draining: bool,
}

/// The answer to a lease heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LeaseHeartbeatAnswer {
    pub expires_at: DateTime<Utc>,
    /// The job was cancelled: stop its tasks and complete it as `cancelled`.
    pub cancel: bool,
}

/// An agent handing a job back, finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteRequest {
    /// The lease's fencing number.
    pub fencing: u64,
    /// How the run ended (never `running`); `failure` when it could not start (the commit
    /// could not be fetched, the pipeline file is invalid).
    pub result: RunStatus,
    /// Why it could not start, when it could not.
    #[serde(default)]
    pub message: Option<String>,
}

/// The answer to a completion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CompleteAnswer {
    /// The job's state now: `finished` or `cancelled`.
    pub state: JobState,
}

/// A run of a repository at a commit, to queue for an agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueRequest {
    /// Where an agent fetches the source from (a URL or a path `git clone` takes).
    pub repository: String,
    /// The commit to run: a full commit id.
    pub revision: String,
    /// The branch the commit is on, which the pipeline is planned for.
    #[serde(default)]
    pub branch: Option<String>,
    /// The app, when known: its build number is then allocated at once. Else the agent reads
    /// it from `gantry.yml`, and the build number is allocated when the run starts.
    #[serde(default)]
    pub app: Option<String>,
    /// What an agent must offer to run it (`os: mac`).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for an agent.
    Queued,
    /// An agent runs it.
    Leased,
    Finished,
    Cancelled,
}

/// Why a job was queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JobTrigger {
    /// `api` for a job queued through `POST /api/v1/queue`.
    pub kind: String,
    /// Who queued it (a user, or `token:NAME`).
    pub by: Option<String>,
    pub detail: Option<String>,
}

/// A job in the queue, waiting or running.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct QueuedJob {
    pub id: String,
    pub app: Option<String>,
    pub build: Option<u64>,
    /// The run its current (or next) attempt records as.
    pub run_id: String,
    pub repository: String,
    pub revision: String,
    pub branch: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub trigger: JobTrigger,
    pub state: JobState,
    /// How many attempts started (an attempt whose agent was lost counts).
    pub attempts: u32,
    /// The agent running it, while leased.
    pub agent: Option<String>,
    pub queued_at: DateTime<Utc>,
    /// How long it has been waiting for an agent (since it was queued, or queued again), in
    /// whole seconds; 0 while an agent runs it.
    pub waiting_seconds: u64,
    /// Why it waits, while it waits: "no agent has labels os=mac", "every agent with its
    /// labels is busy".
    pub waiting_for: Option<String>,
}

/// The queue: jobs waiting, longest waiting first, then jobs running.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct QueuePage {
    pub jobs: Vec<QueuedJob>,
}

/// Where an agent is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgentState {
    /// Asking for work.
    Idle,
    /// Running jobs.
    Busy,
    /// Not heard from for longer than a job's lease.
    Lost,
    /// Finishing its jobs, taking no new one.
    Draining,
}

/// An agent as the server last heard from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AgentSummary {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub version: Option<String>,
    pub state: AgentState,
    /// The jobs it runs now.
    pub jobs: Vec<String>,
    pub last_seen_at: DateTime<Utc>,
}

/// Every agent the server has heard from, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AgentsPage {
    pub agents: Vec<AgentSummary>,
}
