//! Crash recovery: runs whose process is gone are marked interrupted; others are left alone.
//! Runs reported to a server hold a lease instead (`tests/leases.rs`).

use chrono::{DateTime, TimeZone, Utc};
use gantry_model::RunResult;
use gantry_store::{Owner, RunStatus, TaskStatus, validate_cdevent};
use gantry_test::{RecordAllocated, RunBuilder, TestStore};

/// The pid of a process that has exited and been reaped.
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

/// Records a run with one running task, owned by `owner`; returns its id.
async fn running_run(test: &TestStore, owner: Owner, finished: bool) -> String {
    let store = test.store.clone().with_owner(owner);
    let build = store.allocate_build("hello").await.unwrap();
    let mut run = RunBuilder::new("hello", build);
    let mut events = vec![
        run.queued(),
        run.started(),
        run.stage_started("build"),
        run.task_started("build/compile"),
    ];
    events.push(run.output("build/compile", "compiling"));
    if finished {
        events.push(run.finished(RunResult::Success));
    }
    store.record_allocated(&events).await.unwrap();
    run.run_id.0
}

async fn marks_runs_of_dead_processes_interrupted_and_no_others(test: TestStore) {
    let me = Owner::current();
    let dead = running_run(
        &test,
        Owner {
            pid: dead_pid(),
            start_time: None,
            ..me.clone()
        },
        false,
    )
    .await;
    let reused = running_run(
        &test,
        Owner {
            start_time: Some(me.start_time.unwrap_or(0) + 1),
            ..me.clone()
        },
        false,
    )
    .await;
    let alive = running_run(&test, me.clone(), false).await;
    let elsewhere = running_run(
        &test,
        Owner {
            host: "another-host".into(),
            pid: dead_pid(),
            start_time: None,
        },
        false,
    )
    .await;
    let done = running_run(
        &test,
        Owner {
            pid: dead_pid(),
            ..me.clone()
        },
        true,
    )
    .await;

    let mut recovered = test.store.recover_interrupted().await.unwrap();
    recovered.sort();
    let mut expected = vec![dead.clone()];
    if me.start_time.is_some() {
        expected.push(reused.clone());
    }
    expected.sort();
    assert_eq!(recovered, expected);

    let status = |id: String| {
        let store = test.store.clone();
        async move { store.find_run(&id).await.unwrap().unwrap() }
    };
    let detail = status(dead.clone()).await;
    assert_eq!(detail.summary.result, RunStatus::Interrupted);
    assert!(detail.summary.finished_at.is_some());
    assert_eq!(detail.tasks[0].status, TaskStatus::Interrupted);
    assert!(detail.tasks[0].finished_at.is_some());
    assert_eq!(detail.stages[0].status, TaskStatus::Interrupted);
    assert_eq!(status(alive).await.summary.result, RunStatus::Running);
    assert_eq!(status(elsewhere).await.summary.result, RunStatus::Running);
    assert_eq!(status(done).await.summary.result, RunStatus::Success);

    let events = test.store.events_for_chain(&dead).await.unwrap();
    let finished = events.last().unwrap();
    assert_eq!(
        finished["context"]["type"],
        "dev.cdevents.pipelinerun.finished.0.3.0"
    );
    assert_eq!(finished["subject"]["content"]["outcome"], "error");
    assert_eq!(finished["customData"]["result"], "interrupted");
    validate_cdevent(finished).unwrap();

    // Nothing left to recover.
    assert!(test.store.recover_interrupted().await.unwrap().is_empty());
    assert_eq!(
        test.store.events_for_chain(&dead).await.unwrap().len(),
        events.len()
    );
}

/// A time after every recording in these tests.
fn later(seconds: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2100, 1, 1, 0, 0, seconds).unwrap()
}

/// Contact with a run's process (its events, a heartbeat) only moves forward, and a finished
/// run has none. Leases, not contact, decide when a reported run is interrupted
/// (`tests/leases.rs`).
async fn contacts_only_move_forward(test: TestStore) {
    let heard = running_run(&test, Owner::current(), false).await;
    let finished = running_run(&test, Owner::current(), true).await;
    let store = &test.store;
    assert_eq!(
        store.record_contact(&heard, later(1)).await.unwrap(),
        Some(RunStatus::Running)
    );
    assert_eq!(
        store.record_contact(&heard, later(0)).await.unwrap(),
        Some(RunStatus::Running)
    );
    assert_eq!(
        store.record_contact(&finished, later(1)).await.unwrap(),
        Some(RunStatus::Success)
    );
    assert_eq!(store.record_contact("no-such-run", later(1)).await.unwrap(), None);
    let detail = |id: String| async move { store.find_run(&id).await.unwrap().unwrap() };
    assert_eq!(detail(heard.clone()).await.last_contact_at, Some(later(1)));
    // Recording events is contact too, by the recording process's clock.
    let recorded = detail(finished.clone()).await.last_contact_at.unwrap();
    assert!((Utc::now() - recorded).num_seconds().abs() < 60, "{recorded}");
    assert_ne!(recorded, later(1), "a finished run has no more contact");
}

gantry_test::on_both_backends!(
    marks_runs_of_dead_processes_interrupted_and_no_others,
    contacts_only_move_forward,
);
