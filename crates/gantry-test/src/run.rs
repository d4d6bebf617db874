//! The events of a run, built in code with increasing times, and recording them as a client
//! does.

use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, TimeZone, Utc};
use gantry_model::event::RunInfo;
use gantry_model::{
    LogStream, Pipeline, RunEvent, RunEventKind, RunId, RunResult, Selection, TaskOutcome, TaskPath,
};
use gantry_store::{Store, StoreError};

use crate::pipeline::PipelineBuilder;

/// The sha256 of `hello`.
pub const HELLO_SHA256: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

/// A revision every built run names unless told otherwise.
pub const REVISION: &str = "0123456789abcdef0123456789abcdef01234567";

/// How many runs were built so far in this process: each starts a minute after the last, so
/// that runs sort as they were built.
static RUNS: AtomicI64 = AtomicI64::new(0);

/// Builds the events of one run, each a millisecond after the last.
pub struct RunBuilder {
    pub run_id: RunId,
    pub app: String,
    pub build: u64,
    pub branch: Option<String>,
    /// The revision the run names; [`REVISION`] unless told otherwise.
    pub revision: Option<String>,
    /// Why the run cannot be traced to a revision; `None` for a traceable run.
    pub untraceable_reason: Option<String>,
    pub pipeline: Pipeline,
    /// The time of the last event built.
    pub at: DateTime<Utc>,
}

impl RunBuilder {
    /// Build `build` of `app`, of the [`PipelineBuilder::standard`] pipeline, on `main`.
    pub fn new(app: &str, build: u64) -> Self {
        Self {
            run_id: RunId(uuid::Uuid::now_v7().to_string()),
            app: app.to_owned(),
            build,
            branch: Some("main".to_owned()),
            revision: Some(REVISION.to_owned()),
            untraceable_reason: None,
            pipeline: PipelineBuilder::standard(app).build(),
            at: Utc.with_ymd_and_hms(2025, 5, 1, 12, 0, 0).unwrap()
                + Duration::minutes(RUNS.fetch_add(1, Ordering::Relaxed)),
        }
    }

    /// Queued at `at` (for filters by time, and pages that say "2 minutes ago").
    #[must_use]
    pub fn at(mut self, at: DateTime<Utc>) -> Self {
        self.at = at;
        self
    }

    #[must_use]
    pub fn branch(mut self, branch: &str) -> Self {
        self.branch = Some(branch.to_owned());
        self
    }

    /// On no branch (a detached checkout).
    #[must_use]
    pub fn no_branch(mut self) -> Self {
        self.branch = None;
        self
    }

    /// Of `revision` (40 hex digits, as git names a commit).
    #[must_use]
    pub fn revision(mut self, revision: &str) -> Self {
        self.revision = Some(revision.to_owned());
        self
    }

    /// Run from a tree that cannot be traced to a revision, for `reason`.
    #[must_use]
    pub fn untraceable(mut self, reason: &str) -> Self {
        self.untraceable_reason = Some(reason.to_owned());
        self
    }

    /// Of `pipeline` (its app and version template are the run's).
    #[must_use]
    pub fn pipeline(mut self, pipeline: Pipeline) -> Self {
        self.pipeline = pipeline;
        self
    }

    /// The run's id as text.
    pub fn id(&self) -> &str {
        &self.run_id.0
    }

    /// The version the pipeline's template renders for this build.
    pub fn version(&self) -> String {
        self.pipeline.version.replace("{build}", &self.build.to_string())
    }

    /// Lets `millis` milliseconds pass before the next event.
    pub fn wait(&mut self, millis: i64) {
        self.at += Duration::milliseconds(millis);
    }

    /// An event of any kind, a millisecond after the last.
    pub fn event(&mut self, kind: RunEventKind) -> RunEvent {
        self.at += Duration::milliseconds(1);
        RunEvent {
            id: uuid::Uuid::now_v7().to_string(),
            run_id: self.run_id.clone(),
            at: self.at,
            kind,
        }
    }

    pub fn queued(&mut self) -> RunEvent {
        let info = RunInfo {
            app: self.app.clone(),
            version: self.version(),
            build: self.build,
            revision: self.revision.clone(),
            branch: self.branch.clone(),
            traceable: self.untraceable_reason.is_none(),
            untraceable_reason: self.untraceable_reason.clone(),
            pipeline: self.pipeline.clone(),
            mock: false,
            selection: Selection::All,
            runner: None,
        };
        self.event(RunEventKind::RunQueued(Box::new(info)))
    }

    pub fn started(&mut self) -> RunEvent {
        self.event(RunEventKind::RunStarted)
    }

    pub fn stage_started(&mut self, stage: &str) -> RunEvent {
        self.event(RunEventKind::StageStarted { stage: stage.into() })
    }

    pub fn stage_finished(&mut self, stage: &str, outcome: TaskOutcome) -> RunEvent {
        self.event(RunEventKind::StageFinished {
            stage: stage.into(),
            outcome,
        })
    }

    /// The first attempt of `path` starts.
    pub fn task_started(&mut self, path: &str) -> RunEvent {
        self.attempt_started(path, 1)
    }

    pub fn attempt_started(&mut self, path: &str, attempt: u32) -> RunEvent {
        self.event(RunEventKind::TaskStarted {
            path: TaskPath(path.into()),
            attempt,
        })
    }

    /// A line on stdout.
    pub fn output(&mut self, path: &str, line: &str) -> RunEvent {
        self.output_on(path, LogStream::Stdout, line)
    }

    /// Several lines on stdout in one event, as the engine sends what one read brought.
    pub fn output_lines(&mut self, path: &str, lines: &[String]) -> RunEvent {
        self.event(RunEventKind::TaskOutput {
            path: TaskPath(path.into()),
            stream: LogStream::Stdout,
            lines: lines.to_vec(),
        })
    }

    pub fn output_on(&mut self, path: &str, stream: LogStream, line: &str) -> RunEvent {
        self.event(RunEventKind::TaskOutput {
            path: TaskPath(path.into()),
            stream,
            lines: vec![line.into()],
        })
    }

    /// The first attempt of `path` ends with `outcome` (exit code 0 on success, else 1).
    pub fn task_finished(&mut self, path: &str, outcome: TaskOutcome) -> RunEvent {
        self.attempt_finished(path, 1, outcome, i32::from(outcome != TaskOutcome::Success))
    }

    pub fn attempt_finished(
        &mut self,
        path: &str,
        attempt: u32,
        outcome: TaskOutcome,
        exit_code: i32,
    ) -> RunEvent {
        self.event(RunEventKind::TaskFinished {
            path: TaskPath(path.into()),
            attempt,
            outcome,
            exit_code: Some(exit_code),
            will_retry: false,
            allowed_failure: false,
        })
    }

    pub fn skipped(&mut self, path: &str, reason: &str) -> RunEvent {
        self.event(RunEventKind::TaskSkipped {
            path: TaskPath(path.into()),
            reason: reason.into(),
        })
    }

    /// `path` packaged an artifact `name` with `content`, from a place on the client.
    pub fn artifact(&mut self, path: &str, name: &str, content: &[u8]) -> RunEvent {
        self.event(RunEventKind::ArtifactPackaged {
            path: TaskPath(path.into()),
            name: name.into(),
            source: "/on/the/client/somewhere".into(),
            size: content.len() as u64,
            sha256: sha256(content),
        })
    }

    pub fn finished(&mut self, result: RunResult) -> RunEvent {
        self.event(RunEventKind::RunFinished { result })
    }

    /// A task that starts, prints `lines` lines (`PATH line N`) and succeeds.
    pub fn task(&mut self, path: &str, lines: usize) -> Vec<RunEvent> {
        let mut events = vec![self.task_started(path)];
        for index in 1..=lines {
            events.push(self.output(path, &format!("{path} line {index}")));
        }
        events.push(self.task_finished(path, TaskOutcome::Success));
        events
    }

    /// A whole short run: `build/compile` and `test/unit` with `lines` lines each, then its end
    /// with `result`.
    pub fn complete(&mut self, lines: usize, result: RunResult) -> Vec<RunEvent> {
        let mut events = vec![self.queued(), self.started()];
        events.extend(self.task("build/compile", lines));
        events.extend(self.task("test/unit", lines));
        events.push(self.finished(result));
        events
    }
}

/// Every kind of event of a run of the standard pipeline: setup, a stage with an artifact (the
/// file at `artifact`), a retried task, an allowed failure, a skipped task, `finally`, and the
/// run's end with `result`.
pub fn full_run(
    run: &mut RunBuilder,
    artifact: &Path,
    artifact_sha256: &str,
    result: RunResult,
) -> Vec<RunEvent> {
    let mut events = vec![run.queued(), run.started()];
    events.extend(run.task("setup/tools", 1));
    events.push(run.stage_started("build"));
    events.extend(run.task("build/compile", 3));
    events.push(run.event(RunEventKind::ArtifactPackaged {
        path: TaskPath("build/compile".into()),
        name: "target/release/hello".into(),
        source: artifact.display().to_string(),
        size: std::fs::metadata(artifact).expect("the artifact exists").len(),
        sha256: artifact_sha256.into(),
    }));
    events.push(run.stage_finished("build", TaskOutcome::Success));
    events.push(run.stage_started("test"));
    events.push(run.task_started("test/unit"));
    events.push(run.output_on("test/unit", LogStream::Stderr, "flaky!"));
    events.push(run.event(RunEventKind::TaskFinished {
        path: TaskPath("test/unit".into()),
        attempt: 1,
        outcome: TaskOutcome::Failure,
        exit_code: Some(1),
        will_retry: true,
        allowed_failure: false,
    }));
    events.push(run.attempt_started("test/unit", 2));
    events.push(run.output("test/unit", "ok"));
    events.push(run.attempt_finished("test/unit", 2, TaskOutcome::Success, 0));
    events.push(run.task_started("test/lint"));
    events.push(run.event(RunEventKind::TaskFinished {
        path: TaskPath("test/lint".into()),
        attempt: 1,
        outcome: TaskOutcome::TimedOut,
        exit_code: None,
        will_retry: false,
        allowed_failure: true,
    }));
    events.push(run.skipped("test/deploy", "branch `main` matches none of release/*"));
    events.push(run.stage_finished("test", TaskOutcome::Success));
    events.extend(run.task("finally/notify", 1));
    events.push(run.finished(result));
    events
}

/// The sha256 of `content`, in hex, as artifacts are named.
pub fn sha256(content: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(content))
}

/// Recording as a client does: the build numbers the events' `run_queued` name are allocated
/// first (the store refuses a number it never handed out).
pub trait RecordAllocated {
    fn record_allocated(&self, events: &[RunEvent]) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl RecordAllocated for Store {
    async fn record_allocated(&self, events: &[RunEvent]) -> Result<(), StoreError> {
        loop {
            match self.record(events).await {
                Err(StoreError::BuildRefused { app, reason, .. }) if reason.contains("allocated") => {
                    // The refused number was never handed out, so the counter is below every
                    // number of the app queued here: allocate up to the highest at once (a
                    // batch of many runs then needs one retry, not one per run).
                    let highest = highest_build(events, &app);
                    while self.allocate_build(&app).await? < highest {}
                }
                result => return result,
            }
        }
    }
}

/// The highest build of `app` that the `run_queued` events among `events` name.
pub fn highest_build(events: &[RunEvent], app: &str) -> u64 {
    events
        .iter()
        .filter_map(|event| match &event.kind {
            RunEventKind::RunQueued(info) if info.app == app => Some(info.build),
            _ => None,
        })
        .max()
        .unwrap_or_default()
}
