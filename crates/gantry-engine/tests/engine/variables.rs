//! The environment of a task: pipeline and task `env`, built-in `GANTRY_*` variables.

use gantry_model::{RunResult, Task};

use crate::harness::{Test, task};

const PRINT: &str = r#"
    for name in GANTRY_APP GANTRY_VERSION GANTRY_BUILD GANTRY_RUN_ID GANTRY_REVISION GANTRY_BRANCH \
        GANTRY_STAGE GANTRY_TASK GANTRY_CONTEXT LEVEL SHARED; do
        echo "$name=${!name}"
    done
    echo "GANTRY_RESULT=${GANTRY_RESULT-unset}"
    test -f "$GANTRY_CONTEXT" && test ! -s "$GANTRY_CONTEXT" && echo "context=fresh"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_see_the_built_in_variables() {
    let mut with_env = task("compile", PRINT);
    with_env.env.insert("LEVEL".into(), "task".into());
    let run = Test::new()
        .env("LEVEL", "pipeline")
        .env("SHARED", "from the pipeline")
        .setup(vec![task("tools", PRINT)])
        .stage("build", vec![with_env])
        .finally(vec![task("notify", PRINT)])
        .run()
        .await;
    assert_eq!(run.result, RunResult::Success);
    let run_id = run.events[0].run_id.0.clone();
    let check = |path: &str, stage: &str, task: &str, level: &str, result: &str| {
        assert_eq!(run.printed(path, "GANTRY_APP"), "demo");
        assert_eq!(run.printed(path, "GANTRY_VERSION"), "1.0.7");
        assert_eq!(run.printed(path, "GANTRY_BUILD"), "7");
        assert_eq!(run.printed(path, "GANTRY_RUN_ID"), run_id);
        assert_eq!(run.printed(path, "GANTRY_REVISION"), "0123abcd");
        assert_eq!(
            run.printed(path, "GANTRY_BRANCH"),
            "",
            "empty when not on a branch"
        );
        assert_eq!(run.printed(path, "GANTRY_STAGE"), stage);
        assert_eq!(run.printed(path, "GANTRY_TASK"), task);
        assert_eq!(run.printed(path, "LEVEL"), level);
        assert_eq!(run.printed(path, "SHARED"), "from the pipeline");
        assert_eq!(run.printed(path, "GANTRY_RESULT"), result);
        assert_eq!(run.printed(path, "context"), "fresh");
    };
    check("setup/tools", "setup", "tools", "pipeline", "unset");
    check("build/compile", "build", "compile", "task", "unset");
    check("finally/notify", "finally", "notify", "pipeline", "success");
    assert_ne!(
        run.printed("setup/tools", "GANTRY_CONTEXT"),
        run.printed("build/compile", "GANTRY_CONTEXT")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_branch_is_exported() {
    let run = Test::new()
        .branch("main")
        .stage("build", vec![task("compile", "echo \"branch=$GANTRY_BRANCH\"")])
        .run()
        .await;
    assert_eq!(run.printed("build/compile", "branch"), "main");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_cannot_override_the_built_in_variables_through_env() {
    let mut task = Task::script("compile", "echo \"stage=$GANTRY_STAGE\"");
    task.env.insert("GANTRY_STAGE".into(), "spoofed".into());
    let run = Test::new().stage("build", vec![task]).run().await;
    assert_eq!(run.printed("build/compile", "stage"), "build");
}
