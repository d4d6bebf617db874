//! Jobs on the server's side: the length of their lease (`gantry server --job-lease`), the
//! sweep that queues again the job of an agent that went silent ([`sweep`]), and what the queue
//! and the agents look like to people: how long a job waits and why, whether an agent is idle,
//! busy, lost or draining.
//!
//! Every replica sweeps: the store takes each expired job lease by one conditional update in
//! the transaction that queues the job again, so of replicas sweeping at once exactly one does.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use gantry_api as api;
use gantry_store::{AgentRecord, JobLease, JobRecord, JobState, StoreError, labels_match};
use tokio::time::MissedTickBehavior;

use crate::state::AppState;
use crate::wire;

/// An agent not heard from for this long beyond a job's lease counts as lost: idle agents ask
/// for work at least every [`crate::api::agent::MAX_WAIT`].
const SILENCE: Duration = Duration::from_secs(30);

/// The length of a job's lease, as the store counts it.
pub(crate) fn ttl(state: &AppState) -> chrono::Duration {
    chrono::Duration::from_std(state.job_lease).unwrap_or_else(|_| chrono::Duration::days(36_500))
}

/// How often a replica looks for jobs whose lease ran out: a quarter of the lease, between a
/// second and `at_most`.
pub fn sweep_every(job_lease: Duration, at_most: Duration) -> Duration {
    (job_lease / 4).clamp(Duration::from_secs(1), at_most.max(Duration::from_secs(1)))
}

/// Sweeps every `every` until the server shuts down. A replica starts once it has been up for
/// a whole job lease: when every replica was down, agents get that long to come back and keep
/// their jobs.
pub async fn sweep(state: AppState, every: Duration) {
    tracing::info!(every = ?every, lease = ?state.job_lease, "sweeping the leases of jobs");
    let started = state.clock.now();
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = state.shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        if state.clock.now() - started >= ttl(&state) {
            sweep_once(&state).await;
        }
    }
}

/// Queues again the jobs whose agent went silent; returns how many.
pub async fn sweep_once(state: &AppState) -> usize {
    let swept = state
        .metrics
        .time_store(
            "requeue_lost_jobs",
            state.store.requeue_lost_jobs(state.clock.now()),
        )
        .await;
    match swept {
        Ok(jobs) if jobs.is_empty() => 0,
        Ok(jobs) => {
            tracing::warn!(?jobs, lease = ?state.job_lease, "queued again the jobs of agents that went silent");
            jobs.len()
        }
        Err(error) => {
            tracing::error!(error = %crate::error::chain(&error), "failed to sweep the leases of jobs");
            0
        }
    }
}

/// The queue: jobs waiting, longest first, then jobs running.
pub(crate) async fn queue_page(state: &AppState, limit: u32) -> Result<api::QueuePage, StoreError> {
    let mut jobs = state.store.jobs(Some(JobState::Queued), limit).await?;
    jobs.extend(state.store.jobs(Some(JobState::Leased), limit).await?);
    let agents = state.store.agents().await?;
    Ok(api::QueuePage {
        jobs: jobs.iter().map(|job| queued_job(state, job, &agents)).collect(),
    })
}

/// A job as the queue shows it.
pub(crate) fn queued_job(state: &AppState, job: &JobRecord, agents: &[AgentRecord]) -> api::QueuedJob {
    let now = state.clock.now();
    let waiting = job.state == JobState::Queued;
    api::QueuedJob {
        id: job.id.clone(),
        app: job.app.clone(),
        build: job.build,
        run_id: job.run_id.clone(),
        repository: job.repository.clone(),
        revision: job.revision.clone(),
        branch: job.branch.clone(),
        labels: job.labels.clone(),
        trigger: api::JobTrigger {
            kind: job.trigger.kind.clone(),
            by: job.trigger.by.clone(),
            detail: job.trigger.detail.clone(),
        },
        state: wire::job_state(job.state),
        attempts: job.attempts,
        agent: (job.state == JobState::Leased)
            .then(|| job.agent.clone())
            .flatten(),
        queued_at: job.queued_at,
        waiting_seconds: if waiting {
            u64::try_from((now - job.waiting_since).num_seconds()).unwrap_or(0)
        } else {
            0
        },
        waiting_for: waiting.then(|| waiting_for(state, &job.labels, agents, now)),
    }
}

/// Why a job with `labels` waits.
fn waiting_for(
    state: &AppState,
    labels: &BTreeMap<String, String>,
    agents: &[AgentRecord],
    now: DateTime<Utc>,
) -> String {
    let able: Vec<&AgentRecord> = agents
        .iter()
        .filter(|agent| labels_match(labels, &agent.labels))
        .filter(|agent| agent_state(state, agent, now) != api::AgentState::Lost)
        .collect();
    if able.is_empty() {
        return if labels.is_empty() {
            "no agent is connected".to_owned()
        } else {
            let wanted: Vec<String> = labels
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect();
            format!("no agent has labels {}", wanted.join(","))
        };
    }
    if able.iter().all(|agent| agent.draining) {
        return "every agent with its labels is draining".to_owned();
    }
    "every agent with its labels is busy".to_owned()
}

/// Where an agent is, as of `now`.
fn agent_state(state: &AppState, agent: &AgentRecord, now: DateTime<Utc>) -> api::AgentState {
    let silent_for = (now - agent.last_seen_at).to_std().unwrap_or_default();
    if silent_for > state.job_lease + SILENCE {
        api::AgentState::Lost
    } else if agent.draining {
        api::AgentState::Draining
    } else if agent.jobs.is_empty() {
        api::AgentState::Idle
    } else {
        api::AgentState::Busy
    }
}

/// An agent as `GET /api/v1/agents` shows it.
pub(crate) fn agent_summary(state: &AppState, agent: &AgentRecord, now: DateTime<Utc>) -> api::AgentSummary {
    api::AgentSummary {
        name: agent.name.clone(),
        labels: agent.labels.clone(),
        version: agent.version.clone(),
        state: agent_state(state, agent, now),
        jobs: agent.jobs.clone(),
        last_seen_at: agent.last_seen_at,
    }
}

/// A job leased, on the wire.
pub(crate) fn lease(taken: &JobLease, job_lease: Duration) -> api::Lease {
    api::Lease {
        job: taken.job.id.clone(),
        attempt: taken.job.attempts,
        app: taken.job.app.clone(),
        repository: taken.job.repository.clone(),
        revision: taken.job.revision.clone(),
        branch: taken.job.branch.clone(),
        fencing: u64::try_from(taken.lease.fencing).unwrap_or(0),
        expires_at: taken.lease.expires_at,
        lease_seconds: job_lease.as_secs(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweeps_come_four_times_a_lease_within_bounds() {
        let rows = [(60, 30, 15), (2, 30, 1), (600, 30, 30), (8, 30, 2)];
        for (lease, at_most, expect) in rows {
            assert_eq!(
                sweep_every(Duration::from_secs(lease), Duration::from_secs(at_most)),
                Duration::from_secs(expect),
                "{lease}s lease"
            );
        }
    }
}
