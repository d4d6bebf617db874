//! Task processes: timeouts, process groups, stray background processes.

use std::time::{Duration, Instant};

use gantry_model::{RunResult, Task, TaskOutcome};

use crate::harness::{Test, is_gone_soon, pid_in, task};

fn with_timeout(task: Task, timeout: Duration) -> Task {
    Task {
        timeout: Some(timeout),
        ..task
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_stops_the_whole_process_group() {
    let script = "sleep 1000 & echo $! > grandchild.pid; echo started; sleep 1000";
    let run = Test::new()
        .stage(
            "test",
            vec![with_timeout(task("hang", script), Duration::from_millis(300))],
        )
        .stage("ship", vec![task("deploy", "true")])
        .run()
        .await;
    assert_eq!(run.result, RunResult::Failure);
    assert_eq!(run.outcome("test/hang"), TaskOutcome::TimedOut);
    let output = run.output("test/hang");
    assert_eq!(output[0], "started");
    assert!(
        output.iter().any(|line| line == "gantry: timed out after 300ms"),
        "{output:?}"
    );
    assert_eq!(run.skipped("ship/deploy").as_deref(), Some("stage `test` failed"));
    let grandchild = pid_in(&run, "grandchild.pid");
    assert!(
        is_gone_soon(grandchild).await,
        "the background process {grandchild} survived the timeout"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_that_ignores_sigterm_is_killed_after_the_grace_period() {
    // Ignored signals stay ignored in children: neither the shell nor `sleep` heed SIGTERM.
    let script = "trap '' TERM; sleep 1000 & echo $! > stubborn.pid; sleep 1000";
    let run = Test::new()
        .grace(Duration::from_millis(200))
        .stage(
            "test",
            vec![with_timeout(task("stubborn", script), Duration::from_millis(200))],
        )
        .run()
        .await;
    assert_eq!(run.outcome("test/stubborn"), TaskOutcome::TimedOut);
    assert!(
        run.finished("test/stubborn").exit_code.is_none(),
        "killed, not exited"
    );
    let stubborn = pid_in(&run, "stubborn.pid");
    assert!(is_gone_soon(stubborn).await, "{stubborn} survived SIGKILL");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_may_clean_up_on_sigterm() {
    let script = "trap 'echo cleaning up; exit 0' TERM; echo ready; sleep 1000 & wait";
    let run = Test::new()
        .stage(
            "test",
            vec![with_timeout(task("tidy", script), Duration::from_millis(300))],
        )
        .run()
        .await;
    assert_eq!(run.outcome("test/tidy"), TaskOutcome::TimedOut);
    assert!(
        run.output("test/tidy").contains(&"cleaning up".to_owned()),
        "{:?}",
        run.output("test/tidy")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_background_process_holding_the_output_does_not_hang_the_run() {
    let started = Instant::now();
    let script = "sleep 1000 & echo $! > leftover.pid; echo done";
    let run = Test::new()
        .stage("build", vec![task("leaky", script)])
        .stage("next", vec![task("after", "true")])
        .run()
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(run.result, RunResult::Success);
    assert_eq!(run.outcome("build/leaky"), TaskOutcome::Success);
    let output = run.output("build/leaky");
    assert_eq!(output[0], "done");
    assert!(
        output.iter().any(|line| line.contains("left processes running")),
        "{output:?}"
    );
    let leftover = pid_in(&run, "leftover.pid");
    assert!(is_gone_soon(leftover).await, "{leftover} outlived its task");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_detached_background_process_does_not_outlive_its_task() {
    let script = "sleep 1000 > /dev/null 2>&1 & echo $! > quiet.pid";
    let run = Test::new()
        .stage("build", vec![task("daemon", script)])
        .run()
        .await;
    assert_eq!(run.outcome("build/daemon"), TaskOutcome::Success);
    let quiet = pid_in(&run, "quiet.pid");
    assert!(is_gone_soon(quiet).await, "{quiet} outlived its task");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_outside_the_group_holding_the_output_does_not_hang_the_run() {
    let started = Instant::now();
    // `setsid` leaves the task's process group on purpose; it still holds stdout open.
    let script = "setsid sleep 5 & echo $! > escaped.pid; echo done";
    let run = Test::new()
        .stage("build", vec![task("escape", script)])
        .run()
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "waited for the escaped process: {:?}",
        started.elapsed()
    );
    assert_eq!(run.outcome("build/escape"), TaskOutcome::Success);
    assert_eq!(run.output("build/escape")[0], "done");
    let escaped = pid_in(&run, "escaped.pid");
    let _ = std::process::Command::new("kill")
        .arg(escaped.to_string())
        .status();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_runs_in_its_working_directory_with_no_stdin() {
    let test = Test::new();
    std::fs::create_dir_all(test.root().join("web/app")).unwrap();
    let script = "echo \"cwd=$(pwd -P)\"; if read -r line; then echo stdin=open; else echo stdin=empty; fi";
    let run = test
        .stage(
            "build",
            vec![
                Task {
                    workdir: Some("web/app".into()),
                    ..task("where", script)
                },
                task("root", "pwd -P"),
            ],
        )
        .run()
        .await;
    let root = run.root.path().canonicalize().unwrap();
    assert_eq!(
        run.printed("build/where", "cwd"),
        root.join("web/app").display().to_string()
    );
    assert_eq!(run.printed("build/where", "stdin"), "empty");
    assert_eq!(run.output("build/root"), [root.display().to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipefail_and_errexit_apply() {
    let run = Test::new()
        .stage(
            "build",
            vec![
                task("pipe", "false | cat; echo not reached"),
                task("unused", "true"),
            ],
        )
        .run()
        .await;
    assert_eq!(run.outcome("build/pipe"), TaskOutcome::Failure);
    assert!(run.output("build/pipe").is_empty());
}
