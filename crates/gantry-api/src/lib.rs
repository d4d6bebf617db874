//! The wire contract of Gantry's HTTP API (`/api/v1`): what the server answers and what clients
//! send, as serde types whose OpenAPI schemas are derived beside them. The server converts its
//! store's rows into these types; the client, the CLI and agents read them. No IO.
//!
//! - [`error`]: [`ErrorBody`], the body of every failed request.
//! - [`run`]: runs as listed ([`RunSummary`], [`RunsPage`]) and one run whole ([`RunDocument`]).
//! - [`app`]: [`AppList`] and the allocated build number, [`BuildAllocated`].
//! - [`log`]: the server-sent events of a followed log ([`LogLine`], [`LogEnd`]).
//! - [`cdevent`]: CDEvents as the API takes and gives them ([`CdEvent`], [`EventList`]).
//! - [`run_events`]: the versioned envelope of Gantry's own run events ([`RunEventBatch`]), on
//!   the wire and in a client's spool, and what the server answers to a batch or a heartbeat.
//! - [`artifact`]: [`ArtifactStored`], the answer to an upload.
//! - [`token`]: API tokens ([`Scope`], [`NewToken`], [`CreatedToken`], [`TokenList`]) and the
//!   principal a token speaks for ([`Whoami`]).
//! - [`health`]: the bodies of `/healthz` and `/readyz`.
//! - [`agent`]: the agent protocol (lease, start, heartbeat, complete), the queue of jobs
//!   ([`QueueRequest`], [`QueuedJob`]) and the agents ([`AgentSummary`]).
//! - [`model_schema`]: the OpenAPI schemas of the model's types that travel in these bodies.
//!
//! Imports no crate of Gantry's but `gantry-model` (its [`gantry_model::RunEvent`] is what the
//! run events envelope carries).

pub mod agent;
pub mod app;
pub mod artifact;
pub mod cdevent;
pub mod error;
pub mod health;
pub mod log;
pub mod model_schema;
pub mod run;
pub mod run_events;
pub mod token;

pub use agent::{
    AgentState, AgentSummary, AgentsPage, CompleteAnswer, CompleteRequest, JobStart, JobState, JobTrigger,
    Lease, LeaseHeartbeat, LeaseHeartbeatAnswer, LeaseRequest, QueuePage, QueueRequest, QueuedJob,
    StartRequest,
};
pub use app::{AppList, AppSummary, BuildAllocated};
pub use artifact::ArtifactStored;
pub use cdevent::{CdEvent, CdEventContext, CdEventSubject, CdEvents, EventList, EventsStored};
pub use error::{ErrorBody, ErrorDetail};
pub use health::{HEALTHY, READY};
pub use log::{LogEnd, LogEvent, LogLine};
pub use run::{Artifact, RunDocument, RunStatus, RunSummary, RunsPage, Stage, Task, TaskStatus};
pub use run_events::{
    EventsRecorded, FENCING_HEADER, Heartbeat, RUN_EVENTS_VERSION, RunEventBatch, RunLease, VersionError,
    check_version,
};
pub use token::{CreatedToken, NewToken, PrincipalKind, Scope, TokenInfo, TokenList, Whoami};
