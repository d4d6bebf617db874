//! Helpers shared by the integration tests: a store in a temporary directory, a pipeline, and a
//! builder of run events with increasing times.

#![allow(dead_code)] // each test file uses a different part

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, TimeZone, Utc};
use gantry_model::event::RunInfo;
use gantry_model::{
    LogStream, Pipeline, RunEvent, RunEventKind, RunId, RunResult, Stage, Task, TaskOutcome, TaskPath,
    Traceability,
};
use gantry_store::{ArtifactLocation, Store, StoreOptions};
use indexmap::IndexMap;
use sqlx::{Connection, PgConnection};
use tempfile::TempDir;

/// A store on a fresh database, SQLite in a temporary directory or a new PostgreSQL database,
/// both removed when dropped. Artifacts go to `data/artifacts` in the temporary directory.
pub struct TestStore {
    pub store: Store,
    pub dir: TempDir,
    url: String,
    options: StoreOptions,
    /// The PostgreSQL database to drop: (server url, database name).
    postgres: Option<(String, String)>,
}

/// The PostgreSQL server the tests use: `GANTRY_TEST_POSTGRES_URL`, or the local one.
fn postgres_server() -> String {
    std::env::var("GANTRY_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

impl TestStore {
    pub async fn new() -> Self {
        Self::sqlite().await
    }

    pub async fn sqlite() -> Self {
        Self::sqlite_prepared(async |_| {}).await
    }

    /// [`TestStore::sqlite`], with `prepare` given the database's url before the store opens it
    /// (to write a store as an older Gantry left it, say).
    pub async fn sqlite_prepared(prepare: impl AsyncFnOnce(&str)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = Self::url_in(&dir);
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        prepare(&url).await;
        let options = StoreOptions::default();
        let store = Store::open_with(&url, &options).await.unwrap();
        Self {
            store,
            dir,
            url,
            options,
            postgres: None,
        }
    }

    /// A store on a new database of the local PostgreSQL server; `None`, said loudly, when the
    /// server cannot be reached (a failure when the `CI` environment variable is set).
    pub async fn postgres() -> Option<Self> {
        Self::postgres_prepared(async |_| {}).await
    }

    /// [`TestStore::postgres`], with `prepare` given the new database's url before the store
    /// opens it.
    pub async fn postgres_prepared(prepare: impl AsyncFnOnce(&str)) -> Option<Self> {
        let server = postgres_server();
        let mut admin = match PgConnection::connect(&format!("{server}/postgres")).await {
            Ok(admin) => admin,
            Err(err) => {
                // CI must run the PostgreSQL half: `.ci/run` starts a server, so none is a failure.
                assert!(
                    std::env::var_os("CI").is_none(),
                    "no PostgreSQL server at {server} ({err}), and CI is set: the PostgreSQL half must run"
                );
                eprintln!("SKIPPED: no PostgreSQL server at {server} ({err}); this test ran on SQLite only");
                return None;
            }
        };
        let name = format!("gantry_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let url = format!("{server}/{name}");
        prepare(&url).await;
        let options = StoreOptions {
            artifacts: Some(ArtifactLocation::Dir(dir.path().join("data/artifacts"))),
        };
        let store = Store::open_with(&url, &options).await.unwrap();
        Some(Self {
            store,
            dir,
            url,
            options,
            postgres: Some((server, name)),
        })
    }

    pub fn url_in(dir: &TempDir) -> String {
        format!("sqlite://{}", dir.path().join("data/gantry.db").display())
    }

    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The artifact directory the store was opened with (`None`: beside the SQLite file).
    pub fn artifact_dir(&self) -> Option<PathBuf> {
        match &self.options.artifacts {
            Some(ArtifactLocation::Dir(dir)) => Some(dir.clone()),
            _ => None,
        }
    }

    /// Whether this is the PostgreSQL variant of a test.
    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// Another handle (with its own connections) on the same database.
    pub async fn open_another(&self) -> Store {
        Store::open_with(&self.url, &self.options).await.unwrap()
    }

    /// Writes `contents` to a file in the temporary directory, returning its path.
    pub fn file(&self, name: &str, contents: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        let Some((server, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs outside any runtime that could be blocked on, so it gets its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&format!("{server}/postgres"))
                    .await
                    .unwrap();
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await
                    .unwrap();
            });
        })
        .join();
        if !std::thread::panicking() {
            dropped.unwrap();
        }
    }
}

/// Defines a `#[tokio::test]` per backend for each `scenario(test: TestStore)` named: in
/// `sqlite::NAME` and in `postgres::NAME` (which passes, saying so loudly, without a server, unless `CI` is set).
#[allow(unused_macros)] // not every test file runs on both backends this way
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::common::TestStore::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(test) = crate::common::TestStore::postgres().await {
                        super::$name(test).await;
                    }
                }
            )*
        }
    };
}

pub fn pipeline(app: &str) -> Pipeline {
    let stage = |name: &str, tasks: Vec<Task>| Stage {
        name: name.into(),
        parallel: false,
        when: None,
        tasks,
    };
    Pipeline {
        app: app.into(),
        version: "1.4.{build}".into(),
        env: IndexMap::new(),
        secrets: Vec::new(),
        traceable: Traceability::Optional,
        setup: vec![Task::script("tools", "true")],
        stages: vec![
            stage("build", vec![Task::script("compile", "cargo build")]),
            stage(
                "test",
                vec![
                    Task::script("unit", "cargo test"),
                    Task::script("lint", "cargo clippy"),
                ],
            ),
        ],
        finally: vec![Task::script("notify", "true")],
    }
}

static RUNS: AtomicI64 = AtomicI64::new(0);

/// Builds the events of one run, each a millisecond after the last.
pub struct RunBuilder {
    pub run_id: RunId,
    pub app: String,
    pub build: u64,
    at: DateTime<Utc>,
}

impl RunBuilder {
    pub fn new(app: &str, build: u64) -> Self {
        Self {
            run_id: RunId(uuid::Uuid::now_v7().to_string()),
            app: app.into(),
            build,
            // Each run a second after the one built before it, so that runs sort as they were built.
            at: Utc.with_ymd_and_hms(2025, 5, 1, 12, 0, 0).unwrap()
                + Duration::seconds(RUNS.fetch_add(1, Ordering::Relaxed)),
        }
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
            revision: Some("0123456789abcdef0123456789abcdef01234567".into()),
            branch: Some("main".into()),
            traceable: true,
            untraceable_reason: None,
            pipeline: pipeline(&self.app),
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

    pub fn task_started(&mut self, path: &str, attempt: u32) -> RunEvent {
        self.event(RunEventKind::TaskStarted {
            path: TaskPath(path.into()),
            attempt,
        })
    }

    pub fn output(&mut self, path: &str, line: &str) -> RunEvent {
        self.event(RunEventKind::TaskOutput {
            path: TaskPath(path.into()),
            stream: LogStream::Stdout,
            line: line.into(),
        })
    }

    pub fn task_finished(
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

    pub fn finished(&mut self, result: RunResult) -> RunEvent {
        self.event(RunEventKind::RunFinished { result })
    }

    /// A task that starts, writes `lines` lines and succeeds.
    pub fn task(&mut self, path: &str, lines: usize) -> Vec<RunEvent> {
        let mut events = vec![self.task_started(path, 1)];
        for index in 0..lines {
            events.push(self.output(path, &format!("{path} line {}", index + 1)));
        }
        events.push(self.task_finished(path, 1, TaskOutcome::Success, 0));
        events
    }
}

/// Every kind of event of a run: setup, a stage with an artifact, a retried task, an allowed
/// failure, a skipped task, `finally`, and the run's end with `result`.
pub fn full_run(
    run: &mut RunBuilder,
    artifact: &std::path::Path,
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
        size: std::fs::metadata(artifact).unwrap().len(),
        sha256: artifact_sha256.into(),
    }));
    events.push(run.stage_finished("build", TaskOutcome::Success));
    events.push(run.stage_started("test"));
    events.push(run.task_started("test/unit", 1));
    events.push(run.event(RunEventKind::TaskOutput {
        path: TaskPath("test/unit".into()),
        stream: LogStream::Stderr,
        line: "flaky!".into(),
    }));
    events.push(run.event(RunEventKind::TaskFinished {
        path: TaskPath("test/unit".into()),
        attempt: 1,
        outcome: TaskOutcome::Failure,
        exit_code: Some(1),
        will_retry: true,
        allowed_failure: false,
    }));
    events.push(run.task_started("test/unit", 2));
    events.push(run.output("test/unit", "ok"));
    events.push(run.task_finished("test/unit", 2, TaskOutcome::Success, 0));
    events.push(run.task_started("test/lint", 1));
    events.push(run.event(RunEventKind::TaskFinished {
        path: TaskPath("test/lint".into()),
        attempt: 1,
        outcome: TaskOutcome::TimedOut,
        exit_code: None,
        will_retry: false,
        allowed_failure: true,
    }));
    events.push(run.event(RunEventKind::TaskSkipped {
        path: TaskPath("test/deploy".into()),
        reason: "branch `main` matches none of release/*".into(),
    }));
    events.push(run.stage_finished("test", TaskOutcome::Success));
    events.extend(run.task("finally/notify", 1));
    events.push(run.finished(result));
    events
}

pub const HELLO_SHA256: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

/// Recording as a client does: the build numbers the events' `run_queued` name are allocated
/// first (the store refuses a number it never handed out).
pub trait RecordAllocated {
    async fn record_allocated(&self, events: &[RunEvent]) -> Result<(), gantry_store::StoreError>;
}

impl RecordAllocated for Store {
    async fn record_allocated(&self, events: &[RunEvent]) -> Result<(), gantry_store::StoreError> {
        loop {
            match self.record(events).await {
                Err(gantry_store::StoreError::BuildRefused { app, reason, .. })
                    if reason.contains("allocated") =>
                {
                    self.allocate_build(&app).await?;
                }
                result => return result,
            }
        }
    }
}
