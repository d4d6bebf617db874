//! `gantry run` end to end: the real binary, real bash, a real SQLite store.

use std::collections::BTreeSet;
use std::time::Duration;

use gantry_test::{Outcome, Project};

#[test]
fn strawberry_runs_and_is_recorded() {
    let project = Project::example("strawberry");
    let out = project.run(&["run"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    // Every output line is prefixed with its task's name.
    assert!(
        out.stdout.contains("deploy-a │ deployed strawberry 2.3.1 to a"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("publish  │ publishing strawberry 2.3.1"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("strawberry#1 (version 2.3.1) succeeded"),
        "{}",
        out.stdout
    );

    let runs = project.history();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["result"], "success");
    assert_eq!(runs[0]["version"], "2.3.1");
    assert_eq!(runs[0]["traceable"], false, "not a git repository");

    let run = project.show("strawberry#1");
    let tasks = run["tasks"].as_array().unwrap();
    let paths: Vec<&str> = tasks.iter().map(|task| task["path"].as_str().unwrap()).collect();
    for path in [
        "build/package",
        "verify/a/deploy-a",
        "verify/b/test-b",
        "publish/publish",
        "finally/clean",
    ] {
        assert!(paths.contains(&path), "{path} in {paths:?}");
    }
    let artifact = &run["artifacts"][0];
    assert_eq!(artifact["name"], "out/strawberry.tar.gz");
    let bytes = std::fs::read(project.path().join("out/strawberry.tar.gz")).unwrap();
    assert_eq!(artifact["size"], bytes.len());
    // The pipeline definition is kept as it ran.
    assert_eq!(run["pipeline"]["app"], "strawberry");

    let logs = project.run(&["logs", "strawberry#1", "test-b"]);
    assert_eq!(logs.code, Some(0), "{logs:?}");
    assert!(
        logs.stdout.contains("target b runs strawberry 2.3.1"),
        "{}",
        logs.stdout
    );

    // The next run gets the next number.
    assert_eq!(project.run(&["run"]).code, Some(0));
    assert_eq!(project.history()[0]["build"], 2);
}

#[test]
fn failure_exit_code_and_skips() {
    let project = Project::with_pipeline(
        r"
app: demo
stages:
  - name: one
    tasks:
      - { name: ok, run: 'true' }
      - { name: broken, run: 'echo about to fail; exit 3' }
      - { name: never, run: 'echo never' }
  - name: two
    tasks:
      - { name: later, run: 'echo later' }
finally:
  - { name: always, run: 'echo result=$GANTRY_RESULT' }
",
    );
    let _redacted = project.redacted().bind_to_scope();
    let out = project.run(&["run"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    // `never` and `later` print nothing; `always` sees the result.
    insta::assert_snapshot!("run_failure", out.transcript());
    // The read commands, as a person sees them.
    insta::assert_snapshot!("history_failure", project.run(&["history"]).transcript());
    insta::assert_snapshot!("show_failure", project.run(&["show", "demo#1"]).transcript());
    insta::assert_snapshot!("logs_failure", project.run(&["logs", "demo#1"]).transcript());
    insta::assert_snapshot!(
        "logs_failure_one_task",
        project.run(&["logs", "demo#1", "broken"]).transcript()
    );
    insta::assert_snapshot!("show_unknown_run", project.run(&["show", "demo#9"]).transcript());
    let run = project.show("demo#1");
    assert_eq!(run["result"], "failure");
    let status = |path: &str| {
        run["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["path"] == path)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(status("one/broken"), "failure");
    assert_eq!(status("one/never"), "skipped");
    assert_eq!(status("two/later"), "skipped");
    assert_eq!(status("finally/always"), "success");
}

#[test]
fn invalid_pipeline_exits_2_and_runs_nothing() {
    let project =
        Project::with_pipeline("app: demo\nstages:\n  - name: a\n    parralel: true\n    tasks: []\n");
    let out = project.run(&["run"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    insta::assert_snapshot!("run_invalid_pipeline", out.transcript());
    assert!(
        !project.path().join(".gantry").exists(),
        "nothing recorded, no store created"
    );
}

#[test]
fn missing_pipeline_file_hints_init() {
    let project = Project::new();
    let _redacted = project.redacted().bind_to_scope();
    let out = project.run(&["run"]);
    assert_eq!(out.code, Some(2));
    insta::assert_snapshot!("run_without_pipeline_file", out.transcript());
}

#[test]
fn selection_to_and_only() {
    let project = Project::with_pipeline(
        r"
app: demo
setup: [{ name: prepare, run: 'echo setup-ran' }]
stages:
  - { name: build, tasks: [{ name: compile, run: 'echo compile-ran' }] }
  - { name: test, tasks: [{ name: unit, run: 'echo unit-ran' }, { name: lint, run: 'echo lint-ran' }] }
  - { name: ship, tasks: [{ name: upload, run: 'echo upload-ran' }] }
finally: [{ name: tidy, run: 'echo tidy-ran' }]
",
    );
    let _redacted = project.redacted().bind_to_scope();
    // `--to test/unit`: setup, build, `unit` and finally; not `lint`, not `ship`.
    let out = project.run(&["run", "--to", "test/unit"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    insta::assert_snapshot!("run_to", out.transcript());
    // `--only ship`: `upload` alone, without setup and finally.
    let out = project.run(&["run", "--only", "ship"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    insta::assert_snapshot!("run_only", out.transcript());
    let out = project.run(&["run", "--only", "uplod"]);
    assert_eq!(out.code, Some(2));
    insta::assert_snapshot!("run_only_unknown", out.transcript());

    // Both runs are recorded as partial, saying which part ran; a whole run is not.
    assert_eq!(project.run(&["run"]).code, Some(0));
    let selections: Vec<serde_json::Value> = project
        .history()
        .iter()
        .map(|run| run["selection"].clone())
        .collect();
    assert_eq!(
        selections,
        [
            serde_json::json!("all"),
            serde_json::json!({"only": "ship"}),
            serde_json::json!({"to": "test/unit"})
        ]
    );
    insta::assert_snapshot!("history_partial", project.run(&["history"]).transcript());
    insta::assert_snapshot!("show_partial", project.run(&["show", "demo#2"]).transcript());
}

/// The example's later stages, run alone, say which earlier task they need.
#[test]
fn strawberry_run_in_part_says_what_is_missing() {
    let project = Project::example("strawberry");
    let out = project.run(&["run", "--only", "verify"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stdout
            .contains("no package in this run: $PACKAGE comes from build/package"),
        "{}",
        out.stdout
    );
    let out = project.run(&["run", "--only", "verify/a/test-a"]);
    assert!(
        out.stdout
            .contains("nothing deployed to a in this run: $DEPLOYED_A comes from deploy-a"),
        "{}",
        out.stdout
    );
}

#[test]
fn secrets_are_masked_in_output_and_store() {
    let project = Project::with_pipeline(
        r#"
app: demo
secrets: [API_TOKEN]
stages:
  - name: use
    tasks:
      - { name: leak, run: 'echo "token is $API_TOKEN"; echo "$API_TOKEN" >&2' }
"#,
    );
    let out = project
        .command(&["run"])
        .env("API_TOKEN", "s3cr3t-value")
        .output()
        .unwrap();
    let out = Outcome::from(out);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(!out.stdout.contains("s3cr3t-value"), "{}", out.stdout);
    assert!(out.stdout.contains("token is ***"), "{}", out.stdout);
    let logs = project.run(&["logs", "demo#1"]);
    assert!(logs.stdout.contains("token is ***"), "{}", logs.stdout);
    let db = std::fs::read(project.path().join(".gantry/gantry.db")).unwrap();
    let wal = std::fs::read(project.path().join(".gantry/gantry.db-wal")).unwrap_or_default();
    for bytes in [db, wal] {
        assert!(
            !bytes.windows(12).any(|w| w == b"s3cr3t-value"),
            "the secret reached the store"
        );
    }

    // Without a value, nothing runs and the message says where to put it.
    let out = project.run(&["run"]);
    assert_eq!(out.code, Some(2));
    assert!(
        out.stderr.contains("secret `API_TOKEN` has no value"),
        "{}",
        out.stderr
    );

    // A value too short to be masked without masking ordinary output is refused.
    let out = Outcome::from(project.command(&["run"]).env("API_TOKEN", "ab").output().unwrap());
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        out.stderr.contains("secrets too short to be hidden in the log")
            && out
                .stderr
                .contains("`API_TOKEN` (in the environment) has 2 characters"),
        "{}",
        out.stderr
    );

    // A secrets file works too.
    let project = project.file("secrets.env", "API_TOKEN=from-file-value\n");
    let out = project.run(&["run", "--secrets-file", "secrets.env"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(!out.stdout.contains("from-file-value"));
}

#[test]
fn mock_mode_prints_events_and_records_nothing() {
    let project = Project::with_pipeline(
        r"
app: demo
stages:
  - { name: build, tasks: [{ name: compile, run: 'exit 1' }] }
  - name: test
    parallel: true
    tasks: [{ name: unit, run: 'false' }, { name: lint, run: 'false' }]
finally: [{ name: report, run: 'false' }]
",
    );
    let out = project.run(&["run", "--mock", "--json"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let events = out.events();
    assert_eq!(events.first().unwrap()["event"], "run_queued");
    assert_eq!(events.last().unwrap()["event"], "run_finished");
    assert_eq!(events.last().unwrap()["result"], "success");

    let out = project.run(&["run", "--mock", "--json", "--fail", "unit"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    let finished: Vec<(String, String)> = out
        .events()
        .iter()
        .filter(|event| event["event"] == "task_finished")
        .map(|event| {
            (
                event["path"].as_str().unwrap().to_owned(),
                event["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        finished.contains(&("test/unit".into(), "failure".into())),
        "{finished:?}"
    );
    assert!(
        finished.contains(&("test/lint".into(), "success".into())),
        "{finished:?}"
    );
    assert!(
        finished.contains(&("finally/report".into(), "success".into())),
        "{finished:?}"
    );
    assert!(
        !project.path().join(".gantry").exists(),
        "mock runs leave no trace"
    );
}

#[test]
fn concurrent_runs_get_unique_gap_free_build_numbers() {
    let project =
        Project::with_pipeline("app: demo\nstages:\n  - { name: s, tasks: [{ name: t, run: 'true' }] }\n");
    let children: Vec<_> = (0..20)
        .map(|_| {
            project
                .command(&["run"])
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let builds: BTreeSet<u64> = project
        .history()
        .iter()
        .map(|run| run["build"].as_u64().unwrap())
        .collect();
    assert_eq!(builds, (1..=20).collect::<BTreeSet<u64>>());
}

#[test]
fn sigterm_cancels_runs_finally_and_exits_130() {
    let project = Project::with_pipeline(
        r"
app: demo
stages:
  - { name: slow, tasks: [{ name: wait, run: 'echo started; sleep 30' }] }
finally:
  - { name: cleanup, run: 'echo cleanup saw $GANTRY_RESULT' }
",
    );
    let child = project
        .command(&["run", "--grace", "1s"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_log(&project, "demo#1", "started");
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let out = Outcome::from(child.wait_with_output().unwrap());
    assert_eq!(out.code, Some(130), "{out:?}");
    assert!(out.stdout.contains("cleanup saw cancelled"), "{}", out.stdout);
    assert_eq!(project.show("demo#1")["result"], "cancelled");
}

#[test]
fn a_second_signal_stops_a_finally_that_hangs() {
    let project = Project::with_pipeline(
        r"
app: demo
stages:
  - { name: slow, tasks: [{ name: wait, run: 'echo started; sleep 30' }] }
finally:
  - { name: stuck, run: 'echo finally started; sleep 30' }
",
    );
    let mut child = project
        .command(&["run", "--grace", "1s"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    wait_for_log(&project, "demo#1", "started");
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    wait_for_log(&project, "demo#1", "finally started");
    // The first signal leaves `finally` running.
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "gantry stopped before `finally` ended"
    );
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let out = Outcome::from(child.wait_with_output().unwrap());
    assert_eq!(out.code, Some(130), "{out:?}");
    assert!(out.stderr.contains("stopping `finally` too"), "{}", out.stderr);
    let run = project.show("demo#1");
    assert_eq!(run["result"], "cancelled");
    let stuck = run["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|task| task["path"] == "finally/stuck")
        .unwrap();
    assert_eq!(stuck["status"], "cancelled", "{run}");
}

#[test]
fn a_killed_gantry_leaves_an_interrupted_run() {
    let project = Project::with_pipeline(
        "app: demo\nstages:\n  - { name: slow, tasks: [{ name: wait, run: 'echo started; sleep 30' }] }\n",
    );
    let mut child = project
        .command(&["run"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for_log(&project, "demo#1", "started");
    child.kill().unwrap(); // SIGKILL: no chance to record anything
    child.wait().unwrap();
    let runs = project.history();
    assert_eq!(runs[0]["result"], "interrupted", "{runs:?}");
}

#[test]
fn traceability_follows_git() {
    let remote = tempfile::tempdir().unwrap();
    let project = Project::with_pipeline(
        "app: demo\nversion: '{build}-{sha}'\nstages:\n  - { name: s, tasks: [{ name: t, run: 'true' }] }\n",
    );
    project.git(&["init", "-q", "-b", "main"]);
    project.git(&["add", "."]);
    project.git(&["commit", "-q", "-m", "pipeline"]);
    // Committed but not pushed: untraceable, and refused when traceability is required.
    let out = project.run(&["run", "--require-traceable"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("not pushed"), "{}", out.stderr);

    project.git(&["init", "-q", "--bare", remote.path().to_str().unwrap()]);
    project.git(&["remote", "add", "origin", remote.path().to_str().unwrap()]);
    project.git(&["push", "-q", "origin", "main"]);
    let out = project.run(&["run", "--require-traceable"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let sha = project.git(&["rev-parse", "HEAD"]);
    let run = &project.history()[0];
    assert_eq!(run["traceable"], true);
    assert_eq!(run["revision"], sha.as_str());
    assert_eq!(run["branch"], "main");
    assert_eq!(run["version"], format!("1-{}", &sha[..7]).as_str());

    // A dirty tree makes the next run untraceable again.
    let project = project.file("notes.txt", "uncommitted\n");
    let out = project.run(&["run"]);
    assert_eq!(out.code, Some(0));
    assert!(
        out.stdout
            .contains("untraceable: the working tree has uncommitted changes"),
        "{}",
        out.stdout
    );
    assert_eq!(project.history()[0]["traceable"], false);
}

/// Waits until the run's log holds `text` (the run is live in another process).
fn wait_for_log(project: &Project, run: &str, text: &str) {
    for _ in 0..200 {
        let out = project.run(&["logs", run]);
        if out.stdout.contains(text) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("`{text}` never appeared in the log of {run}");
}
