//! The store's answers as the API's bodies ([`gantry_api`]): what a client may see of a run,
//! and nothing else (no owner process, no path on the server's disk).
//!
//! Public so that `gantry show --json` prints the same document from a local store.

use gantry_api as api;
use gantry_store as store;

/// A run's status on the wire.
pub fn run_status(status: store::RunStatus) -> api::RunStatus {
    match status {
        store::RunStatus::Running => api::RunStatus::Running,
        store::RunStatus::Success => api::RunStatus::Success,
        store::RunStatus::Failure => api::RunStatus::Failure,
        store::RunStatus::Cancelled => api::RunStatus::Cancelled,
        store::RunStatus::Interrupted => api::RunStatus::Interrupted,
        store::RunStatus::AgentLost => api::RunStatus::AgentLost,
    }
}

/// A run's status as the store filters by it.
pub fn store_run_status(status: api::RunStatus) -> store::RunStatus {
    match status {
        api::RunStatus::Running => store::RunStatus::Running,
        api::RunStatus::Success => store::RunStatus::Success,
        api::RunStatus::Failure => store::RunStatus::Failure,
        api::RunStatus::Cancelled => store::RunStatus::Cancelled,
        api::RunStatus::Interrupted => store::RunStatus::Interrupted,
        api::RunStatus::AgentLost => store::RunStatus::AgentLost,
    }
}

/// A task's or a stage's status on the wire.
pub fn task_status(status: store::TaskStatus) -> api::TaskStatus {
    match status {
        store::TaskStatus::Pending => api::TaskStatus::Pending,
        store::TaskStatus::Running => api::TaskStatus::Running,
        store::TaskStatus::Success => api::TaskStatus::Success,
        store::TaskStatus::Failure => api::TaskStatus::Failure,
        store::TaskStatus::TimedOut => api::TaskStatus::TimedOut,
        store::TaskStatus::Cancelled => api::TaskStatus::Cancelled,
        store::TaskStatus::Skipped => api::TaskStatus::Skipped,
        store::TaskStatus::Interrupted => api::TaskStatus::Interrupted,
    }
}

/// A job's state on the wire.
pub fn job_state(state: store::JobState) -> api::JobState {
    match state {
        store::JobState::Queued => api::JobState::Queued,
        store::JobState::Leased => api::JobState::Leased,
        store::JobState::Finished => api::JobState::Finished,
        store::JobState::Cancelled => api::JobState::Cancelled,
    }
}

/// A token scope on the wire.
pub fn scope(scope: store::Scope) -> api::Scope {
    match scope {
        store::Scope::Read => api::Scope::Read,
        store::Scope::Report => api::Scope::Report,
        store::Scope::Agent => api::Scope::Agent,
        store::Scope::Admin => api::Scope::Admin,
    }
}

/// A token scope as the store keeps it.
pub fn store_scope(scope: api::Scope) -> store::Scope {
    match scope {
        api::Scope::Read => store::Scope::Read,
        api::Scope::Report => store::Scope::Report,
        api::Scope::Agent => store::Scope::Agent,
        api::Scope::Admin => store::Scope::Admin,
    }
}

/// A run as listed.
pub fn run_summary(run: &store::RunSummary) -> api::RunSummary {
    api::RunSummary {
        id: run.id.clone(),
        app: run.app.clone(),
        version: run.version.clone(),
        build: run.build,
        revision: run.revision.clone(),
        branch: run.branch.clone(),
        traceable: run.traceable,
        untraceable_reason: run.untraceable_reason.clone(),
        result: run_status(run.result),
        mock: run.mock,
        queued_at: run.queued_at,
        started_at: run.started_at,
        finished_at: run.finished_at,
        duration_ms: run.duration_ms,
        selection: run.selection.clone(),
    }
}

/// An app with its newest run.
pub fn app_summary(app: &store::AppSummary) -> api::AppSummary {
    api::AppSummary {
        name: app.name.clone(),
        runs: app.runs,
        last_run: run_summary(&app.last_run),
    }
}

/// One run whole, with its CDEvents; artifacts are named by their download path.
pub fn run_document(run: store::RunDetail, events: Vec<serde_json::Value>) -> api::RunDocument {
    api::RunDocument {
        summary: run_summary(&run.summary),
        runner: run.runner,
        last_contact_at: run.last_contact_at,
        pipeline: run.pipeline,
        stages: run
            .stages
            .into_iter()
            .map(|stage| api::Stage {
                name: stage.name,
                status: task_status(stage.status),
                started_at: stage.started_at,
                finished_at: stage.finished_at,
            })
            .collect(),
        tasks: run
            .tasks
            .into_iter()
            .map(|task| api::Task {
                path: task.path,
                stage: task.stage,
                status: task_status(task.status),
                attempts: task.attempts,
                exit_code: task.exit_code,
                allowed_failure: task.allowed_failure,
                skip_reason: task.skip_reason,
                started_at: task.started_at,
                finished_at: task.finished_at,
                duration_ms: task.duration_ms,
            })
            .collect(),
        artifacts: run
            .artifacts
            .into_iter()
            .map(|artifact| api::Artifact {
                download: api::Artifact::download_path(&artifact.sha256),
                task_path: artifact.task_path,
                name: artifact.name,
                size: artifact.size,
                sha256: artifact.sha256,
                recorded_at: artifact.recorded_at,
            })
            .collect(),
        events,
    }
}

/// One line of a run's log.
pub fn log_line(path: String, line: store::LogLine) -> api::LogLine {
    api::LogLine {
        path,
        seq: line.seq,
        stream: line.stream,
        line: line.line,
        at: line.at,
        attempt: line.attempt,
    }
}

/// A token, without its secret.
pub fn token_info(token: store::TokenRecord) -> api::TokenInfo {
    api::TokenInfo {
        name: token.name,
        scopes: token.scopes.into_iter().map(scope).collect(),
        user: token.user,
        created_at: token.created_at,
        last_used_at: token.last_used_at,
    }
}

/// A run's lease as its client sees it.
pub fn run_lease(lease: gantry_store::Lease) -> api::RunLease {
    api::RunLease {
        holder: lease.holder,
        // Fencing numbers start at 1 and only grow.
        fencing: u64::try_from(lease.fencing).unwrap_or_default(),
        expires_at: lease.expires_at,
    }
}
