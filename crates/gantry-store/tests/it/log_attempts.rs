//! Each log line records the attempt of its task that wrote it, and how each attempt ended is
//! read back: what separates a retried task's attempts in every view of its log.

use gantry_model::{RunEventKind, TaskOutcome, TaskPath};
use gantry_store::AttemptEnd;
use gantry_test::{RecordAllocated, RunBuilder, TestStore};

const PATH: &str = "build/compile";

fn failed(
    run: &mut RunBuilder,
    attempt: u32,
    exit_code: Option<i32>,
    outcome: TaskOutcome,
) -> gantry_model::RunEvent {
    run.event(RunEventKind::TaskFinished {
        path: TaskPath(PATH.into()),
        attempt,
        outcome,
        exit_code,
        will_retry: true,
        allowed_failure: false,
    })
}

async fn each_line_records_its_attempt_across_batches(test: TestStore) {
    let mut run = RunBuilder::new("hello", 1);
    // One batch: the first attempt, its end, the second's start and first line.
    let first = [
        run.queued(),
        run.started(),
        run.task_started(PATH),
        run.output(PATH, "one"),
        failed(&mut run, 1, Some(1), TaskOutcome::Failure),
        run.attempt_started(PATH, 2),
        run.output(PATH, "two"),
    ];
    test.store.record_allocated(&first).await.unwrap();
    // Later batches: the second attempt's other line, then a third attempt, recorded after its
    // start was, as a client that sends a batch a second does.
    let second = [
        run.output(PATH, "two again"),
        failed(&mut run, 2, None, TaskOutcome::TimedOut),
        run.attempt_started(PATH, 3),
    ];
    test.store.record(&second).await.unwrap();
    let third = [
        run.output(PATH, "three"),
        run.attempt_finished(PATH, 3, TaskOutcome::Success, 0),
    ];
    test.store.record(&third).await.unwrap();
    // Sending a batch again changes nothing.
    test.store.record(&third).await.unwrap();

    let log = test.store.task_log(&run.run_id.0, PATH, 0, 100).await.unwrap();
    let lines: Vec<(u64, u32, &str)> = log
        .iter()
        .map(|line| (line.seq, line.attempt, line.line.as_str()))
        .collect();
    assert_eq!(
        lines,
        [(1, 1, "one"), (2, 2, "two"), (3, 2, "two again"), (4, 3, "three")]
    );
    let run_log = test.store.run_log(&run.run_id.0).await.unwrap();
    assert_eq!(
        run_log.iter().map(|line| line.line.attempt).collect::<Vec<_>>(),
        [1, 2, 2, 3]
    );

    let ends = test.store.task_attempts(&run.run_id.0, PATH).await.unwrap();
    assert_eq!(
        ends,
        [
            AttemptEnd {
                attempt: 1,
                outcome: TaskOutcome::Failure,
                exit_code: Some(1)
            },
            AttemptEnd {
                attempt: 2,
                outcome: TaskOutcome::TimedOut,
                exit_code: None
            },
            AttemptEnd {
                attempt: 3,
                outcome: TaskOutcome::Success,
                exit_code: Some(0)
            },
        ]
    );
    assert!(
        test.store
            .task_attempts(&run.run_id.0, "test/unit")
            .await
            .unwrap()
            .is_empty()
    );
}

gantry_test::on_both_backends!(each_line_records_its_attempt_across_batches);
