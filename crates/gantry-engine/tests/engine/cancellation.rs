//! Cancellation: running tasks are stopped, nothing new starts, `finally` still runs.

use std::time::Duration;

use gantry_engine::{RunRequest, Stop};
use gantry_model::event::RunInfo;
use gantry_model::{Plan, RunEventKind, RunId, RunResult, Selection, Stage, TaskOutcome};
use tokio::sync::mpsc;

use crate::harness::{Test, empty_pipeline, is_gone_soon, pid_in, task};

/// Whether `event` is the line `ready` of any task.
fn is_ready(event: &gantry_model::RunEvent) -> bool {
    matches!(&event.kind, RunEventKind::TaskOutput { lines, .. } if lines.iter().any(|line| line == "ready"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_stops_running_tasks_and_still_runs_finally() {
    let run = Test::new()
        .parallel(
            "test",
            vec![
                task(
                    "long",
                    "sleep 1000 & echo $! > grandchild.pid; echo ready; sleep 1000",
                ),
                task("other", "sleep 1000"),
            ],
        )
        .stage("ship", vec![task("deploy", "touch deployed")])
        .finally(vec![
            task("notify", "echo \"result=$GANTRY_RESULT\""),
            task("cleanup", "echo cleaned"),
        ])
        .run_cancelling_when(is_ready)
        .await;
    assert_eq!(run.result, RunResult::Cancelled);
    assert_eq!(run.outcome("test/long"), TaskOutcome::Cancelled);
    assert_eq!(run.outcome("test/other"), TaskOutcome::Cancelled);
    assert_eq!(run.stage_outcome("test"), TaskOutcome::Cancelled);
    assert_eq!(run.skipped("ship/deploy").as_deref(), Some("cancelled"));
    assert!(!run.root.path().join("deployed").exists());
    assert_eq!(run.printed("finally/notify", "result"), "cancelled");
    assert_eq!(run.output("finally/cleanup"), ["cleaned"]);
    let grandchild = pid_in(&run, "grandchild.pid");
    assert!(
        is_gone_soon(grandchild).await,
        "{grandchild} survived cancellation"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_keeps_waiting_tasks_from_starting() {
    // One job slot: `second` waits for `first`, which holds the slot until it is cancelled.
    let run = Test::new()
        .jobs(1)
        .parallel(
            "test",
            vec![
                task("first", "echo ready; sleep 1000"),
                task("second", "touch second-ran"),
            ],
        )
        .run_cancelling_when(is_ready)
        .await;
    assert_eq!(run.result, RunResult::Cancelled);
    assert_eq!(run.outcome("test/first"), TaskOutcome::Cancelled);
    assert_eq!(run.skipped("test/second").as_deref(), Some("cancelled"));
    assert!(!run.root.path().join("second-ran").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_cancelled_before_it_starts_only_runs_finally() {
    let test = Test::new()
        .setup(vec![task("tools", "touch tools-ran")])
        .stage("build", vec![task("compile", "touch compile-ran")])
        .finally(vec![task("notify", "echo \"result=$GANTRY_RESULT\"")]);
    test.stop().cancel();
    let run = test.run().await;
    assert_eq!(run.result, RunResult::Cancelled);
    assert_eq!(run.skipped("setup/tools").as_deref(), Some("cancelled"));
    assert_eq!(run.skipped("build/compile").as_deref(), Some("cancelled"));
    assert_eq!(run.stage_outcome("build"), TaskOutcome::Skipped);
    assert_eq!(run.printed("finally/notify", "result"), "cancelled");
    assert!(!run.root.path().join("tools-ran").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_nobody_listens_to_is_cancelled() {
    let root = tempfile::tempdir().unwrap();
    let mut pipeline = empty_pipeline();
    pipeline.stages.push(Stage {
        name: "build".into(),
        parallel: false,
        when: None,
        tasks: vec![task("compile", "sleep 1000")],
    });
    let plan = Plan::new(&pipeline, None, &Selection::All).unwrap();
    let info = RunInfo {
        app: "demo".into(),
        version: "1".into(),
        build: 1,
        revision: None,
        branch: None,
        traceable: false,
        untraceable_reason: Some("test".into()),
        pipeline,
        mock: false,
        selection: gantry_model::Selection::All,
        runner: None,
    };
    let request = RunRequest {
        run_id: RunId("run".into()),
        info,
        plan,
        root: root.path().to_owned(),
        secrets: Vec::new(),
        jobs: 1,
        mock: None,
        grace: Duration::from_millis(100),
    };
    let (sender, receiver) = mpsc::channel(1);
    drop(receiver);
    let execute = gantry_engine::execute(request, sender, Stop::new());
    let result = tokio::time::timeout(Duration::from_secs(30), execute)
        .await
        .expect("no hang");
    assert_eq!(result, RunResult::Cancelled);
}

/// A `finally` that hangs goes on after cancelling, and stops when forced (a second Ctrl-C);
/// the run is cancelled, and the task's processes are gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forcing_stops_a_finally_that_hangs() {
    let run = Test::new()
        .stage("test", vec![task("quick", "true")])
        .finally(vec![task(
            "hang",
            "sleep 1000 & echo $! > grandchild.pid; echo ready; sleep 1000",
        )])
        .run_stopping(|event, stop| {
            if is_ready(event) {
                stop.cancel();
                let stop = stop.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(600)).await;
                    stop.force();
                });
            }
        })
        .await;
    assert_eq!(run.result, RunResult::Cancelled);
    assert_eq!(run.outcome("finally/hang"), TaskOutcome::Cancelled);
    assert_eq!(run.outcome("test/quick"), TaskOutcome::Success);
    // Cancelling alone did not stop it: it ended only once forced.
    let at = |matches: &dyn Fn(&RunEventKind) -> bool| {
        run.events
            .iter()
            .find(|event| matches(&event.kind))
            .map(|event| event.at)
            .unwrap()
    };
    let ready = at(
        &|kind| matches!(kind, RunEventKind::TaskOutput { lines, .. } if lines.iter().any(|line| line == "ready")),
    );
    let ended = at(
        &|kind| matches!(kind, RunEventKind::TaskFinished { path, .. } if path.as_str() == "finally/hang"),
    );
    assert!(
        ended - ready >= chrono::Duration::milliseconds(500),
        "stopped {} ms after it was ready",
        (ended - ready).num_milliseconds()
    );
    let grandchild = pid_in(&run, "grandchild.pid");
    assert!(is_gone_soon(grandchild).await, "{grandchild} survived");
}
