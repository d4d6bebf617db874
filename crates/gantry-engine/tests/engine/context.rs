//! Context: `KEY=VALUE` lines a task writes to `$GANTRY_CONTEXT` become later tasks' variables.

use gantry_model::{LogStream, RunResult, Task, TaskOutcome};

use crate::harness::{Test, group, task};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_flows_to_every_later_task() {
    let run = Test::new()
        .setup(vec![task(
            "tools",
            "echo 'TOOLCHAIN=stable' >> \"$GANTRY_CONTEXT\"",
        )])
        .stage(
            "build",
            vec![
                task(
                    "compile",
                    r#"
                    echo "toolchain=$TOOLCHAIN"
                    {
                        echo '# a comment'
                        echo ''
                        echo 'IMAGE=registry/app:1.0=final'
                        echo 'not an assignment'
                        echo 'GANTRY_STAGE=spoofed'
                    } >> "$GANTRY_CONTEXT"
                    "#,
                ),
                task("package", "echo \"image=$IMAGE\""),
            ],
        )
        .stage(
            "ship",
            vec![task(
                "deploy",
                "echo \"image=$IMAGE toolchain=$TOOLCHAIN stage=$GANTRY_STAGE\"",
            )],
        )
        .finally(vec![task("notify", "echo \"image=$IMAGE\"")])
        .run()
        .await;
    assert_eq!(run.result, RunResult::Success);
    assert_eq!(run.printed("build/compile", "toolchain"), "stable");
    assert_eq!(run.printed("build/package", "image"), "registry/app:1.0=final");
    assert_eq!(
        run.printed("ship/deploy", "image"),
        "registry/app:1.0=final toolchain=stable stage=ship"
    );
    assert_eq!(run.printed("finally/notify", "image"), "registry/app:1.0=final");
    let warnings = run.output_of("build/compile", Some(LogStream::Stderr));
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].contains("line 4") && warnings[0].contains("KEY=VALUE"),
        "{warnings:?}"
    );
    assert!(
        warnings[1].contains("line 5") && warnings[1].contains("reserved"),
        "{warnings:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_task_passes_nothing_on() {
    let run = Test::new()
        .stage(
            "build",
            vec![
                Task {
                    allow_failure: true,
                    ..task("broken", "echo 'LEAKED=yes' >> \"$GANTRY_CONTEXT\"; exit 1")
                },
                task("after", "echo \"leaked=${LEAKED:-no}\""),
            ],
        )
        .run()
        .await;
    assert_eq!(run.outcome("build/broken"), TaskOutcome::Failure);
    assert_eq!(run.printed("build/after", "leaked"), "no");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_branches_start_from_the_stage_context_and_merge_in_declaration_order() {
    let run = Test::new()
        .stage("prepare", vec![task("init", "echo 'SHARED=initial' >> \"$GANTRY_CONTEXT\"")])
        .parallel(
            "test",
            vec![
                // Declared first and (by its sleep) usually finished last: it loses to the later
                // branches on `SHARED` whatever the order the branches finish in.
                group(
                    "first",
                    vec![
                        task("write", "sleep 0.3; echo 'SHARED=first' >> \"$GANTRY_CONTEXT\"; echo 'FIRST=1' >> \"$GANTRY_CONTEXT\""),
                        task("read", "echo \"first=$FIRST shared=$SHARED\""),
                    ],
                ),
                task("second", "echo \"shared=$SHARED first=${FIRST:-unset}\"; echo 'SHARED=second' >> \"$GANTRY_CONTEXT\""),
                task("third", "sleep 0.1; echo \"shared=$SHARED\"; echo 'THIRD=3' >> \"$GANTRY_CONTEXT\""),
            ],
        )
        .stage("report", vec![task("summary", "echo \"shared=$SHARED first=$FIRST third=$THIRD\"")])
        .run()
        .await;
    assert_eq!(run.result, RunResult::Success);
    assert_eq!(
        run.printed("test/first/read", "first"),
        "1 shared=first",
        "additions flow within a serial group"
    );
    assert_eq!(
        run.printed("test/second", "shared"),
        "initial first=unset",
        "branches do not see each other"
    );
    assert_eq!(run.printed("test/third", "shared"), "initial");
    assert_eq!(run.printed("report/summary", "shared"), "second first=1 third=3");
}
