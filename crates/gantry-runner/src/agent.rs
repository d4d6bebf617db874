//! [`serve`]: an agent, pulling jobs from a server and running each with the one code path of
//! every run ([`PreparedRun::execute`]), recording it on the server as `gantry run --server`
//! does.
//!
//! Each of `concurrency` workers asks the server for a job (a long poll), checks its commit out
//! ([`crate::checkout`]), reads the app from its `gantry.yml`, tells the server (which gives
//! the run id and build number to record as), runs it while heartbeats keep the job's lease,
//! and completes the job with the run's result. A job that cannot start (the commit cannot be
//! fetched, the pipeline file is invalid) completes as `failure`, with why.
//!
//! Stopping goes in two steps, told through a [`Phase`]: [`Phase::Draining`] takes no new job
//! and lets the running ones finish; [`Phase::Cancelling`] cancels them too (their `finally`
//! runs, and they are recorded `cancelled`). [`serve`] returns when every worker is done.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use gantry_api::{
    CompleteAnswer, CompleteRequest, JobStart, Lease, LeaseHeartbeat, LeaseHeartbeatAnswer, LeaseRequest,
    RunStatus, StartRequest,
};
use gantry_client::{Client, ClientError, encode};
use gantry_engine::Stop;
use gantry_model::RunResult;
use tokio::sync::watch;

use crate::checkout::Checkouts;
use crate::git::Revision;
use crate::reporter::Silent;
use crate::server::ServerSettings;
use crate::settings::{Destination, RunSettings};
use crate::workspace::Checkout;
use crate::{Error, PreparedRun};

/// How long a stopped task of an agent's run gets between `SIGTERM` and `SIGKILL`.
pub const DEFAULT_GRACE: Duration = gantry_engine::DEFAULT_GRACE;

/// How long a lease request may wait on the server for a job.
const WAIT_SECONDS: u32 = 20;

/// How long an agent waits before asking again when the server is away.
const RETRY: Duration = Duration::from_secs(2);

/// How many times a completion is sent while the server is away before giving up (the job's
/// lease then expires, and the job runs again).
const COMPLETE_ATTEMPTS: u32 = 10;

/// What an agent is doing as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Taking jobs.
    Running,
    /// Finishing the jobs it holds; taking no new one.
    Draining,
    /// Cancelling the jobs it holds.
    Cancelling,
}

/// How an agent runs.
#[derive(Debug, Clone)]
pub struct AgentSettings {
    pub server: ServerSettings,
    /// Its name on the server.
    pub name: String,
    /// What it offers (`os: linux`).
    pub labels: BTreeMap<String, String>,
    /// How many jobs it runs at once.
    pub concurrency: usize,
    /// Where repositories are cached and jobs checked out.
    pub workdir: PathBuf,
    /// How long a stopped task gets between `SIGTERM` and `SIGKILL`.
    pub grace: Duration,
}

/// What an agent did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentReport {
    /// How many jobs it completed.
    pub jobs: usize,
}

/// Runs jobs until `phase` leaves [`Phase::Running`] and the jobs held are done. An error is a
/// refusal no retry mends (the token is not an agent's, the URL is not a server's).
pub async fn serve(settings: AgentSettings, phase: watch::Receiver<Phase>) -> Result<AgentReport, Error> {
    let client = settings.server.client()?;
    let checkouts = Checkouts::new(&settings.workdir);
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..settings.concurrency.max(1) {
        let worker = Worker {
            client: client.clone(),
            settings: settings.clone(),
            checkouts: checkouts.clone(),
            phase: phase.clone(),
            index: worker,
        };
        workers.spawn(worker.run());
    }
    let mut report = AgentReport::default();
    let mut failed = None;
    while let Some(done) = workers.join_next().await {
        match done {
            Ok(Ok(jobs)) => report.jobs += jobs,
            Ok(Err(error)) => {
                failed.get_or_insert(error);
            }
            Err(source) => {
                failed.get_or_insert(Error::Crashed {
                    task: "agent worker",
                    source,
                });
            }
        }
    }
    failed.map_or(Ok(report), Err)
}

/// One job at a time.
struct Worker {
    client: Client,
    settings: AgentSettings,
    checkouts: Checkouts,
    phase: watch::Receiver<Phase>,
    index: usize,
}

impl Worker {
    /// Takes and runs jobs until the agent drains; returns how many it completed.
    async fn run(mut self) -> Result<usize, Error> {
        let request = LeaseRequest {
            agent: self.settings.name.clone(),
            labels: self.settings.labels.clone(),
            version: Some(env!("CARGO_PKG_VERSION").to_owned()),
            wait_seconds: WAIT_SECONDS,
        };
        let mut jobs = 0;
        while *self.phase.borrow() == Phase::Running {
            let asked = tokio::select! {
                asked = lease_job(&self.client, &request) => asked,
                _ = self.phase.changed() => continue,
            };
            match asked {
                Ok(Some(lease)) => {
                    self.run_job(&lease).await;
                    jobs += 1;
                }
                Ok(None) => {}
                Err(error) if error.is_unreachable() => {
                    tracing::warn!(worker = self.index, error = %error, "the server is away; asking again soon");
                    tokio::select! {
                        () = tokio::time::sleep(RETRY) => {}
                        _ = self.phase.changed() => {}
                    }
                }
                Err(error) => return Err(Error::refused(error.to_string())),
            }
        }
        Ok(jobs)
    }

    /// Runs one leased job to its completion.
    async fn run_job(&self, lease: &Lease) {
        tracing::info!(job = %lease.job, attempt = lease.attempt, repository = %lease.repository, revision = %lease.revision, "took a job");
        let stop = Stop::new();
        let keeper = tokio::spawn(keep(
            self.client.clone(),
            lease.clone(),
            stop.clone(),
            self.phase.clone(),
        ));
        let (result, message) = self.attempt(lease, stop).await;
        keeper.abort();
        if let Some(message) = &message {
            tracing::warn!(job = %lease.job, %result, %message, "the job could not run");
        } else {
            tracing::info!(job = %lease.job, %result, "the job ended");
        }
        self.complete(lease, result, message).await;
    }

    /// Checks out, starts and runs the job; its result, and why it could not run if it could not.
    async fn attempt(&self, lease: &Lease, stop: Stop) -> (RunResult, Option<String>) {
        let checkouts = self.checkouts.clone();
        let (repository, revision) = (lease.repository.clone(), lease.revision.clone());
        let name = format!("{}-{}", lease.job, lease.attempt);
        let checked_out =
            tokio::task::spawn_blocking(move || checkouts.checkout(&repository, &revision, &name)).await;
        let dir = match checked_out {
            Ok(Ok(dir)) => dir,
            Ok(Err(error)) => return (RunResult::Failure, Some(chain(&error))),
            Err(error) => return (RunResult::Failure, Some(error.to_string())),
        };
        let mut settings = RunSettings::new(
            Checkout::new(&dir),
            Destination::Server(self.settings.server.clone()),
        );
        settings.branch.clone_from(&lease.branch);
        settings.revision = Some(Revision {
            sha: Some(lease.revision.clone()),
            branch: lease.branch.clone(),
            untraceable: None,
        });
        settings.grace = self.settings.grace;
        let prepared = match PreparedRun::new(settings) {
            Ok(prepared) => prepared,
            Err(error) => return (RunResult::Failure, Some(error.to_string())),
        };
        let path = format!("/api/v1/agent/jobs/{}/start", encode(&lease.job));
        let body = StartRequest {
            fencing: lease.fencing,
            app: prepared.app().to_owned(),
        };
        let start: JobStart = match self.client.post_json(&path, &body, "the job's start").await {
            Ok(start) => start,
            Err(error) => return (RunResult::Failure, Some(error.to_string())),
        };
        tracing::info!(job = %lease.job, run = %start.run_id, app = %start.app, build = start.build, "running");
        let outcome = prepared
            .numbered(start.run_id, start.build)
            .execute(&mut Silent, stop)
            .await;
        match outcome {
            Ok(outcome) => {
                // What the server did not take yet waits in the spool, in the job's directory.
                if outcome.unsent.is_none() {
                    self.checkouts.remove(&dir);
                }
                (outcome.result, None)
            }
            Err(Error::Cancelled) => (RunResult::Cancelled, None),
            Err(error) => (RunResult::Failure, Some(error.to_string())),
        }
    }

    /// Tells the server how the job ended, trying again while it is away.
    async fn complete(&self, lease: &Lease, result: RunResult, message: Option<String>) {
        let path = format!("/api/v1/agent/jobs/{}/complete", encode(&lease.job));
        let body = CompleteRequest {
            fencing: lease.fencing,
            result: run_status(result),
            message,
        };
        for _ in 0..COMPLETE_ATTEMPTS {
            match self
                .client
                .post_json::<_, CompleteAnswer>(&path, &body, "the job's completion")
                .await
            {
                Ok(_) => return,
                Err(error) if error.is_unreachable() => tokio::time::sleep(RETRY).await,
                Err(error) => {
                    tracing::warn!(job = %lease.job, error = %error, "the server refused the job's completion");
                    return;
                }
            }
        }
        tracing::warn!(job = %lease.job, "the server stayed away: the job's lease will expire and it will run again");
    }
}

/// Keeps the job's lease while it runs, a third of a lease apart; stops the run when the
/// server says so (cancelled, or the lease was lost) or the agent is cancelling.
async fn keep(client: Client, lease: Lease, stop: Stop, mut phase: watch::Receiver<Phase>) {
    let every = Duration::from_secs(lease.lease_seconds.max(3) / 3);
    let path = format!("/api/v1/agent/jobs/{}/heartbeat", encode(&lease.job));
    loop {
        if *phase.borrow() == Phase::Cancelling {
            stop.cancel();
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            changed = phase.changed() => {
                if changed.is_err() {
                    tokio::time::sleep(every).await;
                }
                continue;
            }
        }
        let body = LeaseHeartbeat {
            fencing: lease.fencing,
            draining: *phase.borrow() != Phase::Running,
        };
        match client
            .post_json::<_, LeaseHeartbeatAnswer>(&path, &body, "the job's heartbeat")
            .await
        {
            Ok(answer) if answer.cancel => {
                tracing::info!(job = %lease.job, "the job was cancelled on the server");
                stop.cancel();
            }
            Ok(_) => {}
            Err(error) if error.is_unreachable() => {
                tracing::warn!(job = %lease.job, error = %error, "the server is away; the job goes on");
            }
            Err(error) => {
                tracing::warn!(job = %lease.job, error = %error, "the job's lease is lost: stopping it");
                stop.cancel();
                return;
            }
        }
    }
}

/// Asks for a job, waiting up to [`WAIT_SECONDS`] on the server.
async fn lease_job(client: &Client, request: &LeaseRequest) -> Result<Option<Lease>, ClientError> {
    client
        .post_json_or_nothing(
            "/api/v1/agent/lease",
            request,
            "a job",
            Duration::from_secs(u64::from(WAIT_SECONDS)),
        )
        .await
}

fn run_status(result: RunResult) -> RunStatus {
    match result {
        RunResult::Success => RunStatus::Success,
        RunResult::Failure => RunStatus::Failure,
        RunResult::Cancelled => RunStatus::Cancelled,
        RunResult::Interrupted => RunStatus::Interrupted,
        RunResult::AgentLost => RunStatus::AgentLost,
    }
}

/// An error and its causes, on one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
