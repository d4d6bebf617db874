//! Jobs: the queue (`jobs`), each job's attempts (`job_attempts`), and the agents that take
//! them (`agents`). The rules (who takes which job, what a lost agent changes) are in
//! [`crate::job`].
//!
//! Taking a job is where the two databases differ: PostgreSQL locks the oldest queued job whose
//! labels the agent has with `FOR UPDATE SKIP LOCKED` (containment of `JSONB` labels, `<@`), so
//! that replicas taking jobs at once each lock a different one and nobody waits; SQLite runs one
//! writer at a time, so the writer reads the queued jobs and picks the first that matches.
//!
//! Schema: `migrations/*/0014_jobs.sql`.

use chrono::{DateTime, Utc};

use crate::db::{Arg, Db, Sql, Statements, Tx};
use crate::error::StoreError;

/// A `jobs` row as both databases read it (labels as JSON text).
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct JobRow {
    pub id: String,
    pub app: Option<String>,
    pub build: Option<i64>,
    pub run_id: String,
    pub repository: String,
    pub revision: String,
    pub branch: Option<String>,
    pub labels: String,
    pub trigger_kind: String,
    pub trigger_by: Option<String>,
    pub trigger_detail: Option<String>,
    pub state: String,
    pub attempts: i64,
    pub agent: Option<String>,
    pub result: Option<String>,
    pub cancel_requested: bool,
    pub queued_at: DateTime<Utc>,
    pub waiting_since: DateTime<Utc>,
    pub leased_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// The columns of [`JobRow`], labels read as text on both databases.
macro_rules! job_columns {
    () => {
        "id, app, build, run_id, repository, revision, branch, CAST(labels AS TEXT) AS labels, trigger_kind, \
         trigger_by, trigger_detail, state, attempts, agent, result, cancel_requested, queued_at, waiting_since, \
         leased_at, finished_at"
    };
}

/// A `job_attempts` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AttemptRow {
    pub attempt: i64,
    pub run_id: String,
    pub agent: String,
    pub fencing: i64,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub outcome: Option<String>,
}

const ATTEMPT_COLUMNS: &str = "attempt, run_id, agent, fencing, started_at, ended_at, outcome";

/// An `agents` row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AgentRow {
    pub name: String,
    pub labels: String,
    pub version: Option<String>,
    pub draining: bool,
    pub last_seen_at: DateTime<Utc>,
}

/// A job to insert.
#[derive(Debug)]
pub(crate) struct NewJobRow<'a> {
    pub id: &'a str,
    pub app: Option<&'a str>,
    pub build: Option<u64>,
    pub run_id: &'a str,
    pub repository: &'a str,
    pub revision: &'a str,
    pub branch: Option<&'a str>,
    pub labels: &'a str,
    pub trigger_kind: &'a str,
    pub trigger_by: Option<&'a str>,
    pub trigger_detail: Option<&'a str>,
    pub at: DateTime<Utc>,
}

impl Tx {
    pub(crate) async fn insert_job(&mut self, job: &NewJobRow<'_>) -> Result<(), StoreError> {
        self.execute(
            "queue a job",
            Sql::both(
                "INSERT INTO jobs (id, app, build, run_id, repository, revision, branch, labels, trigger_kind,
                                   trigger_by, trigger_detail, state, attempts, queued_at, waiting_since)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'queued', 0, $12, $12)",
            ),
            &[
                job.id.into(),
                job.app.into(),
                job.build.map(|build| i64::try_from(build).unwrap_or(i64::MAX)).into(),
                job.run_id.into(),
                job.repository.into(),
                job.revision.into(),
                job.branch.into(),
                Arg::Json(job.labels),
                job.trigger_kind.into(),
                job.trigger_by.into(),
                job.trigger_detail.into(),
                job.at.into(),
            ],
        )
        .await?;
        Ok(())
    }

    /// The job, its row locked until the transaction ends on PostgreSQL (SQLite's writer holds
    /// the whole file already).
    pub(crate) async fn job_for_update(&mut self, id: &str) -> Result<Option<JobRow>, StoreError> {
        let sqlite = concat!("SELECT ", job_columns!(), " FROM jobs WHERE id = $1");
        let postgres = concat!("SELECT ", job_columns!(), " FROM jobs WHERE id = $1 FOR UPDATE");
        self.fetch_optional("read a job", Sql::each(sqlite, postgres), &[id.into()])
            .await
    }

    /// The oldest queued job whose labels are all among `labels` (a JSON object), locked:
    /// on PostgreSQL a job another transaction holds is skipped, never waited for.
    pub(crate) async fn take_queued_job(
        &mut self,
        labels: &str,
        matches: impl Fn(&str) -> bool,
    ) -> Result<Option<JobRow>, StoreError> {
        match self {
            Tx::Postgres(_) => {
                self.fetch_optional(
                    "take a queued job",
                    Sql::both(concat!(
                        "SELECT ",
                        job_columns!(),
                        " FROM jobs WHERE state = 'queued' AND labels <@ $1
                         ORDER BY waiting_since, id LIMIT 1 FOR UPDATE SKIP LOCKED"
                    )),
                    &[Arg::Json(labels)],
                )
                .await
            }
            Tx::Sqlite(_) => {
                let queued: Vec<JobRow> = self
                    .fetch_all(
                        "read the queued jobs",
                        Sql::both(concat!(
                            "SELECT ",
                            job_columns!(),
                            " FROM jobs WHERE state = 'queued' ORDER BY waiting_since, id"
                        )),
                        &[],
                    )
                    .await?;
                Ok(queued.into_iter().find(|job| matches(&job.labels)))
            }
        }
    }

    /// Hands the job to `agent`: its next attempt starts, as the run the job names.
    pub(crate) async fn lease_job(
        &mut self,
        job: &JobRow,
        agent: &str,
        fencing: i64,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.execute(
            "lease a job",
            Sql::both(
                "UPDATE jobs SET state = 'leased', attempts = attempts + 1, agent = $2, leased_at = $3
                 WHERE id = $1",
            ),
            &[job.id.as_str().into(), agent.into(), at.into()],
        )
        .await?;
        self.execute(
            "record a job's attempt",
            Sql::both(
                "INSERT INTO job_attempts (job_id, attempt, run_id, agent, fencing, started_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            ),
            &[
                job.id.as_str().into(),
                (job.attempts + 1).into(),
                job.run_id.as_str().into(),
                agent.into(),
                fencing.into(),
                at.into(),
            ],
        )
        .await?;
        Ok(())
    }

    /// Gives the job its app and build number, once known.
    pub(crate) async fn set_job_build(&mut self, id: &str, app: &str, build: u64) -> Result<(), StoreError> {
        self.execute(
            "record a job's build number",
            Sql::both("UPDATE jobs SET app = $2, build = $3 WHERE id = $1"),
            &[id.into(), app.into(), build.into()],
        )
        .await?;
        Ok(())
    }

    /// The next build number of `app`, in this transaction.
    pub(crate) async fn allocate_build_in(&mut self, app: &str) -> Result<i64, StoreError> {
        let (last,): (i64,) = self
            .fetch_one(
                "allocate a build number",
                Sql::both(
                    "INSERT INTO build_numbers (app, last) VALUES ($1, 1)
                     ON CONFLICT (app) DO UPDATE SET last = build_numbers.last + 1
                     RETURNING last",
                ),
                &[app.into()],
            )
            .await?;
        Ok(last)
    }

    /// Ends the job's current attempt with `outcome`, and the job with `state` and `result`.
    pub(crate) async fn finish_job(
        &mut self,
        job: &JobRow,
        state: &str,
        result: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.end_attempt(&job.id, job.attempts, result, at).await?;
        self.execute(
            "finish a job",
            Sql::both("UPDATE jobs SET state = $2, result = $3, finished_at = $4 WHERE id = $1"),
            &[job.id.as_str().into(), state.into(), result.into(), at.into()],
        )
        .await?;
        Ok(())
    }

    pub(crate) async fn end_attempt(
        &mut self,
        job_id: &str,
        attempt: i64,
        outcome: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.execute(
            "end a job's attempt",
            Sql::both(
                "UPDATE job_attempts SET outcome = $3, ended_at = $4
                 WHERE job_id = $1 AND attempt = $2 AND outcome IS NULL",
            ),
            &[job_id.into(), attempt.into(), outcome.into(), at.into()],
        )
        .await?;
        Ok(())
    }

    /// Puts a job whose agent was lost back in the queue, to be run as `run_id` next.
    pub(crate) async fn requeue_job(
        &mut self,
        job_id: &str,
        run_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.execute(
            "queue a job again",
            Sql::both(
                "UPDATE jobs SET state = 'queued', run_id = $2, waiting_since = $3, leased_at = NULL
                 WHERE id = $1",
            ),
            &[job_id.into(), run_id.into(), at.into()],
        )
        .await?;
        Ok(())
    }

    /// Marks a queued job cancelled, or asks the agent of a leased one to stop; whether the job
    /// was still queued or leased.
    pub(crate) async fn cancel_job(&mut self, id: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let cancelled = self
            .execute(
                "cancel a queued job",
                Sql::both(
                    "UPDATE jobs SET state = 'cancelled', result = 'cancelled', finished_at = $2
                     WHERE id = $1 AND state = 'queued'",
                ),
                &[id.into(), at.into()],
            )
            .await?;
        let asked = self
            .execute(
                "ask the agent of a job to stop",
                Sql::both("UPDATE jobs SET cancel_requested = TRUE WHERE id = $1 AND state = 'leased'"),
                &[id.into()],
            )
            .await?;
        Ok(cancelled + asked > 0)
    }

    /// Frees a run's lease whoever holds it: the run belongs to an attempt that was lost, and
    /// its holder must be refused from now on.
    pub(crate) async fn take_run_lease(&mut self, resource: &str) -> Result<(), StoreError> {
        self.execute(
            "take a lost attempt's run lease",
            Sql::both("UPDATE leases SET holder = NULL WHERE resource = $1"),
            &[resource.into()],
        )
        .await?;
        Ok(())
    }

    /// Lets go of the build number a lost attempt's run holds, so that the next attempt's run
    /// takes it (the lost run keeps its number in its row, for its history).
    pub(crate) async fn release_build(&mut self, run_id: &str) -> Result<(), StoreError> {
        self.execute(
            "release a lost run's build number",
            Sql::both("DELETE FROM run_builds WHERE run_id = $1"),
            &[run_id.into()],
        )
        .await?;
        Ok(())
    }

    /// Whether `run_id` is the run of an attempt that was lost: nothing more is recorded for it.
    pub(crate) async fn is_lost_attempt(&mut self, run_id: &str) -> Result<bool, StoreError> {
        let found: Option<(String,)> = self
            .fetch_optional(
                "check a run's job attempt",
                Sql::both("SELECT outcome FROM job_attempts WHERE run_id = $1 AND outcome = 'agent_lost'"),
                &[run_id.into()],
            )
            .await?;
        Ok(found.is_some())
    }

    /// Notes that the agent `name`, offering `labels` (a JSON object), asked for work at `at`.
    pub(crate) async fn see_agent(
        &mut self,
        name: &str,
        labels: &str,
        version: Option<&str>,
        draining: bool,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.execute(
            "record an agent",
            Sql::both(
                "INSERT INTO agents (name, labels, version, draining, last_seen_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (name) DO UPDATE
                     SET labels = excluded.labels, version = excluded.version,
                         draining = excluded.draining, last_seen_at = excluded.last_seen_at",
            ),
            &[
                name.into(),
                Arg::Json(labels),
                version.into(),
                draining.into(),
                at.into(),
            ],
        )
        .await?;
        Ok(())
    }

    /// Notes that the agent `name` kept a job at `at` (and whether it is draining).
    pub(crate) async fn touch_agent(
        &mut self,
        name: &str,
        draining: bool,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.execute(
            "record an agent's heartbeat",
            Sql::both("UPDATE agents SET draining = $2, last_seen_at = $3 WHERE name = $1"),
            &[name.into(), draining.into(), at.into()],
        )
        .await?;
        Ok(())
    }
}

impl Db {
    pub(crate) async fn job(&self, id: &str) -> Result<Option<JobRow>, StoreError> {
        self.connection()
            .await?
            .fetch_optional(
                "read a job",
                Sql::both(concat!("SELECT ", job_columns!(), " FROM jobs WHERE id = $1")),
                &[id.into()],
            )
            .await
    }

    /// Jobs in `state`, oldest first, or every job when `None` (newest first), up to `limit`.
    pub(crate) async fn jobs(&self, state: Option<&str>, limit: u32) -> Result<Vec<JobRow>, StoreError> {
        let mut conn = self.connection().await?;
        match state {
            Some(state) => {
                conn.fetch_all(
                    "list jobs",
                    Sql::both(concat!(
                        "SELECT ",
                        job_columns!(),
                        " FROM jobs WHERE state = $1 ORDER BY waiting_since, id LIMIT $2"
                    )),
                    &[state.into(), limit.into()],
                )
                .await
            }
            None => {
                conn.fetch_all(
                    "list jobs",
                    Sql::both(concat!(
                        "SELECT ",
                        job_columns!(),
                        " FROM jobs ORDER BY queued_at DESC, id DESC LIMIT $1"
                    )),
                    &[limit.into()],
                )
                .await
            }
        }
    }

    pub(crate) async fn job_attempts(&self, job_id: &str) -> Result<Vec<AttemptRow>, StoreError> {
        let sql = format!("SELECT {ATTEMPT_COLUMNS} FROM job_attempts WHERE job_id = $1 ORDER BY attempt");
        self.connection()
            .await?
            .fetch_all("list a job's attempts", Sql::both(&sql), &[job_id.into()])
            .await
    }

    pub(crate) async fn agents(&self) -> Result<Vec<AgentRow>, StoreError> {
        self.connection()
            .await?
            .fetch_all(
                "list agents",
                Sql::both(
                    "SELECT name, CAST(labels AS TEXT) AS labels, version, draining, last_seen_at
                     FROM agents ORDER BY name",
                ),
                &[],
            )
            .await
    }
}
