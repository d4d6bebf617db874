//! The uploader against a real server on 127.0.0.1 with a short lease: heartbeats keep a quiet
//! run `running`, and only when it is quiet; the run of a client that died (its uploader gone
//! at once, as with `kill -9`) is marked `interrupted` once its lease runs out.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use gantry_client::{Client, Spool, Uploader};
use gantry_model::event::RunInfo;
use gantry_model::{Library, RunEvent, RunEventKind, RunId, RunResult, Source, TaskPath};
use gantry_server::{Server, ServerConfig};
use gantry_store::{RunStatus, Store};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

const ADMIN: &str = "lease-test-admin-secret-0123456789";

/// Long enough for anything here on a slow machine; a hang fails instead of blocking.
const PATIENCE: Duration = Duration::from_secs(20);

/// A server whose remote runs hold a one-second lease, swept every 100 ms.
struct Running {
    url: String,
    store: Store,
    metrics: std::sync::Arc<gantry_server::metrics::Metrics>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Running {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite://{}", dir.path().join("gantry.db").display());
        let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), db);
        config.admin_token = Some(ADMIN.to_owned());
        config.remote_lease = Duration::from_secs(1);
        config.lease_sweep = Duration::from_millis(100);
        let server = Server::bind(config).await.unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        Self {
            url: format!("http://{}", server.local_addr()),
            store: server.store().clone(),
            metrics: server.state().metrics.clone(),
            stop,
            task: tokio::spawn(async move {
                let shutdown = async move {
                    let _ = stopped.await;
                };
                server.serve(shutdown).await.unwrap();
            }),
            _dir: dir,
        }
    }

    async fn status(&self, run_id: &str) -> RunStatus {
        self.store.find_run(run_id).await.unwrap().unwrap().summary.result
    }

    /// How many heartbeats the server answered.
    fn heartbeats(&self) -> u64 {
        let text = self.metrics.encode();
        text.lines()
            .filter(|line| line.starts_with("gantry_http_requests_total{") && line.contains("/heartbeat\""))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(PATIENCE, self.task).await.unwrap().unwrap();
    }
}

/// Builds one run's events, a millisecond apart.
struct RunEvents {
    run_id: String,
    at: chrono::DateTime<Utc>,
}

impl RunEvents {
    fn new() -> Self {
        Self {
            run_id: uuid::Uuid::now_v7().to_string(),
            at: Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap(),
        }
    }

    fn event(&mut self, kind: RunEventKind) -> RunEvent {
        self.at += chrono::Duration::milliseconds(1);
        RunEvent {
            id: uuid::Uuid::now_v7().to_string(),
            run_id: RunId(self.run_id.clone()),
            at: self.at,
            kind,
        }
    }

    /// Queued (with a build number the store allocated) and started, with a task running.
    fn start(&mut self, build: u64) -> Vec<RunEvent> {
        let text = "app: quiet\nstages:\n  - { name: build, tasks: [{ name: compile, run: 'true' }] }\n";
        let pipeline = gantry_model::load(&Source::new("gantry.yml", text), &Library::default()).unwrap();
        let info = RunInfo {
            app: "quiet".into(),
            version: "1".into(),
            build,
            revision: None,
            branch: None,
            traceable: false,
            untraceable_reason: Some("a test".into()),
            pipeline,
            mock: false,
            selection: gantry_model::Selection::All,
            runner: None,
        };
        vec![
            self.event(RunEventKind::RunQueued(Box::new(info))),
            self.event(RunEventKind::RunStarted),
            self.event(RunEventKind::TaskStarted {
                path: TaskPath("build/compile".into()),
                attempt: 1,
            }),
        ]
    }

    fn output(&mut self, line: &str) -> RunEvent {
        self.event(RunEventKind::TaskOutput {
            path: TaskPath("build/compile".into()),
            stream: gantry_model::LogStream::Stdout,
            lines: vec![line.into()],
        })
    }

    fn finished(&mut self) -> RunEvent {
        self.event(RunEventKind::RunFinished {
            result: RunResult::Success,
        })
    }
}

/// An uploader for a new run, running in a task as `gantry run --server` runs it.
fn upload(
    server: &Running,
    spool: &Spool,
    run_id: &str,
    heartbeat: Duration,
) -> (
    mpsc::UnboundedSender<Vec<RunEvent>>,
    JoinHandle<Result<gantry_client::UploadSummary, gantry_client::SpoolError>>,
) {
    let client = Client::new(&server.url, Some(ADMIN.to_owned())).unwrap();
    let spooled = spool.start(run_id, &server.url).unwrap();
    let uploader = Uploader::new(client, spooled).heartbeat_every(heartbeat);
    let (batches, receiver) = mpsc::unbounded_channel();
    (
        batches,
        tokio::spawn(uploader.run(receiver, Duration::from_secs(5))),
    )
}

/// Waits until `check` holds, failing after [`PATIENCE`].
async fn eventually<F: std::future::Future<Output = bool>>(what: &str, check: impl Fn() -> F) {
    let give_up = tokio::time::Instant::now() + PATIENCE;
    while !check().await {
        assert!(tokio::time::Instant::now() < give_up, "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_keep_a_quiet_run_and_a_dead_clients_run_is_interrupted() {
    let server = Running::start().await;
    let spool_dir = tempfile::tempdir().unwrap();
    let spool = Spool::new(spool_dir.path());

    let mut quiet = RunEvents::new();
    let (quiet_batches, quiet_upload) = upload(&server, &spool, &quiet.run_id, Duration::from_millis(200));
    quiet_batches
        .send(quiet.start(server.store.allocate_build("quiet").await.unwrap()))
        .unwrap();

    let mut dead = RunEvents::new();
    let (dead_batches, dead_upload) = upload(&server, &spool, &dead.run_id, Duration::from_millis(200));
    dead_batches
        .send(dead.start(server.store.allocate_build("quiet").await.unwrap()))
        .unwrap();
    let dead_id = dead.run_id.clone();
    eventually("the server has both runs", || async {
        server.store.find_run(&dead_id).await.unwrap().is_some()
            && server.store.find_run(&quiet.run_id).await.unwrap().is_some()
    })
    .await;
    // The client dies: nothing more is sent for this run, ever.
    dead_upload.abort();

    eventually("the dead client's run is interrupted", || async {
        server.status(&dead_id).await == RunStatus::Interrupted
    })
    .await;
    let detail = server.store.find_run(&dead_id).await.unwrap().unwrap();
    let silence = detail.summary.finished_at.unwrap() - detail.last_contact_at.unwrap();
    assert!(
        silence >= chrono::Duration::seconds(1),
        "not before its lease ran out: {silence}"
    );
    let events = server.store.events_for_chain(&dead_id).await.unwrap();
    let last = events.last().unwrap();
    assert_eq!(last["context"]["type"], "dev.cdevents.pipelinerun.finished.0.3.0");
    assert_eq!(last["subject"]["content"]["outcome"], "error");

    // The quiet run sent nothing for longer than its lease, and holds it by its heartbeats.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(server.status(&quiet.run_id).await, RunStatus::Running);
    assert!(server.heartbeats() >= 5, "{}", server.heartbeats());

    // It ends as usual.
    quiet_batches.send(vec![quiet.finished()]).unwrap();
    drop(quiet_batches);
    let summary = tokio::time::timeout(PATIENCE, quiet_upload)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(summary.pending, 0, "{summary:?}");
    assert_eq!(server.status(&quiet.run_id).await, RunStatus::Success);
    drop(dead_batches);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_heartbeat_while_events_flow() {
    let server = Running::start().await;
    let spool_dir = tempfile::tempdir().unwrap();
    let spool = Spool::new(spool_dir.path());
    let mut run = RunEvents::new();
    let (batches, upload) = upload(&server, &spool, &run.run_id, Duration::from_millis(600));
    batches
        .send(run.start(server.store.allocate_build("quiet").await.unwrap()))
        .unwrap();
    for index in 0..15 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        batches.send(vec![run.output(&format!("line {index}"))]).unwrap();
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.heartbeats(), 0, "events were flowing");
    // Quiet now: heartbeats follow.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(server.heartbeats() >= 2, "{}", server.heartbeats());
    assert_eq!(server.status(&run.run_id).await, RunStatus::Running);
    batches.send(vec![run.finished()]).unwrap();
    drop(batches);
    let summary = tokio::time::timeout(PATIENCE, upload)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(summary.pending, 0);
    server.stop().await;
}
