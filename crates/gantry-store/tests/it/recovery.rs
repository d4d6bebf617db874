//! Crash recovery: runs whose process is gone are marked interrupted; others are left alone.
//! Runs whose process cannot be checked from here hold a lease instead: silent for too long,
//! they are interrupted, once, however many callers look at once.

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

/// The owner a server records for runs reported over its API.
fn remote() -> Owner {
    Owner {
        host: "remote client".into(),
        pid: 0,
        start_time: None,
    }
}

/// A time after every recording in these tests, so that every run counts as silent before it.
fn later(seconds: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2100, 1, 1, 0, 0, seconds).unwrap()
}

async fn runs_silent_past_their_lease_are_interrupted_and_no_others(test: TestStore) {
    let silent = running_run(&test, remote(), false).await;
    let heard = running_run(&test, remote(), false).await;
    let finished = running_run(&test, remote(), true).await;
    let local = running_run(&test, Owner::current(), false).await;
    let reports = test.store.clone().with_owner(remote());

    // A heartbeat after the cutoff keeps `heard` alive; contacts only ever move forward.
    assert_eq!(
        reports.record_contact(&heard, later(1)).await.unwrap(),
        Some(RunStatus::Running)
    );
    assert_eq!(
        reports.record_contact(&heard, later(0)).await.unwrap(),
        Some(RunStatus::Running)
    );
    assert_eq!(
        reports.record_contact(&finished, later(1)).await.unwrap(),
        Some(RunStatus::Success)
    );
    assert_eq!(
        reports.record_contact("no-such-run", later(1)).await.unwrap(),
        None
    );
    let detail = |id: String| {
        let store = test.store.clone();
        async move { store.find_run(&id).await.unwrap().unwrap() }
    };
    assert_eq!(detail(heard.clone()).await.last_contact_at, Some(later(1)));
    // Recording events is contact too, by the recording process's clock.
    let recorded = detail(silent.clone()).await.last_contact_at.unwrap();
    assert!((Utc::now() - recorded).num_seconds().abs() < 60, "{recorded}");

    let interrupted = test
        .store
        .interrupt_silent_runs(&remote(), later(1))
        .await
        .unwrap();
    assert_eq!(interrupted, std::slice::from_ref(&silent));
    let run = detail(silent.clone()).await;
    assert_eq!(run.summary.result, RunStatus::Interrupted);
    assert_eq!(
        run.last_contact_at,
        Some(recorded),
        "an interruption is no contact"
    );
    assert_eq!(run.tasks[0].status, TaskStatus::Interrupted);
    assert_eq!(detail(heard.clone()).await.summary.result, RunStatus::Running);
    let done = detail(finished).await;
    assert_eq!(done.summary.result, RunStatus::Success);
    assert_ne!(
        done.last_contact_at,
        Some(later(1)),
        "a finished run has no more contact"
    );
    assert_eq!(detail(local.clone()).await.summary.result, RunStatus::Running);

    let events = test.store.events_for_chain(&silent).await.unwrap();
    let last = events.last().unwrap();
    assert_eq!(last["context"]["type"], "dev.cdevents.pipelinerun.finished.0.3.0");
    assert_eq!(last["subject"]["content"]["outcome"], "error");
    assert_eq!(last["customData"]["result"], "interrupted");
    validate_cdevent(last).unwrap();

    // Nothing more to do; then `heard` falls silent too. Other owners' runs are never touched.
    assert!(
        test.store
            .interrupt_silent_runs(&remote(), later(1))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        test.store
            .interrupt_silent_runs(&remote(), later(2))
            .await
            .unwrap(),
        [heard]
    );
    assert_eq!(detail(local).await.summary.result, RunStatus::Running);
    assert_eq!(
        test.store.events_for_chain(&silent).await.unwrap().len(),
        events.len()
    );
}

/// Two replicas sweeping at once: each silent run is interrupted by exactly one of them, with
/// exactly one `pipelinerun.finished`.
async fn replicas_sweeping_at_once_interrupt_each_run_once(test: TestStore) {
    let mut runs = Vec::new();
    for _ in 0..20 {
        runs.push(running_run(&test, remote(), false).await);
    }
    let mut sweeps = Vec::new();
    for _ in 0..2 {
        let replica = test.open_another().await;
        sweeps.push(tokio::spawn(async move {
            replica.interrupt_silent_runs(&remote(), later(0)).await.unwrap()
        }));
    }
    let first = sweeps.remove(0).await.unwrap();
    let second = sweeps.remove(0).await.unwrap();
    let mut all: Vec<String> = first.iter().chain(&second).cloned().collect();
    all.sort();
    runs.sort();
    assert_eq!(all, runs, "each run once: {first:?} {second:?}");
    for run in &runs {
        let finishes = test
            .store
            .events_for_chain(run)
            .await
            .unwrap()
            .iter()
            .filter(|event| event["context"]["type"] == "dev.cdevents.pipelinerun.finished.0.3.0")
            .count();
        assert_eq!(finishes, 1, "{run}");
    }
}

gantry_test::on_both_backends!(
    marks_runs_of_dead_processes_interrupted_and_no_others,
    runs_silent_past_their_lease_are_interrupted_and_no_others,
    replicas_sweeping_at_once_interrupt_each_run_once,
);
