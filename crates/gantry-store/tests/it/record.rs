//! Recording runs and reading them back.

use gantry_model::{RunEventKind, RunResult, Selection, TaskOutcome, TaskPath};
use gantry_store::{LogLine, RunFilter, RunStatus, StoreError, TaskStatus};
use gantry_test::{HELLO_SHA256, RecordAllocated, RunBuilder, TestStore, full_run};
use serde_json::json;

async fn records_a_full_run_and_reads_it_back(test: TestStore) {
    let artifact = test.file("hello", b"hello");
    let mut run = RunBuilder::new("hello", 7);
    let events = full_run(&mut run, &artifact, HELLO_SHA256, RunResult::Success);
    test.store.record_allocated(&events).await.unwrap();

    let detail = test
        .store
        .find_run(&run.run_id.0)
        .await
        .unwrap()
        .expect("the run by id");
    let summary = &detail.summary;
    assert_eq!(
        (summary.app.as_str(), summary.version.as_str(), summary.build),
        ("hello", "1.4.7", 7)
    );
    assert_eq!(summary.result, RunStatus::Success);
    assert_eq!(summary.branch.as_deref(), Some("main"));
    assert!(summary.traceable && !summary.mock);
    assert!(summary.started_at.is_some() && summary.finished_at.is_some());
    assert!(summary.duration_ms.unwrap() > 0);
    assert_eq!(detail.pipeline["app"], "hello");
    assert_eq!(detail.owner.as_ref().unwrap().pid, std::process::id());

    let stages: Vec<(&str, TaskStatus)> = detail
        .stages
        .iter()
        .map(|stage| (stage.name.as_str(), stage.status))
        .collect();
    assert_eq!(
        stages,
        [
            ("setup", TaskStatus::Success),
            ("build", TaskStatus::Success),
            ("test", TaskStatus::Success),
            ("finally", TaskStatus::Success),
        ]
    );

    let task = |path: &str| {
        detail
            .tasks
            .iter()
            .find(|task| task.path == path)
            .unwrap_or_else(|| panic!("{path}"))
    };
    let paths: Vec<&str> = detail.tasks.iter().map(|task| task.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "setup/tools",
            "build/compile",
            "test/unit",
            "test/lint",
            "test/deploy",
            "finally/notify"
        ]
    );
    let unit = task("test/unit");
    assert_eq!(
        (unit.status, unit.attempts, unit.exit_code),
        (TaskStatus::Success, 2, Some(0))
    );
    let lint = task("test/lint");
    assert_eq!(
        (lint.status, lint.allowed_failure, lint.exit_code),
        (TaskStatus::TimedOut, true, None)
    );
    let deploy = task("test/deploy");
    assert_eq!(deploy.status, TaskStatus::Skipped);
    assert_eq!(deploy.attempts, 0);
    assert!(deploy.skip_reason.as_deref().unwrap().contains("release/*"));
    assert_eq!(task("build/compile").stage, "build");

    let [artifact_record] = detail.artifacts.as_slice() else {
        panic!("{:?}", detail.artifacts)
    };
    assert_eq!(artifact_record.name, "target/release/hello");
    assert_eq!(
        (artifact_record.size, artifact_record.sha256.as_str()),
        (5, HELLO_SHA256)
    );
    assert_eq!(std::fs::read(&artifact_record.path).unwrap(), b"hello");
    let expected = test
        .dir
        .path()
        .join("data/artifacts/sha256/2c")
        .join(HELLO_SHA256);
    assert_eq!(artifact_record.path, expected);
    let artifacts = test.store.artifacts();
    assert_eq!(artifacts.stored_at(HELLO_SHA256).unwrap(), expected);
    assert_eq!(artifacts.size(HELLO_SHA256).await.unwrap(), Some(5));
    assert_eq!(artifacts.size(&"0".repeat(64)).await.unwrap(), None);
    assert!(artifacts.size("../x").await.is_err());

    // By unique prefix and by app and build number.
    let prefix = &run.run_id.0[..30];
    assert_eq!(
        test.store.find_run(prefix).await.unwrap().unwrap().summary.id,
        run.run_id.0
    );
    assert_eq!(
        test.store.find_run("hello#7").await.unwrap().unwrap().summary.id,
        run.run_id.0
    );
    assert!(test.store.find_run("hello#8").await.unwrap().is_none());
    assert!(test.store.find_run("nothing-like-it").await.unwrap().is_none());
    assert!(test.store.find_run("").await.unwrap().is_none());

    // Logs: per task with offsets, per run in task order.
    let log = test
        .store
        .task_log(&run.run_id.0, "build/compile", 0, 100)
        .await
        .unwrap();
    let lines: Vec<(u64, &str)> = log.iter().map(|line| (line.seq, line.line.as_str())).collect();
    assert_eq!(
        lines,
        [
            (1, "build/compile line 1"),
            (2, "build/compile line 2"),
            (3, "build/compile line 3")
        ]
    );
    let page = test
        .store
        .task_log(&run.run_id.0, "build/compile", 1, 1)
        .await
        .unwrap();
    assert_eq!(page.iter().map(|line| line.seq).collect::<Vec<_>>(), [2]);
    let unit_log: Vec<String> = test
        .store
        .task_log(&run.run_id.0, "test/unit", 0, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|LogLine { stream, line, .. }| format!("{stream:?} {line}"))
        .collect();
    assert_eq!(unit_log, ["Stderr flaky!", "Stdout ok"]);
    let run_log = test.store.run_log(&run.run_id.0).await.unwrap();
    let run_lines: Vec<String> = run_log
        .iter()
        .map(|line| format!("{} {}", line.path, line.line.line))
        .collect();
    assert_eq!(run_lines.first().unwrap(), "setup/tools setup/tools line 1");
    assert_eq!(run_lines.last().unwrap(), "finally/notify finally/notify line 1");
    assert_eq!(run_lines.len(), 1 + 3 + 2 + 1);

    // Events: every state change but stages and output, in time order.
    let kinds: Vec<String> = test
        .store
        .events_for_chain(&run.run_id.0)
        .await
        .unwrap()
        .iter()
        .map(|event| {
            event["context"]["type"]
                .as_str()
                .unwrap()
                .trim_start_matches("dev.cdevents.")
                .to_owned()
        })
        .collect();
    let expected_kinds = events
        .iter()
        .filter(|event| {
            !matches!(
                event.kind,
                RunEventKind::TaskOutput { .. }
                    | RunEventKind::StageStarted { .. }
                    | RunEventKind::StageFinished { .. }
            )
        })
        .count();
    assert_eq!(kinds.len(), expected_kinds);
    assert_eq!(kinds.first().unwrap(), "pipelinerun.queued.0.3.0");
    assert_eq!(kinds.last().unwrap(), "pipelinerun.finished.0.3.0");
    assert!(kinds.contains(&"artifact.packaged.0.3.0".to_owned()));
}

async fn recording_the_same_events_again_changes_nothing(test: TestStore) {
    let artifact = test.file("hello", b"hello");
    let mut run = RunBuilder::new("hello", 1);
    let events = full_run(&mut run, &artifact, HELLO_SHA256, RunResult::Failure);
    test.store.record_allocated(&events).await.unwrap();
    let before = test.store.find_run(&run.run_id.0).await.unwrap().unwrap();
    let log_before = test.store.run_log(&run.run_id.0).await.unwrap();
    let events_before = test.store.events_for_chain(&run.run_id.0).await.unwrap();

    // Whole, one by one, and in reverse: still nothing changes (the source file is gone too,
    // which is fine since its digest is stored).
    std::fs::remove_file(&artifact).unwrap();
    test.store.record_allocated(&events).await.unwrap();
    for event in &events {
        test.store
            .record_allocated(std::slice::from_ref(event))
            .await
            .unwrap();
    }
    let reversed: Vec<_> = events.iter().rev().cloned().collect();
    test.store.record_allocated(&reversed).await.unwrap();

    assert_eq!(test.store.find_run(&run.run_id.0).await.unwrap().unwrap(), before);
    assert_eq!(test.store.run_log(&run.run_id.0).await.unwrap(), log_before);
    assert_eq!(
        test.store.events_for_chain(&run.run_id.0).await.unwrap(),
        events_before
    );
    assert_eq!(before.summary.result, RunStatus::Failure);
}

async fn a_failing_batch_records_nothing(test: TestStore) {
    let mut run = RunBuilder::new("hello", 1);
    let mut events = vec![run.queued(), run.started()];
    let wrong = test.file("wrong", b"not hello");
    events.push(run.event(RunEventKind::ArtifactPackaged {
        path: TaskPath("build/compile".into()),
        name: "wrong".into(),
        source: wrong.display().to_string(),
        size: 9,
        sha256: HELLO_SHA256.into(),
    }));
    let err = test.store.record_allocated(&events).await.unwrap_err();
    assert!(matches!(err, StoreError::DigestMismatch { .. }), "{err:?}");
    assert!(test.store.find_run(&run.run_id.0).await.unwrap().is_none());

    let missing = run.event(RunEventKind::ArtifactPackaged {
        path: TaskPath("build/compile".into()),
        name: "gone".into(),
        source: test.dir.path().join("gone").display().to_string(),
        size: 1,
        sha256: "1".repeat(64),
    });
    let err = test.store.record_allocated(&[missing]).await.unwrap_err();
    assert!(err.to_string().contains("failed to read the artifact"), "{err}");

    // Events of a run that was never queued are refused, and the batch with them.
    let mut stranger = RunBuilder::new("hello", 2);
    let err = test
        .store
        .record_allocated(&[run.queued(), stranger.started()])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::UnknownRun { .. }), "{err:?}");
    assert!(
        test.store
            .list_runs(&RunFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
}

async fn lists_runs_newest_first_with_filters(test: TestStore) {
    for (app, build, branch, result) in [
        ("hello", 1, "main", RunResult::Success),
        ("hello", 2, "feature/x", RunResult::Failure),
        ("world", 1, "main", RunResult::Success),
        ("hello", 3, "main", RunResult::Cancelled),
    ] {
        let mut run = RunBuilder::new(app, build);
        let mut queued = run.queued();
        if let RunEventKind::RunQueued(info) = &mut queued.kind {
            info.branch = Some(branch.into());
        }
        let events = [queued, run.started(), run.finished(result)];
        test.store.record_allocated(&events).await.unwrap();
    }
    let mut running = RunBuilder::new("world", 2);
    test.store.record_allocated(&[running.queued()]).await.unwrap();

    let list = |filter: RunFilter| {
        let store = test.store.clone();
        async move {
            store
                .list_runs(&filter)
                .await
                .unwrap()
                .into_iter()
                .map(|run| format!("{}#{} {}", run.app, run.build, run.result))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list(RunFilter::default()).await,
        [
            "world#2 running",
            "hello#3 cancelled",
            "world#1 success",
            "hello#2 failure",
            "hello#1 success"
        ]
    );
    let hello = RunFilter {
        app: Some("hello".into()),
        ..RunFilter::default()
    };
    assert_eq!(
        list(hello.clone()).await,
        ["hello#3 cancelled", "hello#2 failure", "hello#1 success"]
    );
    assert_eq!(
        list(RunFilter {
            limit: Some(1),
            offset: 1,
            ..hello.clone()
        })
        .await,
        ["hello#2 failure"]
    );
    assert_eq!(
        list(RunFilter {
            branch: Some("main".into()),
            result: Some(RunStatus::Success),
            ..RunFilter::default()
        })
        .await,
        ["world#1 success", "hello#1 success"]
    );
    assert_eq!(
        list(RunFilter {
            result: Some(RunStatus::Running),
            ..RunFilter::default()
        })
        .await,
        ["world#2 running"]
    );

    let apps: Vec<String> = test
        .store
        .apps()
        .await
        .unwrap()
        .into_iter()
        .map(|app| format!("{} {} #{}", app.name, app.runs, app.last_run.build))
        .collect();
    assert_eq!(apps, ["hello 3 #3", "world 2 #2"]);

    let listed = test.store.list_runs(&hello).await.unwrap();
    assert_eq!(listed[0].result, RunStatus::Cancelled);
    assert_eq!(listed[0].build, 3);
}

/// `since` and `until` bound the queued time: `since` included, `until` excluded; they combine
/// with the other filters and with paging.
async fn lists_runs_in_a_time_window(test: TestStore) {
    let mut queued = Vec::new();
    for (app, build) in [
        ("hello", 1),
        ("world", 1),
        ("hello", 2),
        ("world", 2),
        ("hello", 3),
    ] {
        let mut run = RunBuilder::new(app, build);
        let event = run.queued();
        queued.push(event.at);
        test.store.record_allocated(&[event]).await.unwrap();
    }
    let list = |filter: RunFilter| {
        let store = test.store.clone();
        async move {
            store
                .list_runs(&filter)
                .await
                .unwrap()
                .into_iter()
                .map(|run| format!("{}#{}", run.app, run.build))
                .collect::<Vec<_>>()
        }
    };
    let window = RunFilter {
        since: Some(queued[1]),
        until: Some(queued[4]),
        ..RunFilter::default()
    };
    assert_eq!(list(window.clone()).await, ["world#2", "hello#2", "world#1"]);
    assert_eq!(
        list(RunFilter {
            app: Some("hello".into()),
            ..window.clone()
        })
        .await,
        ["hello#2"]
    );
    assert_eq!(
        list(RunFilter {
            limit: Some(1),
            offset: 1,
            ..window.clone()
        })
        .await,
        ["hello#2"]
    );
    assert_eq!(
        list(RunFilter {
            since: Some(queued[3]),
            ..RunFilter::default()
        })
        .await,
        ["hello#3", "world#2"]
    );
    assert_eq!(
        list(RunFilter {
            until: Some(queued[1]),
            ..RunFilter::default()
        })
        .await,
        ["hello#1"]
    );
    // A moment after a run was queued excludes it from `since`, includes it in `until`.
    let later = |at: chrono::DateTime<chrono::Utc>| at + chrono::Duration::microseconds(1);
    assert_eq!(
        list(RunFilter {
            since: Some(later(queued[3])),
            until: Some(later(queued[4])),
            ..RunFilter::default()
        })
        .await,
        ["hello#3"]
    );
    assert!(
        list(RunFilter {
            since: Some(queued[2]),
            until: Some(queued[2]),
            ..RunFilter::default()
        })
        .await
        .is_empty()
    );
}

async fn an_ambiguous_query_lists_the_candidates(test: TestStore) {
    let mut first = RunBuilder::new("hello", 1);
    first.run_id.0 = "abc-1".into();
    let mut second = RunBuilder::new("hello", 2);
    second.run_id.0 = "abc-2".into();
    test.store
        .record_allocated(&[first.queued(), second.queued()])
        .await
        .unwrap();

    let err = test.store.find_run("abc").await.unwrap_err();
    assert!(
        matches!(&err, StoreError::AmbiguousRun { candidates, .. } if candidates == &["abc-1", "abc-2"]),
        "{err}"
    );
    assert_eq!(
        test.store.find_run("abc-2").await.unwrap().unwrap().summary.id,
        "abc-2"
    );
}

async fn a_run_finishes_once_and_closes_what_was_left_running(test: TestStore) {
    let mut run = RunBuilder::new("hello", 1);
    let mut events = vec![
        run.queued(),
        run.started(),
        run.stage_started("build"),
        run.task_started("build/compile"),
    ];
    events.push(run.output("build/compile", "working"));
    events.push(run.finished(RunResult::Cancelled));
    events.push(run.finished(RunResult::Success));
    test.store.record_allocated(&events).await.unwrap();

    let detail = test.store.find_run(&run.run_id.0).await.unwrap().unwrap();
    assert_eq!(detail.summary.result, RunStatus::Cancelled);
    assert_eq!(detail.tasks[0].status, TaskStatus::Interrupted);
    assert!(detail.tasks[0].finished_at.is_some());
    assert_eq!(detail.stages[0].status, TaskStatus::Interrupted);
    let finished = test
        .store
        .events_for_chain(&run.run_id.0)
        .await
        .unwrap()
        .into_iter()
        .filter(|event| event["context"]["type"] == "dev.cdevents.pipelinerun.finished.0.3.0")
        .count();
    assert_eq!(finished, 1);
}

async fn output_before_a_task_starts_is_kept(test: TestStore) {
    let mut run = RunBuilder::new("hello", 1);
    let events = [
        run.queued(),
        run.output("setup/tools", "early"),
        run.task_started("setup/tools"),
    ];
    test.store.record_allocated(&events).await.unwrap();
    let log = test
        .store
        .task_log(&run.run_id.0, "setup/tools", 0, 10)
        .await
        .unwrap();
    assert_eq!(log.len(), 1);
    let detail = test.store.find_run(&run.run_id.0).await.unwrap().unwrap();
    assert_eq!(detail.tasks[0].status, TaskStatus::Running);
    assert_eq!(detail.stages[0].status, TaskStatus::Running);
}

async fn opens_an_existing_store_again(test: TestStore) {
    let mut run = RunBuilder::new("hello", 1);
    let artifact = test.file("hello.txt", b"hello");
    let events = full_run(&mut run, &artifact, HELLO_SHA256, RunResult::Success);
    test.store.record_allocated(&events).await.unwrap();
    let before = test.store.find_run(&run.run_id.0).await.unwrap().unwrap();
    test.store.close().await;
    // The schema is up to date already: opening again migrates nothing and loses nothing.
    let again = test.open_another().await;
    assert_eq!(again.find_run(&run.run_id.0).await.unwrap(), Some(before));
    assert_eq!(again.run_log(&run.run_id.0).await.unwrap().len(), 7);
    // 1 was allocated for the run.
    assert_eq!(again.allocate_build("hello").await.unwrap(), 2);
    again.close().await;
}

#[tokio::test]
async fn a_bare_path_is_a_sqlite_store() {
    let test = TestStore::sqlite().await;
    let mut run = RunBuilder::new("hello", 1);
    test.store.record_allocated(&[run.queued()]).await.unwrap();
    test.store.close().await;
    let bare = gantry_store::Store::open(&test.dir.path().join("data/gantry.db").display().to_string())
        .await
        .unwrap();
    assert_eq!(bare.list_runs(&RunFilter::default()).await.unwrap().len(), 1);
}

#[tokio::test]
async fn refuses_what_it_cannot_open() {
    let check = |url: &'static str, expect: &'static str| async move {
        let err = gantry_store::Store::open(url).await.unwrap_err();
        assert!(err.to_string().contains(expect), "{url}: {err}");
    };
    check(
        "postgres://postgres@127.0.0.1/gantry",
        "needs an artifact location",
    )
    .await;
    check("mysql://localhost/gantry", "is not a database url").await;
    check("sqlite::memory:", "is not a database url").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, "").unwrap();
    let url = format!("sqlite://{}/gantry.db", file.display());
    let err = gantry_store::Store::open(&url).await.unwrap_err();
    assert!(matches!(err, StoreError::CreateDir { .. }), "{err:?}");
    // A file that is not a database.
    let not_db = dir.path().join("not.db");
    std::fs::write(
        &not_db,
        "this is not a database, just some text that is long enough ".repeat(100),
    )
    .unwrap();
    let err = gantry_store::Store::open(&not_db.display().to_string())
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Connect { .. } | StoreError::Migrate { .. }),
        "{err:?}"
    );
    // A PostgreSQL database that does not exist, or a server that does not answer.
    let options = gantry_store::StoreOptions {
        artifacts: Some(gantry_store::ArtifactLocation::Dir(dir.path().join("artifacts"))),
    };
    for url in [
        "postgres://postgres@127.0.0.1:5432/gantry_no_such_database",
        "postgres://postgres@127.0.0.1:1/gantry",
    ] {
        let err = gantry_store::Store::open_with(url, &options).await.unwrap_err();
        assert!(matches!(err, StoreError::Connect { .. }), "{url}: {err:?}");
        assert!(err.to_string().contains(url), "{url}: {err}");
    }
}

/// 200 trivial tasks, recorded one event per transaction as the engine emits them. Prints the
/// time per task; the figure belongs in the benchmarks, not in an assertion.
async fn records_two_hundred_tasks(test: TestStore) {
    let mut run = RunBuilder::new("big", 1);
    let mut events = vec![run.queued(), run.started(), run.stage_started("build")];
    for index in 0..200 {
        events.extend(run.task(&format!("build/task-{index}"), 2));
    }
    events.push(run.stage_finished("build", TaskOutcome::Success));
    events.push(run.finished(RunResult::Success));

    let start = std::time::Instant::now();
    for event in &events {
        test.store
            .record_allocated(std::slice::from_ref(event))
            .await
            .unwrap();
    }
    let one_by_one = start.elapsed();

    let mut batched = RunBuilder::new("big", 2);
    let mut batch = vec![batched.queued(), batched.started()];
    for index in 0..200 {
        batch.extend(batched.task(&format!("build/task-{index}"), 2));
    }
    let start = std::time::Instant::now();
    test.store.record_allocated(&batch).await.unwrap();
    let in_one = start.elapsed();

    eprintln!(
        "200 tasks (4 events each): {:.3} ms per task one event per transaction, {:.3} ms per task in one batch",
        one_by_one.as_secs_f64() * 1000.0 / 200.0,
        in_one.as_secs_f64() * 1000.0 / 200.0
    );
    let detail = test.store.find_run(&run.run_id.0).await.unwrap().unwrap();
    assert_eq!(detail.tasks.len(), 200);
    assert!(detail.tasks.iter().all(|task| task.status == TaskStatus::Success));
    assert_eq!(test.store.run_log(&batched.run_id.0).await.unwrap().len(), 400);
}

/// Log lines sent in overlapping batches, interleaved between tasks, some twice in one batch,
/// more than one insert's worth at once: each task's log is every line once, in order,
/// numbered 1, 2, 3, ... without a gap.
async fn log_lines_are_numbered_without_gaps_across_batches(test: TestStore) {
    let mut run = RunBuilder::new("chatty", 1);
    let mut events = vec![run.queued(), run.started()];
    events.push(run.task_started("build/a"));
    events.push(run.task_started("build/b"));
    for index in 1..=260 {
        let path = if index % 3 == 0 { "build/b" } else { "build/a" };
        events.push(run.output(path, &format!("{path} {index}")));
    }
    // Batches overlap by 40 events, and one line comes twice in its batch.
    let mut start = 0;
    while start < events.len() {
        let end = (start + 150).min(events.len());
        let mut batch = events[start..end].to_vec();
        batch.push(batch[batch.len() / 2].clone());
        test.store.record_allocated(&batch).await.unwrap();
        start = end.saturating_sub(40).max(start + 1);
        if end == events.len() {
            break;
        }
    }
    for (path, expected) in [("build/a", 260 - 260 / 3), ("build/b", 260 / 3)] {
        let log = test.store.task_log(&run.run_id.0, path, 0, 1000).await.unwrap();
        let seqs: Vec<u64> = log.iter().map(|line| line.seq).collect();
        assert_eq!(seqs, (1..=expected).collect::<Vec<u64>>(), "{path}");
        let indexes: Vec<u32> = log
            .iter()
            .map(|line| line.line.rsplit(' ').next().unwrap().parse().unwrap())
            .collect();
        assert!(
            indexes.windows(2).all(|pair| pair[0] < pair[1]),
            "{path}: {indexes:?}"
        );
    }
}

/// Output events of many lines each (what one read of a pipe brings), recorded in batches that
/// repeat events, with lines longer than an insert's worth and one very long line: every line
/// once, whole, in order, numbered 1, 2, 3, ... without a gap.
async fn batches_of_many_lines_are_numbered_without_gaps(test: TestStore) {
    let mut run = RunBuilder::new("chatty", 1);
    let mut events = vec![run.queued(), run.started(), run.task_started("build/a")];
    let huge = "x".repeat(1 << 20);
    let mut expected = Vec::new();
    for event in 0..12 {
        let lines: Vec<String> = if event == 5 {
            vec!["before".to_owned(), huge.clone(), "after".to_owned()]
        } else {
            (0..=(event * 97)).map(|line| format!("{event}.{line}")).collect()
        };
        expected.extend(lines.iter().cloned());
        events.push(run.output_lines("build/a", &lines));
    }
    for batch in [&events[..6], &events[4..9], &events[..], &events[8..]] {
        test.store.record_allocated(batch).await.unwrap();
    }
    let log = test
        .store
        .task_log(&run.run_id.0, "build/a", 0, 100_000)
        .await
        .unwrap();
    let seqs: Vec<u64> = log.iter().map(|line| line.seq).collect();
    let numbers: Vec<u64> = (1..=expected.len() as u64).collect();
    assert_eq!(seqs, numbers);
    let lines: Vec<&str> = log.iter().map(|line| line.line.as_str()).collect();
    assert!(lines == expected, "every line once, in order, whole");
    // A reader following from any line gets exactly what comes after it.
    let rest = test
        .store
        .task_log(&run.run_id.0, "build/a", 100, 100_000)
        .await
        .unwrap();
    assert_eq!(rest.first().map(|line| line.seq), Some(101));
}

/// A run of part of the pipeline (`--to`, `--only`) says so wherever it is read back; a whole
/// run says `all`.
async fn a_partial_run_is_recorded_as_partial(test: TestStore) {
    let mut whole = RunBuilder::new("hello", 1);
    let mut partial = RunBuilder::new("hello", 2);
    let mut queued = partial.queued();
    if let RunEventKind::RunQueued(info) = &mut queued.kind {
        info.selection = Selection::Only("test/unit".into());
        info.runner = Some(gantry_model::Runner {
            host: "build-agent-7".into(),
            pid: 4242,
        });
    }
    let events = vec![
        whole.queued(),
        whole.finished(RunResult::Success),
        queued,
        partial.finished(RunResult::Success),
    ];
    test.store.record_allocated(&events).await.unwrap();

    let read = |id: &str| {
        let store = &test.store;
        let id = id.to_owned();
        async move { store.find_run(&id).await.unwrap().unwrap().summary.selection }
    };
    assert_eq!(read(&whole.run_id.0).await, Selection::All);
    assert_eq!(read(&partial.run_id.0).await, Selection::Only("test/unit".into()));
    // Where it ran, as it said; a run that did not say has no runner.
    let detail = test.store.find_run(&partial.run_id.0).await.unwrap().unwrap();
    assert_eq!(
        detail.runner,
        Some(gantry_model::Runner {
            host: "build-agent-7".into(),
            pid: 4242
        })
    );
    assert_eq!(
        test.store
            .find_run(&whole.run_id.0)
            .await
            .unwrap()
            .unwrap()
            .runner,
        None
    );
    let listed = test.store.list_runs(&RunFilter::default()).await.unwrap();
    let selections: Vec<&Selection> = listed.iter().map(|run| &run.selection).collect();
    assert!(
        selections.contains(&&Selection::Only("test/unit".into())),
        "{selections:?}"
    );
    assert!(selections.contains(&&Selection::All), "{selections:?}");

    let custom = |id: &str| {
        let store = &test.store;
        let id = id.to_owned();
        async move { store.events_for_chain(&id).await.unwrap()[0]["customData"].clone() }
    };
    assert_eq!(
        custom(&partial.run_id.0).await["selection"],
        json!({"only": "test/unit"})
    );
    assert!(custom(&whole.run_id.0).await.get("selection").is_none());
}

gantry_test::on_both_backends!(
    a_partial_run_is_recorded_as_partial,
    log_lines_are_numbered_without_gaps_across_batches,
    batches_of_many_lines_are_numbered_without_gaps,
    records_a_full_run_and_reads_it_back,
    opens_an_existing_store_again,
    recording_the_same_events_again_changes_nothing,
    a_failing_batch_records_nothing,
    lists_runs_newest_first_with_filters,
    lists_runs_in_a_time_window,
    an_ambiguous_query_lists_the_candidates,
    a_run_finishes_once_and_closes_what_was_left_running,
    output_before_a_task_starts_is_kept,
    records_two_hundred_tasks,
);
