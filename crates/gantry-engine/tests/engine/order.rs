//! What runs when: setup, stages, finally; serial and parallel stages; failures and skips.

use gantry_model::{RunResult, Stage, TaskOutcome, When};

use crate::harness::{Test, assert_after, assert_overlap, group, task, when_branch};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_goes_setup_stages_finally() {
    let run = Test::new()
        .setup(vec![task("tools", "true")])
        .stage("build", vec![task("compile", "true"), task("package", "true")])
        .parallel("test", vec![task("unit", "true")])
        .finally(vec![task("notify", "true")])
        .run()
        .await;
    assert_eq!(run.result, RunResult::Success);
    assert_eq!(
        run.trace(),
        [
            "run_queued",
            "run_started",
            "task_started setup/tools 1",
            "task_finished setup/tools success",
            "stage_started build",
            "task_started build/compile 1",
            "task_finished build/compile success",
            "task_started build/package 1",
            "task_finished build/package success",
            "stage_finished build success",
            "stage_started test",
            "task_started test/unit 1",
            "task_finished test/unit success",
            "stage_finished test success",
            "task_started finally/notify 1",
            "task_finished finally/notify success",
            "run_finished success",
        ]
    );
    assert_eq!(run.finished("build/compile").exit_code, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serial_tasks_run_one_after_another() {
    let run = Test::new()
        .stage(
            "build",
            vec![task("a", "sleep 0.2"), task("b", "sleep 0.2"), task("c", "true")],
        )
        .run()
        .await;
    assert_after(&run, "build/a", "build/b");
    assert_after(&run, "build/b", "build/c");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_tasks_overlap() {
    let run = Test::new()
        .parallel("test", vec![task("a", "sleep 0.5"), task("b", "sleep 0.5")])
        .run()
        .await;
    assert_eq!(run.result, RunResult::Success);
    assert_overlap(&run, "test/a", "test/b");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_bound_the_processes_running_at_once() {
    let run = Test::new()
        .jobs(1)
        .parallel("test", vec![task("a", "sleep 0.5"), task("b", "sleep 0.5")])
        .run()
        .await;
    assert_eq!(run.result, RunResult::Success);
    let (first, second) = if run.started("test/a") < run.started("test/b") {
        ("test/a", "test/b")
    } else {
        ("test/b", "test/a")
    };
    assert_after(&run, first, second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_stage_skips_the_later_stages() {
    let run = Test::new()
        .stage(
            "build",
            vec![task("compile", "echo compiling; exit 3"), task("package", "true")],
        )
        .stage("test", vec![task("unit", "true")])
        .finally(vec![task("notify", "true")])
        .run()
        .await;
    assert_eq!(run.result, RunResult::Failure);
    let compile = run.finished("build/compile");
    assert_eq!(
        (compile.outcome, compile.exit_code),
        (TaskOutcome::Failure, Some(3))
    );
    assert_eq!(
        run.skipped("build/package").as_deref(),
        Some("`build/compile` failed")
    );
    assert_eq!(run.stage_outcome("build"), TaskOutcome::Failure);
    assert_eq!(run.skipped("test/unit").as_deref(), Some("stage `build` failed"));
    assert_eq!(run.stage_outcome("test"), TaskOutcome::Skipped);
    assert_eq!(run.outcome("finally/notify"), TaskOutcome::Success);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parallel_sibling_failure_lets_the_others_finish() {
    let run = Test::new()
        .parallel(
            "test",
            vec![task("broken", "exit 1"), task("slow", "sleep 0.3; echo done")],
        )
        .stage("ship", vec![task("deploy", "true")])
        .run()
        .await;
    assert_eq!(run.result, RunResult::Failure);
    assert_eq!(run.outcome("test/broken"), TaskOutcome::Failure);
    assert_eq!(run.outcome("test/slow"), TaskOutcome::Success);
    assert_eq!(run.output("test/slow"), ["done"]);
    assert_eq!(run.stage_outcome("test"), TaskOutcome::Failure);
    assert_eq!(run.skipped("ship/deploy").as_deref(), Some("stage `test` failed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_serial_group_in_a_parallel_stage_stops_at_its_own_failure() {
    let run = Test::new()
        .parallel(
            "test",
            vec![
                task("unit", "sleep 0.5"),
                group(
                    "acceptance",
                    vec![task("start", "sleep 0.1; exit 1"), task("check", "true")],
                ),
                group("lint", vec![task("fmt", "sleep 0.1"), task("clippy", "true")]),
            ],
        )
        .run()
        .await;
    assert_eq!(run.result, RunResult::Failure);
    assert_eq!(run.outcome("test/acceptance/start"), TaskOutcome::Failure);
    assert_eq!(
        run.skipped("test/acceptance/check").as_deref(),
        Some("`test/acceptance/start` failed")
    );
    assert_eq!(run.outcome("test/lint/clippy"), TaskOutcome::Success);
    assert_eq!(run.outcome("test/unit"), TaskOutcome::Success);
    assert_after(&run, "test/lint/fmt", "test/lint/clippy");
    assert_overlap(&run, "test/unit", "test/acceptance/start");
    assert_overlap(&run, "test/unit", "test/lint/fmt");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_setup_task_runs_and_a_failure_skips_the_stages() {
    let run = Test::new()
        .setup(vec![task("first", "exit 1"), task("second", "echo still here")])
        .stage("build", vec![task("compile", "true")])
        .finally(vec![task("notify", "echo \"result=$GANTRY_RESULT\"")])
        .run()
        .await;
    assert_eq!(run.result, RunResult::Failure);
    assert_eq!(run.outcome("setup/first"), TaskOutcome::Failure);
    assert_eq!(run.output("setup/second"), ["still here"]);
    assert_eq!(run.skipped("build/compile").as_deref(), Some("setup failed"));
    assert_eq!(run.stage_outcome("build"), TaskOutcome::Skipped);
    assert_eq!(run.printed("finally/notify", "result"), "failure");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_setup_failure_that_is_allowed_does_not_stop_the_run() {
    let run = Test::new()
        .setup(vec![gantry_model::Task {
            allow_failure: true,
            ..task("optional", "exit 1")
        }])
        .stage("build", vec![task("compile", "true")])
        .run()
        .await;
    assert_eq!(run.result, RunResult::Success);
    assert!(run.finished("setup/optional").allowed_failure);
    assert_eq!(run.outcome("build/compile"), TaskOutcome::Success);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finally_always_runs_and_every_finally_task_runs() {
    let run = Test::new()
        .stage("build", vec![task("compile", "true")])
        .finally(vec![
            task("first", "echo \"result=$GANTRY_RESULT\"; exit 1"),
            task("second", "echo \"result=$GANTRY_RESULT\""),
        ])
        .run()
        .await;
    assert_eq!(run.printed("finally/first", "result"), "success");
    // The result so far: the failed finally task made the run a failure.
    assert_eq!(run.printed("finally/second", "result"), "failure");
    assert_eq!(
        run.result,
        RunResult::Failure,
        "a failing finally task fails a successful run"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_and_stages_whose_when_is_false_are_skipped() {
    let run = Test::new()
        .branch("feature/login")
        .stage(
            "build",
            vec![
                task("compile", "true"),
                when_branch(task("publish", "exit 1"), "main"),
            ],
        )
        .stage_value(Stage {
            name: "ship".into(),
            parallel: false,
            when: Some(When {
                branch: vec!["main".into(), "release/*".into()],
            }),
            tasks: vec![task("deploy", "exit 1")],
        })
        .stage("report", vec![task("summary", "true")])
        .run()
        .await;
    assert_eq!(run.result, RunResult::Success);
    let publish = run.skipped("build/publish").unwrap();
    assert!(
        publish.contains("feature/login") && publish.contains("main"),
        "{publish}"
    );
    assert_eq!(run.stage_outcome("build"), TaskOutcome::Success);
    assert!(run.skipped("ship/deploy").unwrap().contains("release/*"));
    assert_eq!(run.stage_outcome("ship"), TaskOutcome::Skipped);
    assert_eq!(run.outcome("report/summary"), TaskOutcome::Success);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_whose_when_is_false_skips_all_its_tasks() {
    let acceptance = when_branch(
        group(
            "acceptance",
            vec![task("start", "exit 1"), task("check", "exit 1")],
        ),
        "main",
    );
    let run = Test::new()
        .parallel("test", vec![task("unit", "true"), acceptance])
        .run()
        .await;
    assert_eq!(run.result, RunResult::Success);
    assert_eq!(
        run.skipped("test/acceptance/start").as_deref(),
        Some("not on a branch")
    );
    assert_eq!(
        run.skipped("test/acceptance/check").as_deref(),
        Some("not on a branch")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_pipeline_succeeds() {
    let run = Test::new().run().await;
    assert_eq!(run.result, RunResult::Success);
    assert_eq!(run.trace(), ["run_queued", "run_started", "run_finished success"]);
}
