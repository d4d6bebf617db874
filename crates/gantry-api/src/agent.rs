//! The agent protocol: how a machine that runs pipelines for a server takes work, keeps it, and
//! hands it back. Described here so that server and agent share one contract; the server does
//! not serve these routes yet.
//!
//! 1. `POST /api/v1/agent/lease` with a [`LeaseRequest`]: the server answers `200` with a
//!    [`Lease`] on a queued job, or `204` when there is none within `wait_seconds`.
//! 2. `POST /api/v1/agent/leases/{job}/heartbeat` with a [`LeaseHeartbeat`] before the lease
//!    expires: a [`LeaseHeartbeatAnswer`] with the new expiry (and whether to cancel). The run's
//!    events go to `POST /api/v1/runs/{id}/events` as from any client.
//! 3. `POST /api/v1/agent/leases/{job}/complete` with a [`CompleteRequest`]: a
//!    [`CompleteAnswer`].
//!
//! Every call after the first carries the lease's `fencing` number: a report from a holder
//! whose lease expired and was handed to another agent has an older number and is refused
//! (`409`), so two agents never both own a job.

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
    /// What the agent offers (`linux`, `docker`); a job goes to an agent with all its labels.
    #[serde(default)]
    pub labels: Vec<String>,
    /// How long the server may hold the request open when no job is queued.
    #[serde(default)]
    pub wait_seconds: u32,
}

/// A job leased to an agent, until `expires_at` unless renewed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Lease {
    /// The job's id.
    pub job: String,
    /// The run the agent records the job as (the `run_id` of its events).
    pub run_id: String,
    pub app: String,
    /// The build number, allocated when the job was queued.
    pub build: u64,
    /// Where to fetch the source, and which commit.
    pub repository: String,
    pub revision: String,
    /// Grows with every lease of this job: the holder's proof that the lease is still its own.
    pub fencing: u64,
    pub expires_at: DateTime<Utc>,
}

/// An agent keeping its lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeaseHeartbeat {
    /// The lease's fencing number.
    pub fencing: u64,
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
    /// How the run ended (never `running`).
    pub result: RunStatus,
}

/// The answer to a completion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CompleteAnswer {
    /// The run's status as recorded.
    pub result: RunStatus,
}
