//! The job queue: a job is one run of a repository at a commit, for an agent that has all of
//! its labels. It carries everything an agent needs (repository, revision, branch, app when
//! known, labels), so the queue knows nothing of where jobs come from.
//!
//! - [`Store::queue_job`] adds a job (`queued`); its run id is chosen then, and its build number
//!   too when its app is known, so that the run is numbered in the order jobs were queued.
//! - [`Store::take_job`] hands the oldest job an agent can run to that agent (`leased`), under
//!   the lease `job:<id>` ([`crate::lease`]): of agents asking at once, through any replica, each
//!   job goes to exactly one (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: one writer).
//! - [`Store::start_job`] tells the job its app, read from `gantry.yml` by the agent, and gives it
//!   its build number if it had none; [`Store::keep_job`] renews the lease (and says whether
//!   someone asked the job to stop); [`Store::complete_job`] ends it. Each names the lease's
//!   fencing number: a holder whose lease was lost is refused ([`LeaseError::Lost`]), so a job
//!   never finishes twice.
//! - [`Store::requeue_lost_jobs`] is the sweep: a job whose lease expired goes back to the queue
//!   as a new attempt. Each attempt is a run of its own: the lost attempt's run is finished
//!   `agent_lost` (and its run lease taken, so its agent can record nothing more in it), it
//!   lets go of the job's build number, and the next attempt records as a new run id with the
//!   same build number. Attempts never share rows; `job_attempts` links them.
//!
//! Every operation takes the time `now` from its caller. The SQL is in
//! [`crate::aggregate::jobs`].

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use chrono::{DateTime, Duration, Utc};
use gantry_model::{RunEvent, RunEventKind, RunId, RunResult};

use crate::aggregate::jobs::{AgentRow, AttemptRow, JobRow, NewJobRow};
use crate::db::Tx;
use crate::error::StoreError;
use crate::lease::{Lease, LeaseError, run_resource};
use crate::query::{corrupt, unsigned};
use crate::recorder;
use crate::store::Store;

/// Labels as `name: value` pairs (`os: linux`); an agent runs a job when it has every one of
/// the job's labels with the same value.
pub type Labels = BTreeMap<String, String>;

/// What a job's lease is called: `job:<id>`.
pub fn job_resource(job_id: &str) -> String {
    format!("job:{job_id}")
}

/// Whether an agent offering `offered` may run a job that needs `needed`.
pub fn labels_match(needed: &Labels, offered: &Labels) -> bool {
    needed
        .iter()
        .all(|(name, value)| offered.get(name) == Some(value))
}

/// Why a job was queued: a kind (`api`, `push`, ...), who asked, and anything more.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trigger {
    pub kind: String,
    pub by: Option<String>,
    pub detail: Option<String>,
}

/// A job to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    /// The app, when the caller knows it; else the agent reads it from `gantry.yml`.
    pub app: Option<String>,
    pub repository: String,
    pub revision: String,
    pub branch: Option<String>,
    pub labels: Labels,
    pub trigger: Trigger,
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Queued,
    Leased,
    Finished,
    Cancelled,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Leased => "leased",
            Self::Finished => "finished",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Queued, Self::Leased, Self::Finished, Self::Cancelled]
            .into_iter()
            .find(|state| state.as_str() == text)
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    pub id: String,
    pub app: Option<String>,
    pub build: Option<u64>,
    /// The run of the current attempt (or of the next one, while queued).
    pub run_id: String,
    pub repository: String,
    pub revision: String,
    pub branch: Option<String>,
    pub labels: Labels,
    pub trigger: Trigger,
    pub state: JobState,
    /// How many attempts started.
    pub attempts: u32,
    /// The agent holding the job, or that held it last.
    pub agent: Option<String>,
    /// How its last attempt ended, once finished (`success`, `failure`, `cancelled`, ...).
    pub result: Option<String>,
    /// Someone asked the job to stop while an agent held it.
    pub cancel_requested: bool,
    pub queued_at: DateTime<Utc>,
    /// Since when it waits: its queueing, or the loss of its last agent.
    pub waiting_since: DateTime<Utc>,
    pub leased_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// One attempt of a job: an agent running it as one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobAttempt {
    pub attempt: u32,
    pub run_id: String,
    pub agent: String,
    pub fencing: i64,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    /// How it ended: the run's result, or `agent_lost`; `None` while it runs.
    pub outcome: Option<String>,
}

/// A job handed to an agent: the job as leased, and the lease to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobLease {
    pub job: JobRecord,
    pub lease: Lease,
}

/// What an agent records its attempt as, once it knows the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobStart {
    pub run_id: String,
    pub app: String,
    pub build: u64,
}

/// An agent as last heard from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentRecord {
    pub name: String,
    pub labels: Labels,
    pub version: Option<String>,
    pub draining: bool,
    pub last_seen_at: DateTime<Utc>,
    /// The jobs it holds now.
    pub jobs: Vec<String>,
}

/// A job operation refused, or failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("no job `{job}`")]
    Unknown { job: String },

    #[error("job `{job}` is for app `{queued}`, but `gantry.yml` at its revision says `{found}`")]
    AppMismatch {
        job: String,
        queued: String,
        found: String,
    },

    #[error(transparent)]
    Lease(#[from] LeaseError),

    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Store {
    /// Queues `job` at `now`; its run id is chosen, and its build number allocated when its
    /// app is known. Agents waiting for work hear of it at once.
    pub async fn queue_job(&self, job: &NewJob, now: DateTime<Utc>) -> Result<JobRecord, StoreError> {
        let id = uuid::Uuid::now_v7().to_string();
        let run_id = uuid::Uuid::now_v7().to_string();
        let labels = labels_json(&job.labels);
        let mut tx = self.db().begin().await?;
        let build = match &job.app {
            Some(app) => Some(unsigned(tx.allocate_build_in(app).await?, "build number")?),
            None => None,
        };
        tx.insert_job(&NewJobRow {
            id: &id,
            app: job.app.as_deref(),
            build,
            run_id: &run_id,
            repository: &job.repository,
            revision: &job.revision,
            branch: job.branch.as_deref(),
            labels: &labels,
            trigger_kind: &job.trigger.kind,
            trigger_by: job.trigger.by.as_deref(),
            trigger_detail: job.trigger.detail.as_deref(),
            at: now,
        })
        .await?;
        // Read before the commit: once committed, an agent may take it at once.
        let queued = tx.job_for_update(&id).await?;
        tx.commit().await?;
        self.tell_waiting_agents().await?;
        queued
            .ok_or_else(|| corrupt("job", format!("`{id}` vanished once queued")))?
            .record()
    }

    /// Hands the oldest queued job whose labels `agent` has to it, under a lease of `ttl` from
    /// `now`; `None` when there is none. Notes the agent as seen, whatever the answer.
    pub async fn take_job(
        &self,
        agent: &str,
        labels: &Labels,
        version: Option<&str>,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<JobLease>, JobError> {
        let offered = labels_json(labels);
        let mut tx = self.db().begin().await?;
        tx.see_agent(agent, &offered, version, false, now).await?;
        let taken = tx
            .take_queued_job(&offered, |needed| {
                parse_labels(needed).is_ok_and(|needed| labels_match(&needed, labels))
            })
            .await?;
        let Some(row) = taken else {
            tx.commit().await?;
            return Ok(None);
        };
        let leased: Result<_, JobError> = async {
            let lease = tx.acquire(&job_resource(&row.id), agent, ttl, now).await?;
            tx.lease_job(&row, agent, lease.fencing, now).await?;
            let job = tx
                .job_for_update(&row.id)
                .await?
                .ok_or_else(|| JobError::Unknown { job: row.id.clone() })?;
            Ok(JobLease {
                job: job.record()?,
                lease,
            })
        }
        .await;
        settle(tx, leased).await.map(Some)
    }

    /// The agent holding `job_id` under `fencing` says which app the job's `gantry.yml`
    /// delivers: the job gets its build number now if it had none. Refused when the lease is
    /// not the holder's any more, or the app is not the one the job was queued for.
    pub async fn start_job(&self, job_id: &str, fencing: i64, app: &str) -> Result<JobStart, JobError> {
        let mut tx = self.db().begin().await?;
        let started: Result<_, JobError> = async {
            let job = tx.held_job(job_id, fencing).await?;
            let build = match (&job.app, job.build) {
                (Some(queued), _) if queued != app => {
                    return Err(JobError::AppMismatch {
                        job: job_id.to_owned(),
                        queued: queued.clone(),
                        found: app.to_owned(),
                    });
                }
                (_, Some(build)) => unsigned(build, "build number")?,
                (_, None) => {
                    let build = unsigned(tx.allocate_build_in(app).await?, "build number")?;
                    tx.set_job_build(job_id, app, build).await?;
                    build
                }
            };
            Ok(JobStart {
                run_id: job.run_id,
                app: app.to_owned(),
                build,
            })
        }
        .await;
        settle(tx, started).await
    }

    /// Renews the lease on `job_id` for `ttl` from `now` if it is still held under `fencing`;
    /// with whether someone asked the job to stop. `draining` notes that its agent takes no
    /// new job.
    pub async fn keep_job(
        &self,
        job_id: &str,
        fencing: i64,
        draining: bool,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<(Lease, bool), JobError> {
        let mut tx = self.db().begin().await?;
        let kept: Result<_, JobError> = async {
            let job = tx
                .job_for_update(job_id)
                .await?
                .ok_or_else(|| JobError::Unknown {
                    job: job_id.to_owned(),
                })?;
            let holder = job.agent.clone().unwrap_or_default();
            let lease = tx
                .renew(&job_resource(job_id), &holder, fencing, ttl, now)
                .await?;
            tx.touch_agent(&holder, draining, now).await?;
            Ok((lease, job.cancel_requested))
        }
        .await;
        settle(tx, kept).await
    }

    /// Ends the job held under `fencing` with `result` (its run's, or `failure` when the run
    /// could not start), and frees its lease. Refused, changing nothing, when the lease is not
    /// the holder's any more: a job finishes once.
    pub async fn complete_job(
        &self,
        job_id: &str,
        fencing: i64,
        result: RunResult,
        now: DateTime<Utc>,
    ) -> Result<JobRecord, JobError> {
        let mut tx = self.db().begin().await?;
        let completed: Result<_, JobError> = async {
            let job = tx.held_job(job_id, fencing).await?;
            let resource = job_resource(job_id);
            let holder = job.agent.clone().unwrap_or_default();
            if !tx.release_lease(&resource, &holder, fencing).await? {
                return Err(tx.lost(&resource, &holder, fencing).await.into());
            }
            let state = if job.cancel_requested && result == RunResult::Cancelled {
                JobState::Cancelled
            } else {
                JobState::Finished
            };
            tx.finish_job(&job, state.as_str(), result.as_str(), now).await?;
            let done = tx
                .job_for_update(job_id)
                .await?
                .ok_or_else(|| JobError::Unknown {
                    job: job_id.to_owned(),
                })?;
            Ok(done.record()?)
        }
        .await;
        settle(tx, completed).await
    }

    /// Stops `job_id`: a queued job is cancelled at once; the agent of a leased one hears it
    /// at its next heartbeat. Whether the job was queued or leased.
    pub async fn cancel_job(&self, job_id: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let mut tx = self.db().begin().await?;
        let changed = tx.cancel_job(job_id, now).await?;
        tx.commit().await?;
        Ok(changed)
    }

    /// The sweep of jobs: each leased job whose lease expired at `now` goes back to the queue
    /// as a new attempt, in the transaction that takes its lease, so that of replicas
    /// sweeping at once exactly one does it and a lease renewed meanwhile is kept. The lost
    /// attempt's run, if it started, is finished `agent_lost`. Returns the ids of the jobs
    /// queued again.
    pub async fn requeue_lost_jobs(&self, now: DateTime<Utc>) -> Result<Vec<String>, StoreError> {
        let mut requeued = Vec::new();
        let mut runs_lost = false;
        for lease in self.expired_leases("job:", now).await? {
            let Some(job_id) = lease.resource.strip_prefix("job:") else {
                continue;
            };
            let mut tx = self.db().begin().await?;
            if !tx.expire_lease(&lease.resource, lease.fencing, now).await? {
                tx.rollback().await?;
                continue;
            }
            let Some(job) = tx.job_for_update(job_id).await? else {
                tx.commit().await?;
                continue;
            };
            if job.state != JobState::Leased.as_str() {
                tx.commit().await?;
                continue;
            }
            tx.end_attempt(&job.id, job.attempts, RunResult::AgentLost.as_str(), now)
                .await?;
            if tx.hold_if_running(&job.run_id).await? {
                let event = RunEvent {
                    id: uuid::Uuid::now_v7().to_string(),
                    run_id: RunId(job.run_id.clone()),
                    at: now,
                    kind: RunEventKind::RunFinished {
                        result: RunResult::AgentLost,
                    },
                };
                recorder::apply(&mut tx, std::slice::from_ref(&event), None, None).await?;
                runs_lost = true;
            }
            tx.take_run_lease(&run_resource(&job.run_id)).await?;
            tx.release_build(&job.run_id).await?;
            tx.requeue_job(&job.id, &uuid::Uuid::now_v7().to_string(), now)
                .await?;
            tx.commit().await?;
            requeued.push(job.id);
        }
        if !requeued.is_empty() {
            self.tell_waiting_agents().await?;
        }
        if runs_lost {
            self.tell_followers().await?;
        }
        Ok(requeued)
    }

    /// The job `job_id`, if any.
    pub async fn job(&self, job_id: &str) -> Result<Option<JobRecord>, StoreError> {
        self.db().job(job_id).await?.map(JobRow::record).transpose()
    }

    /// Jobs in `state`, longest waiting first; every job, newest first, for `None`. At most
    /// `limit`.
    pub async fn jobs(&self, state: Option<JobState>, limit: u32) -> Result<Vec<JobRecord>, StoreError> {
        let rows = self.db().jobs(state.map(JobState::as_str), limit).await?;
        rows.into_iter().map(JobRow::record).collect()
    }

    /// Every attempt of `job_id`, first first.
    pub async fn job_attempts(&self, job_id: &str) -> Result<Vec<JobAttempt>, StoreError> {
        let rows = self.db().job_attempts(job_id).await?;
        Ok(rows.into_iter().map(AttemptRow::record).collect())
    }

    /// Every agent ever heard from, by name, with the jobs each holds.
    pub async fn agents(&self) -> Result<Vec<AgentRecord>, StoreError> {
        let mut held: HashMap<String, Vec<String>> = HashMap::new();
        for job in self.db().jobs(Some(JobState::Leased.as_str()), u32::MAX).await? {
            if let Some(agent) = job.agent {
                held.entry(agent).or_default().push(job.id);
            }
        }
        let rows = self.db().agents().await?;
        rows.into_iter()
            .map(|row| {
                let jobs = held.remove(&row.name).unwrap_or_default();
                row.record(jobs)
            })
            .collect()
    }
}

impl Tx {
    /// The job held under `fencing`, its row locked; refused when the lease is lost.
    async fn held_job(&mut self, job_id: &str, fencing: i64) -> Result<JobRow, JobError> {
        let job = self
            .job_for_update(job_id)
            .await?
            .ok_or_else(|| JobError::Unknown {
                job: job_id.to_owned(),
            })?;
        let resource = job_resource(job_id);
        let holder = job.agent.clone().unwrap_or_default();
        let held = self.lease(&resource).await?.is_some_and(|lease| {
            lease.fencing == fencing && lease.holder.as_deref() == Some(holder.as_str())
        });
        if !held || job.state != JobState::Leased.as_str() {
            return Err(self.lost(&resource, &holder, fencing).await.into());
        }
        Ok(job)
    }
}

/// Commits `tx` when `result` is a success, and rolls it back at once otherwise: a dropped
/// transaction keeps its row locks until its connection is next used, and taking a job skips
/// locked rows, so a refused heartbeat would hide its job from agents meanwhile.
async fn settle<T>(tx: Tx, result: Result<T, JobError>) -> Result<T, JobError> {
    match result {
        Ok(value) => {
            tx.commit().await?;
            Ok(value)
        }
        Err(error) => {
            tx.rollback().await?;
            Err(error)
        }
    }
}

fn labels_json(labels: &Labels) -> String {
    serde_json::to_string(labels).unwrap_or_else(|_| "{}".to_owned())
}

fn parse_labels(text: &str) -> Result<Labels, StoreError> {
    serde_json::from_str(text).map_err(|err| corrupt("labels", format!("`{text}`: {err}")))
}

impl JobRow {
    fn record(self) -> Result<JobRecord, StoreError> {
        Ok(JobRecord {
            labels: parse_labels(&self.labels)?,
            state: JobState::parse(&self.state)
                .ok_or_else(|| corrupt("job state", format!("`{}` is not a job state", self.state)))?,
            build: self
                .build
                .map(|build| unsigned(build, "build number"))
                .transpose()?,
            attempts: u32::try_from(self.attempts).unwrap_or(u32::MAX),
            id: self.id,
            app: self.app,
            run_id: self.run_id,
            repository: self.repository,
            revision: self.revision,
            branch: self.branch,
            trigger: Trigger {
                kind: self.trigger_kind,
                by: self.trigger_by,
                detail: self.trigger_detail,
            },
            agent: self.agent,
            result: self.result,
            cancel_requested: self.cancel_requested,
            queued_at: self.queued_at,
            waiting_since: self.waiting_since,
            leased_at: self.leased_at,
            finished_at: self.finished_at,
        })
    }
}

impl AttemptRow {
    fn record(self) -> JobAttempt {
        JobAttempt {
            attempt: u32::try_from(self.attempt).unwrap_or(u32::MAX),
            run_id: self.run_id,
            agent: self.agent,
            fencing: self.fencing,
            started_at: self.started_at,
            ended_at: self.ended_at,
            outcome: self.outcome,
        }
    }
}

impl AgentRow {
    fn record(self, jobs: Vec<String>) -> Result<AgentRecord, StoreError> {
        Ok(AgentRecord {
            labels: parse_labels(&self.labels)?,
            name: self.name,
            version: self.version,
            draining: self.draining,
            last_seen_at: self.last_seen_at,
            jobs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn a_job_goes_to_an_agent_with_all_its_labels() {
        let rows = [
            (labels(&[]), labels(&[]), true),
            (labels(&[]), labels(&[("os", "linux")]), true),
            (
                labels(&[("os", "linux")]),
                labels(&[("os", "linux"), ("arch", "x86_64")]),
                true,
            ),
            (labels(&[("os", "mac")]), labels(&[("os", "linux")]), false),
            (
                labels(&[("os", "linux"), ("gpu", "yes")]),
                labels(&[("os", "linux")]),
                false,
            ),
        ];
        for (needed, offered, expect) in rows {
            assert_eq!(
                labels_match(&needed, &offered),
                expect,
                "{needed:?} on {offered:?}"
            );
        }
    }
}
