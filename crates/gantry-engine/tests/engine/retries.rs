//! Retries and allowed failures.

use std::time::Duration;

use gantry_model::{RunResult, Task, TaskOutcome};

use crate::harness::{Finished, Test, task};

/// Fails on its first `n` runs, counting in `file`.
fn flaky(name: &str, file: &str, failures: u32) -> Task {
    task(
        name,
        &format!(
            "n=$(cat {file} 2>/dev/null || echo 0); n=$((n + 1)); echo $n > {file}; echo \"attempt $n\"; test $n -gt {failures}"
        ),
    )
}

fn finished(
    attempt: u32,
    outcome: TaskOutcome,
    exit_code: Option<i32>,
    will_retry: bool,
    allowed_failure: bool,
) -> Finished {
    Finished {
        attempt,
        outcome,
        exit_code,
        will_retry,
        allowed_failure,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_attempt_is_retried() {
    let run = Test::new()
        .stage(
            "test",
            vec![
                Task {
                    retry: 2,
                    ..flaky("flaky", "count", 1)
                },
                task("after", "true"),
            ],
        )
        .run()
        .await;
    assert_eq!(run.result, RunResult::Success);
    assert_eq!(
        run.attempts("test/flaky"),
        [
            finished(1, TaskOutcome::Failure, Some(1), true, false),
            finished(2, TaskOutcome::Success, Some(0), false, false)
        ]
    );
    assert_eq!(run.output("test/flaky"), ["attempt 1", "attempt 2"]);
    let trace = run.trace();
    let attempts: Vec<&str> = trace
        .iter()
        .filter(|line| line.contains("test/flaky"))
        .map(String::as_str)
        .collect();
    assert_eq!(
        attempts,
        [
            "task_started test/flaky 1",
            "task_finished test/flaky failure",
            "task_started test/flaky 2",
            "task_finished test/flaky success"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_run_out() {
    let run = Test::new()
        .stage(
            "test",
            vec![Task {
                retry: 1,
                ..flaky("broken", "count", 5)
            }],
        )
        .run()
        .await;
    assert_eq!(run.result, RunResult::Failure);
    assert_eq!(
        run.attempts("test/broken"),
        [
            finished(1, TaskOutcome::Failure, Some(1), true, false),
            finished(2, TaskOutcome::Failure, Some(1), false, false)
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_attempt_is_retried() {
    let slow_once = "if [ -e tried ]; then echo fast; else touch tried; sleep 1000; fi";
    let run = Test::new()
        .stage(
            "test",
            vec![Task {
                retry: 1,
                timeout: Some(Duration::from_millis(300)),
                ..task("slow", slow_once)
            }],
        )
        .run()
        .await;
    assert_eq!(run.result, RunResult::Success);
    let attempts = run.attempts("test/slow");
    assert_eq!(
        (attempts[0].outcome, attempts[0].will_retry),
        (TaskOutcome::TimedOut, true)
    );
    assert_eq!(attempts[1].outcome, TaskOutcome::Success);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allowed_failure_lets_the_pipeline_go_on() {
    let run = Test::new()
        .stage(
            "lint",
            vec![
                Task {
                    allow_failure: true,
                    retry: 1,
                    ..task("style", "exit 2")
                },
                task("after", "true"),
            ],
        )
        .stage("test", vec![task("unit", "true")])
        .run()
        .await;
    assert_eq!(run.result, RunResult::Success);
    assert_eq!(
        run.attempts("lint/style"),
        [
            finished(1, TaskOutcome::Failure, Some(2), true, false),
            finished(2, TaskOutcome::Failure, Some(2), false, true)
        ]
    );
    assert_eq!(run.outcome("lint/after"), TaskOutcome::Success);
    assert_eq!(run.stage_outcome("lint"), TaskOutcome::Success);
    assert_eq!(run.outcome("test/unit"), TaskOutcome::Success);
}
