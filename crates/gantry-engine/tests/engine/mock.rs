//! Mock runs: the real engine with stand-in tasks.

use gantry_model::{RunEventKind, RunResult, Task, TaskOutcome};

use crate::harness::{Test, assert_overlap, task, when_branch};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stand_ins_run_nothing_and_say_what_they_would_run() {
    let run = Test::new()
        .mock(&[])
        .setup(vec![task("tools", "touch setup-ran")])
        .stage(
            "build",
            vec![Task {
                artifacts: vec!["missing.bin".into()],
                ..task("compile", "cargo build --release\ntouch built")
            }],
        )
        .parallel(
            "test",
            vec![task("unit", "cargo test"), task("lint", "cargo clippy")],
        )
        .finally(vec![task("notify", "exit 1")])
        .run()
        .await;
    assert_eq!(run.result, RunResult::Success);
    assert_eq!(
        run.output("build/compile"),
        ["mock: would run `cargo build --release` and 1 more line"]
    );
    assert_eq!(run.output("test/unit"), ["mock: would run `cargo test`"]);
    assert_eq!(run.finished("test/unit").exit_code, Some(0));
    assert!(!run.root.path().join("setup-ran").exists());
    assert!(!run.root.path().join("built").exists());
    assert!(
        !run.events
            .iter()
            .any(|event| matches!(event.kind, RunEventKind::ArtifactPackaged { .. }))
    );
    assert_eq!(run.outcome("finally/notify"), TaskOutcome::Success);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stand_ins_named_to_fail_fail_with_the_real_semantics() {
    let run = Test::new()
        .mock(&["unit", "build/package"])
        .branch("feature/x")
        .stage(
            "build",
            vec![
                task("compile", "true"),
                Task {
                    retry: 1,
                    ..task("package", "true")
                },
            ],
        )
        .parallel(
            "test",
            vec![task("unit", "true"), when_branch(task("e2e", "true"), "main")],
        )
        .finally(vec![task("notify", "true")])
        .run()
        .await;
    assert_eq!(run.result, RunResult::Failure);
    assert_eq!(run.outcome("build/compile"), TaskOutcome::Success);
    let attempts = run.attempts("build/package");
    assert_eq!(attempts.len(), 2, "retries apply to stand-ins");
    assert_eq!(
        (attempts[1].outcome, attempts[1].exit_code),
        (TaskOutcome::Failure, Some(1))
    );
    assert_eq!(run.skipped("test/unit").as_deref(), Some("stage `build` failed"));
    assert_eq!(run.skipped("test/e2e").as_deref(), Some("stage `build` failed"));
    assert_eq!(run.outcome("finally/notify"), TaskOutcome::Success);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_stand_in_in_a_parallel_stage_lets_its_siblings_run() {
    let run = Test::new()
        .mock(&["test/unit"])
        .parallel(
            "test",
            vec![task("unit", "cargo test"), task("lint", "cargo clippy")],
        )
        .run()
        .await;
    assert_eq!(run.outcome("test/unit"), TaskOutcome::Failure);
    assert_eq!(run.outcome("test/lint"), TaskOutcome::Success);
    assert_eq!(run.stage_outcome("test"), TaskOutcome::Failure);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stand_ins_honour_the_job_slots() {
    // With one slot, the two stand-ins cannot overlap; with two they may, but need not.
    let run = Test::new()
        .mock(&[])
        .jobs(1)
        .parallel("test", vec![task("a", "x"), task("b", "y")])
        .run()
        .await;
    let a = (run.started("test/a"), run.ended("test/a"));
    let b = (run.started("test/b"), run.ended("test/b"));
    assert!(a.1 <= b.0 || b.1 <= a.0, "{:#?}", run.trace());
    let _ = assert_overlap;
}
