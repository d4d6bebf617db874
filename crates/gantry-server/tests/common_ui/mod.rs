//! What the web UI's tests share: a store in a temporary directory, seeded by recording
//! run events as the engine would; the router in front of it, driven with `oneshot` or served on
//! a loopback port; and a headless Chromium driven over WebDriver.

#![allow(dead_code)] // each test file uses a different part

pub mod browser;

use std::path::PathBuf;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use chrono::{DateTime, Duration, Utc};
use gantry_model::event::RunInfo;
use gantry_model::{
    LogStream, Pipeline, RunEvent, RunEventKind, RunId, RunResult, Stage, Task, TaskKind, TaskOutcome,
    TaskPath, Traceability,
};
use gantry_server::AppState;
use gantry_store::Store;
use http_body_util::BodyExt;
use tempfile::TempDir;
use tower::ServiceExt;

/// A store in a fresh temporary directory, removed when dropped.
pub struct TestStore {
    pub store: Store,
    pub dir: TempDir,
}

impl TestStore {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("data/gantry.db").display());
        let store = Store::open(&url).await.unwrap();
        Self { store, dir }
    }

    /// The whole server's router in front of this store, readable without a token.
    pub fn router(&self) -> Router {
        gantry_server::router::router(AppState::new(self.store.clone()).anonymous_read(true))
    }

    /// Writes `contents` to a file in the temporary directory, returning its path.
    pub fn file(&self, name: &str, contents: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// Records `events`, first allocating build numbers up to each queued run's, as the engine
    /// would have before queueing it.
    pub async fn record(&self, events: &[RunEvent]) {
        for event in events {
            if let RunEventKind::RunQueued(info) = &event.kind {
                while self.store.allocate_build(&info.app).await.unwrap() < info.build {}
            }
        }
        self.store.record(events).await.unwrap();
    }
}

/// A response, read whole.
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    }

    /// Fails with the page's text when `needle` is not on it.
    #[track_caller]
    pub fn has(&self, needle: &str) -> &Self {
        assert!(
            self.body.contains(needle),
            "expected `{needle}` on the page:\n{}",
            self.body
        );
        self
    }

    #[track_caller]
    pub fn lacks(&self, needle: &str) -> &Self {
        assert!(
            !self.body.contains(needle),
            "expected no `{needle}` on the page:\n{}",
            self.body
        );
        self
    }
}

/// `GET uri` through `router`, read whole.
pub async fn get(router: &Router, uri: &str) -> Page {
    let response = router
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Page {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

/// The pipeline of the product brief: setup, a build with an artifact, a parallel test stage
/// with a serial group, a deployment, and finally.
pub fn pipeline(app: &str) -> Pipeline {
    let stage = |name: &str, parallel: bool, tasks: Vec<Task>| Stage {
        name: name.into(),
        parallel,
        when: None,
        tasks,
    };
    let mut acceptance = Task::script("acceptance", "");
    acceptance.kind = TaskKind::Group {
        tasks: vec![
            Task::script("start", "./ci/start.sh"),
            Task::script("check", "./ci/acceptance.sh"),
        ],
    };
    Pipeline {
        app: app.into(),
        version: "1.4.{build}".into(),
        env: std::iter::empty().collect(),
        secrets: Vec::new(),
        traceable: Traceability::Optional,
        setup: vec![Task::script("tools", "./ci/check-tools.sh")],
        stages: vec![
            stage(
                "build",
                false,
                vec![Task::script("compile", "cargo build --release")],
            ),
            stage("test", true, vec![Task::script("unit", "cargo test"), acceptance]),
            stage(
                "staging",
                false,
                vec![Task::script("deploy", "./ci/deploy.sh staging")],
            ),
        ],
        finally: vec![Task::script("notify", "./ci/notify.sh")],
    }
}

/// Every task of [`pipeline`], in the order the engine runs them.
pub const TASKS: [&str; 7] = [
    "setup/tools",
    "build/compile",
    "test/unit",
    "test/acceptance/start",
    "test/acceptance/check",
    "staging/deploy",
    "finally/notify",
];

/// Builds the events of one run; each event is a little later than the one before.
pub struct RunBuilder {
    pub run_id: RunId,
    pub app: String,
    pub build: u64,
    pub branch: Option<String>,
    pub revision: Option<String>,
    pub untraceable_reason: Option<String>,
    pub pipeline: Pipeline,
    pub at: DateTime<Utc>,
}

impl RunBuilder {
    /// A run of [`pipeline`] queued at `at`.
    pub fn new(app: &str, build: u64, at: DateTime<Utc>) -> Self {
        Self {
            run_id: RunId(uuid::Uuid::now_v7().to_string()),
            app: app.into(),
            build,
            branch: Some("main".into()),
            revision: Some(revision(&format!("{app}#{build}"))),
            untraceable_reason: None,
            pipeline: pipeline(app),
            at,
        }
    }

    pub fn id(&self) -> &str {
        &self.run_id.0
    }

    /// Moves the clock on.
    pub fn wait(&mut self, millis: i64) {
        self.at += Duration::milliseconds(millis);
    }

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
            version: format!("1.4.{}", self.build),
            build: self.build,
            revision: self.revision.clone(),
            branch: self.branch.clone(),
            traceable: self.untraceable_reason.is_none(),
            untraceable_reason: self.untraceable_reason.clone(),
            pipeline: self.pipeline.clone(),
            mock: false,
            selection: gantry_model::Selection::All,
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

    pub fn task_started(&mut self, path: &str) -> RunEvent {
        self.event(RunEventKind::TaskStarted {
            path: TaskPath(path.into()),
            attempt: 1,
        })
    }

    pub fn output(&mut self, path: &str, stream: LogStream, line: &str) -> RunEvent {
        self.event(RunEventKind::TaskOutput {
            path: TaskPath(path.into()),
            stream,
            line: line.into(),
        })
    }

    pub fn task_finished(&mut self, path: &str, outcome: TaskOutcome) -> RunEvent {
        let exit_code = match outcome {
            TaskOutcome::Success => Some(0),
            TaskOutcome::Failure => Some(101),
            _ => None,
        };
        self.event(RunEventKind::TaskFinished {
            path: TaskPath(path.into()),
            attempt: 1,
            outcome,
            exit_code,
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

    pub fn finished(&mut self, result: RunResult) -> RunEvent {
        self.event(RunEventKind::RunFinished { result })
    }

    /// A task that starts, writes `lines`, takes `millis` and ends with `outcome`.
    pub fn task(
        &mut self,
        path: &str,
        lines: &[(LogStream, &str)],
        millis: i64,
        outcome: TaskOutcome,
    ) -> Vec<RunEvent> {
        let mut events = vec![self.task_started(path)];
        let step = millis / i64::try_from(lines.len() + 1).unwrap();
        for (stream, line) in lines {
            self.wait(step);
            events.push(self.output(path, *stream, line));
        }
        self.wait(step);
        events.push(self.task_finished(path, outcome));
        events
    }
}

/// Plausible output of each task of [`pipeline`].
pub fn output_of(path: &str) -> Vec<(LogStream, &'static str)> {
    use LogStream::{Stderr, Stdout};
    match path {
        "setup/tools" => vec![
            (Stdout, "cargo 1.95.0"),
            (Stdout, "git version 2.39.5"),
            (Stdout, "all tools present"),
        ],
        "build/compile" => vec![
            (Stderr, "   Compiling serde v1.0.228"),
            (Stderr, "   Compiling tokio v1.54.1"),
            (Stderr, "   Compiling hello v0.1.0 (/work/hello)"),
            (
                Stderr,
                "    Finished `release` profile [optimized] target(s) in 41.27s",
            ),
        ],
        "test/unit" => vec![
            (Stdout, "running 48 tests"),
            (Stdout, "test config::parses_defaults ... ok"),
            (Stdout, "test routes::health_is_ok ... ok"),
            (
                Stdout,
                "test result: ok. 48 passed; 0 failed; 0 ignored; finished in 0.84s",
            ),
        ],
        "test/acceptance/start" => vec![
            (Stdout, "starting hello on 127.0.0.1:8080"),
            (Stdout, "ready after 1.2s"),
        ],
        "test/acceptance/check" => vec![
            (Stdout, "GET /health 200"),
            (Stdout, "GET /hello 200"),
            (Stdout, "12 checks passed"),
        ],
        "staging/deploy" => vec![
            (Stdout, "deploying hello 1.4 to staging (2 hosts)"),
            (Stdout, "staging healthy"),
        ],
        _ => vec![(Stdout, "done")],
    }
}

/// The events of a whole run of [`pipeline`] that ends with `result`; a failed run fails at
/// `test/unit`, with an error on stderr.
pub fn whole_run(run: &mut RunBuilder, result: RunResult) -> Vec<RunEvent> {
    use TaskOutcome::{Failure, Skipped, Success};
    let mut events = vec![run.queued(), run.started()];
    events.push(run.stage_started("setup"));
    events.extend(run.task("setup/tools", &output_of("setup/tools"), 1_200, Success));
    events.push(run.stage_finished("setup", Success));
    events.push(run.stage_started("build"));
    events.extend(run.task("build/compile", &output_of("build/compile"), 48_000, Success));
    events.push(run.stage_finished("build", Success));
    events.push(run.stage_started("test"));
    let failing = result == RunResult::Failure;
    if failing {
        events.extend(run.task(
            "test/unit",
            &[
                (LogStream::Stdout, "running 48 tests"),
                (LogStream::Stdout, "test payments::refund_rounds_down ... FAILED"),
                (
                    LogStream::Stderr,
                    "thread 'payments::refund_rounds_down' panicked at src/payments.rs:88:9:",
                ),
                (
                    LogStream::Stderr,
                    "assertion `left == right` failed: refund of 10.005 EUR",
                ),
                (
                    LogStream::Stdout,
                    "test result: FAILED. 47 passed; 1 failed; 0 ignored",
                ),
            ],
            9_000,
            Failure,
        ));
    } else {
        events.extend(run.task("test/unit", &output_of("test/unit"), 9_000, Success));
    }
    events.extend(run.task(
        "test/acceptance/start",
        &output_of("test/acceptance/start"),
        2_000,
        Success,
    ));
    events.extend(run.task(
        "test/acceptance/check",
        &output_of("test/acceptance/check"),
        6_500,
        Success,
    ));
    events.push(run.stage_finished("test", if failing { Failure } else { Success }));
    events.push(run.stage_started("staging"));
    if failing {
        events.push(run.skipped("staging/deploy", "stage `test` failed"));
        events.push(run.stage_finished("staging", Skipped));
    } else {
        events.extend(run.task("staging/deploy", &output_of("staging/deploy"), 21_000, Success));
        events.push(run.stage_finished("staging", Success));
    }
    events.push(run.stage_started("finally"));
    events.extend(run.task("finally/notify", &output_of("finally/notify"), 400, Success));
    events.push(run.stage_finished("finally", Success));
    events.push(run.finished(result));
    events
}

/// The events of a run of [`pipeline`] caught in the middle of its `test` stage: `test/unit`
/// running, `test/acceptance/start` done, `test/acceptance/check` running.
pub fn running_run(run: &mut RunBuilder) -> Vec<RunEvent> {
    use TaskOutcome::Success;
    let mut events = vec![run.queued(), run.started()];
    events.push(run.stage_started("setup"));
    events.extend(run.task("setup/tools", &output_of("setup/tools"), 1_100, Success));
    events.push(run.stage_finished("setup", Success));
    events.push(run.stage_started("build"));
    events.extend(run.task("build/compile", &output_of("build/compile"), 45_000, Success));
    events.push(run.stage_finished("build", Success));
    events.push(run.stage_started("test"));
    events.push(run.task_started("test/unit"));
    events.push(run.output("test/unit", LogStream::Stdout, "running 48 tests"));
    events.push(run.output(
        "test/unit",
        LogStream::Stdout,
        "test config::parses_defaults ... ok",
    ));
    events.extend(run.task(
        "test/acceptance/start",
        &output_of("test/acceptance/start"),
        2_000,
        Success,
    ));
    events.push(run.task_started("test/acceptance/check"));
    events
}

/// Ends what [`running_run`] began, successfully.
pub fn finish_running_run(run: &mut RunBuilder) -> Vec<RunEvent> {
    use TaskOutcome::Success;
    let mut events = vec![
        run.output(
            "test/unit",
            LogStream::Stdout,
            "test result: ok. 48 passed; 0 failed",
        ),
        run.task_finished("test/unit", Success),
        run.output("test/acceptance/check", LogStream::Stdout, "12 checks passed"),
        run.task_finished("test/acceptance/check", Success),
        run.stage_finished("test", Success),
        run.stage_started("staging"),
    ];
    events.extend(run.task("staging/deploy", &output_of("staging/deploy"), 3_000, Success));
    events.push(run.stage_finished("staging", Success));
    events.push(run.stage_started("finally"));
    events.extend(run.task("finally/notify", &output_of("finally/notify"), 300, Success));
    events.push(run.stage_finished("finally", Success));
    events.push(run.finished(RunResult::Success));
    events
}

/// What [`seed_demo`] recorded.
pub struct Demo {
    /// `hello`'s newest run, a success with an artifact.
    pub hello_latest: String,
    /// `payments`' newest run, failed at `test/unit`.
    pub payments_failed: String,
    /// `web-frontend`'s newest run, still running.
    pub running: RunBuilder,
}

/// A few apps with a history: `hello` (24 runs, newest a success with an artifact),
/// `payments` (12 runs, newest failed at `test/unit`), `web-frontend` (8 runs, newest running)
/// and `docs` (one untraceable run from a dirty tree). Times are relative to now, so the
/// pages read as they would on a working day.
pub async fn seed_demo(store: &TestStore) -> Demo {
    let now = Utc::now();
    let artifact = store.file("hello", b"the hello binary\n");
    let mut hello_latest = String::new();
    for build in 1..=24_u64 {
        let at = now - Duration::minutes(i64::try_from(25 - build).unwrap() * 47 + 30);
        let mut run = RunBuilder::new("hello", build, at);
        if build % 5 == 0 {
            run.branch = Some(format!("feature/greeting-{build}"));
        }
        let result = match build {
            7 | 13 | 14 => RunResult::Failure,
            18 => RunResult::Cancelled,
            _ => RunResult::Success,
        };
        let mut events = whole_run(&mut run, result);
        if build == 24 {
            let finished = events.pop().unwrap();
            let digest = sha256_of(&artifact);
            events.push(run.event(RunEventKind::ArtifactPackaged {
                path: TaskPath("build/compile".into()),
                name: "target/release/hello".into(),
                source: artifact.display().to_string(),
                size: std::fs::metadata(&artifact).unwrap().len(),
                sha256: digest,
            }));
            events.push(finished);
            hello_latest = run.id().to_owned();
        }
        store.record(&events).await;
    }
    let mut payments_failed = String::new();
    for build in 1..=12_u64 {
        let at = now - Duration::minutes(i64::try_from(13 - build).unwrap() * 95 + 12);
        let mut run = RunBuilder::new("payments", build, at);
        let result = if build == 12 || build == 4 {
            RunResult::Failure
        } else {
            RunResult::Success
        };
        store.record(&whole_run(&mut run, result)).await;
        if build == 12 {
            payments_failed = run.id().to_owned();
        }
    }
    for build in 1..=7_u64 {
        let at = now - Duration::minutes(i64::try_from(8 - build).unwrap() * 180 + 5);
        let mut run = RunBuilder::new("web-frontend", build, at);
        store.record(&whole_run(&mut run, RunResult::Success)).await;
    }
    let mut running = RunBuilder::new("web-frontend", 8, now - Duration::seconds(70));
    store.record(&running_run(&mut running)).await;
    let mut docs = RunBuilder::new("docs", 1, now - Duration::days(2));
    docs.branch = Some("wip".into());
    docs.untraceable_reason = Some("the working tree has uncommitted changes".into());
    store.record(&whole_run(&mut docs, RunResult::Success)).await;
    Demo {
        hello_latest,
        payments_failed,
        running,
    }
}

/// A made-up revision for `seed`: 40 hex digits that look like a commit's.
pub fn revision(seed: &str) -> String {
    // FNV-1a, twice with different offsets: enough spread for test data.
    let hash = |offset: u64| {
        seed.bytes().fold(offset, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    };
    let (a, b, c) = (
        hash(0xcbf2_9ce4_8422_2325),
        hash(0x8422_2325_cbf2_9ce4),
        hash(0x1234_5678_9abc_def0),
    );
    format!("{a:016x}{b:016x}{:08x}", c >> 32)
}

/// The sha256 of a file, as the engine computes it for artifacts.
pub fn sha256_of(path: &std::path::Path) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

/// A wide pipeline with long names: setup, six stages (one of them parallel with three
/// branches, one of which fails but is allowed to) and finally.
pub fn wide_pipeline(app: &str) -> Pipeline {
    let stage = |name: &str, parallel: bool, tasks: &[&str]| Stage {
        name: name.into(),
        parallel,
        when: None,
        tasks: tasks.iter().map(|task| Task::script(*task, "true")).collect(),
    };
    Pipeline {
        app: app.into(),
        version: "1.4.{build}".into(),
        env: std::iter::empty().collect(),
        secrets: Vec::new(),
        traceable: Traceability::Optional,
        setup: vec![Task::script("check-toolchains", "true")],
        stages: vec![
            stage("prepare-environment", false, &["fetch-dependencies"]),
            stage("compile-and-bundle", false, &["compile-release-build"]),
            stage(
                "integration-tests",
                true,
                &[
                    "android-emulator-suite",
                    "ios-simulator-suite",
                    "lint-and-static-analysis",
                ],
            ),
            stage("package-signed-artifacts", false, &["sign-and-package"]),
            stage("publish-internal-track", false, &["upload-to-internal-track"]),
            stage("promote-production-canary", false, &["promote-canary-rollout"]),
        ],
        finally: vec![Task::script("notify-release-channel", "true")],
    }
}

/// The path of the task of [`wide_pipeline`] that fails but is allowed to.
pub const ALLOWED_FAILURE: &str = "integration-tests/lint-and-static-analysis";

/// Records one successful run of [`wide_pipeline`] for `app`, in which [`ALLOWED_FAILURE`]
/// fails (allowed); returns its id.
pub async fn seed_wide(store: &TestStore, app: &str) -> String {
    use TaskOutcome::Success;
    let mut run = RunBuilder::new(app, 1, Utc::now() - Duration::minutes(20));
    run.pipeline = wide_pipeline(app);
    let pipeline = run.pipeline.clone();
    let mut events = vec![run.queued(), run.started()];
    let mut columns = vec![("setup", pipeline.setup.clone())];
    columns.extend(
        pipeline
            .stages
            .iter()
            .map(|stage| (stage.name.as_str(), stage.tasks.clone())),
    );
    columns.push(("finally", pipeline.finally.clone()));
    for (stage, tasks) in columns {
        events.push(run.stage_started(stage));
        for task in tasks {
            let path = format!("{stage}/{}", task.name);
            if path == ALLOWED_FAILURE {
                events.push(run.task_started(&path));
                events.push(run.output(&path, LogStream::Stderr, "warning: 3 lints failed"));
                run.wait(4_000);
                events.push(run.event(RunEventKind::TaskFinished {
                    path: TaskPath(path.clone()),
                    attempt: 1,
                    outcome: TaskOutcome::Failure,
                    exit_code: Some(1),
                    will_retry: false,
                    allowed_failure: true,
                }));
            } else {
                events.extend(run.task(&path, &[(LogStream::Stdout, "done")], 3_000, Success));
            }
        }
        events.push(run.stage_finished(stage, Success));
    }
    events.push(run.finished(RunResult::Success));
    store.record(&events).await;
    run.id().to_owned()
}
