//! The web UI's demo data, recorded into a kit store as the engine would have sent it: the
//! pipeline of the product brief, apps with a history, a run caught running, a wide pipeline.

use chrono::{DateTime, Duration, Utc};
use gantry_model::{LogStream, Pipeline, RunEvent, RunEventKind, RunResult, TaskOutcome, TaskPath};
use gantry_test::run::sha256;
use gantry_test::{PipelineBuilder, RecordAllocated, RunBuilder, TestStore, group, task};

/// The pipeline of the product brief: setup, a build with an artifact, a parallel test stage
/// with a serial group, a deployment, and finally.
pub fn pipeline(app: &str) -> Pipeline {
    PipelineBuilder::new(app)
        .version("1.4.{build}")
        .setup(vec![task("tools", "./ci/check-tools.sh")])
        .stage("build", vec![task("compile", "cargo build --release")])
        .parallel(
            "test",
            vec![
                task("unit", "cargo test"),
                group(
                    "acceptance",
                    vec![
                        task("start", "./ci/start.sh"),
                        task("check", "./ci/acceptance.sh"),
                    ],
                ),
            ],
        )
        .stage("staging", vec![task("deploy", "./ci/deploy.sh staging")])
        .finally(vec![task("notify", "./ci/notify.sh")])
        .build()
}

/// Every task of [`pipeline`], in the order the engine runs them.
pub const TASKS: [&str; 7] = [
    "setup/tools",
    "build/compile",
    "test/unit",
    "test/acceptance/start",
    "test/acceptance/check",
    "staging/deploy",
    "finally/notify",
];

/// A run of [`pipeline`] queued at `at`, of a revision of its own.
pub fn demo_run(app: &str, build: u64, at: DateTime<Utc>) -> RunBuilder {
    RunBuilder::new(app, build)
        .pipeline(pipeline(app))
        .revision(&revision(&format!("{app}#{build}")))
        .at(at)
}

/// Records `events` as the engine would have, its build numbers allocated first.
pub async fn record(test: &TestStore, events: &[RunEvent]) {
    test.store.record_allocated(events).await.unwrap();
}

/// A task that starts, writes `lines` over `millis`, and ends with `outcome` (a failure exits
/// 101, as a panicking test does).
pub fn timed_task(
    run: &mut RunBuilder,
    path: &str,
    lines: &[(LogStream, &str)],
    millis: i64,
    outcome: TaskOutcome,
) -> Vec<RunEvent> {
    let mut events = vec![run.task_started(path)];
    let step = millis / i64::try_from(lines.len() + 1).unwrap();
    for (stream, line) in lines {
        run.wait(step);
        events.push(run.output_on(path, *stream, line));
    }
    run.wait(step);
    let exit_code = match outcome {
        TaskOutcome::Success => 0,
        _ => 101,
    };
    events.push(run.attempt_finished(path, 1, outcome, exit_code));
    events
}

/// Plausible output of each task of [`pipeline`].
pub fn output_of(path: &str) -> Vec<(LogStream, &'static str)> {
    use LogStream::{Stderr, Stdout};
    match path {
        "setup/tools" => vec![
            (Stdout, "cargo 1.95.0"),
            (Stdout, "git version 2.39.5"),
            (Stdout, "all tools present"),
        ],
        "build/compile" => vec![
            (Stderr, "   Compiling serde v1.0.228"),
            (Stderr, "   Compiling tokio v1.54.1"),
            (Stderr, "   Compiling hello v0.1.0 (/work/hello)"),
            (
                Stderr,
                "    Finished `release` profile [optimized] target(s) in 41.27s",
            ),
        ],
        "test/unit" => vec![
            (Stdout, "running 48 tests"),
            (Stdout, "test config::parses_defaults ... ok"),
            (Stdout, "test routes::health_is_ok ... ok"),
            (
                Stdout,
                "test result: ok. 48 passed; 0 failed; 0 ignored; finished in 0.84s",
            ),
        ],
        "test/acceptance/start" => vec![
            (Stdout, "starting hello on 127.0.0.1:8080"),
            (Stdout, "ready after 1.2s"),
        ],
        "test/acceptance/check" => vec![
            (Stdout, "GET /health 200"),
            (Stdout, "GET /hello 200"),
            (Stdout, "12 checks passed"),
        ],
        "staging/deploy" => vec![
            (Stdout, "deploying hello 1.4 to staging (2 hosts)"),
            (Stdout, "staging healthy"),
        ],
        _ => vec![(Stdout, "done")],
    }
}

/// The events of a whole run of [`pipeline`] that ends with `result`; a failed run fails at
/// `test/unit`, with an error on stderr.
pub fn whole_run(run: &mut RunBuilder, result: RunResult) -> Vec<RunEvent> {
    use TaskOutcome::{Failure, Skipped, Success};
    let mut events = vec![run.queued(), run.started()];
    events.push(run.stage_started("setup"));
    events.extend(timed_task(
        run,
        "setup/tools",
        &output_of("setup/tools"),
        1_200,
        Success,
    ));
    events.push(run.stage_finished("setup", Success));
    events.push(run.stage_started("build"));
    events.extend(timed_task(
        run,
        "build/compile",
        &output_of("build/compile"),
        48_000,
        Success,
    ));
    events.push(run.stage_finished("build", Success));
    events.push(run.stage_started("test"));
    let failing = result == RunResult::Failure;
    if failing {
        events.extend(timed_task(
            run,
            "test/unit",
            &[
                (LogStream::Stdout, "running 48 tests"),
                (LogStream::Stdout, "test payments::refund_rounds_down ... FAILED"),
                (
                    LogStream::Stderr,
                    "thread 'payments::refund_rounds_down' panicked at src/payments.rs:88:9:",
                ),
                (
                    LogStream::Stderr,
                    "assertion `left == right` failed: refund of 10.005 EUR",
                ),
                (
                    LogStream::Stdout,
                    "test result: FAILED. 47 passed; 1 failed; 0 ignored",
                ),
            ],
            9_000,
            Failure,
        ));
    } else {
        events.extend(timed_task(
            run,
            "test/unit",
            &output_of("test/unit"),
            9_000,
            Success,
        ));
    }
    events.extend(timed_task(
        run,
        "test/acceptance/start",
        &output_of("test/acceptance/start"),
        2_000,
        Success,
    ));
    events.extend(timed_task(
        run,
        "test/acceptance/check",
        &output_of("test/acceptance/check"),
        6_500,
        Success,
    ));
    events.push(run.stage_finished("test", if failing { Failure } else { Success }));
    events.push(run.stage_started("staging"));
    if failing {
        events.push(run.skipped("staging/deploy", "stage `test` failed"));
        events.push(run.stage_finished("staging", Skipped));
    } else {
        events.extend(timed_task(
            run,
            "staging/deploy",
            &output_of("staging/deploy"),
            21_000,
            Success,
        ));
        events.push(run.stage_finished("staging", Success));
    }
    events.push(run.stage_started("finally"));
    events.extend(timed_task(
        run,
        "finally/notify",
        &output_of("finally/notify"),
        400,
        Success,
    ));
    events.push(run.stage_finished("finally", Success));
    events.push(run.finished(result));
    events
}

/// The events of a run of [`pipeline`] caught in the middle of its `test` stage: `test/unit`
/// running, `test/acceptance/start` done, `test/acceptance/check` running.
pub fn running_run(run: &mut RunBuilder) -> Vec<RunEvent> {
    use TaskOutcome::Success;
    let mut events = vec![run.queued(), run.started()];
    events.push(run.stage_started("setup"));
    events.extend(timed_task(
        run,
        "setup/tools",
        &output_of("setup/tools"),
        1_100,
        Success,
    ));
    events.push(run.stage_finished("setup", Success));
    events.push(run.stage_started("build"));
    events.extend(timed_task(
        run,
        "build/compile",
        &output_of("build/compile"),
        45_000,
        Success,
    ));
    events.push(run.stage_finished("build", Success));
    events.push(run.stage_started("test"));
    events.push(run.task_started("test/unit"));
    events.push(run.output_on("test/unit", LogStream::Stdout, "running 48 tests"));
    events.push(run.output_on(
        "test/unit",
        LogStream::Stdout,
        "test config::parses_defaults ... ok",
    ));
    events.extend(timed_task(
        run,
        "test/acceptance/start",
        &output_of("test/acceptance/start"),
        2_000,
        Success,
    ));
    events.push(run.task_started("test/acceptance/check"));
    events
}

/// Ends what [`running_run`] began, successfully.
pub fn finish_running_run(run: &mut RunBuilder) -> Vec<RunEvent> {
    use TaskOutcome::Success;
    let mut events = vec![
        run.output_on(
            "test/unit",
            LogStream::Stdout,
            "test result: ok. 48 passed; 0 failed",
        ),
        run.task_finished("test/unit", Success),
        run.output_on("test/acceptance/check", LogStream::Stdout, "12 checks passed"),
        run.task_finished("test/acceptance/check", Success),
        run.stage_finished("test", Success),
        run.stage_started("staging"),
    ];
    events.extend(timed_task(
        run,
        "staging/deploy",
        &output_of("staging/deploy"),
        3_000,
        Success,
    ));
    events.push(run.stage_finished("staging", Success));
    events.push(run.stage_started("finally"));
    events.extend(timed_task(
        run,
        "finally/notify",
        &output_of("finally/notify"),
        300,
        Success,
    ));
    events.push(run.stage_finished("finally", Success));
    events.push(run.finished(RunResult::Success));
    events
}

/// What [`seed_demo`] recorded.
pub struct Demo {
    /// `hello`'s newest run, a success with an artifact.
    pub hello_latest: String,
    /// `payments`' newest run, failed at `test/unit`.
    pub payments_failed: String,
    /// `web-frontend`'s newest run, still running.
    pub running: RunBuilder,
}

/// A few apps with a history: `hello` (24 runs, newest a success with an artifact),
/// `payments` (12 runs, newest failed at `test/unit`), `web-frontend` (8 runs, newest running)
/// and `docs` (one untraceable run from a dirty tree). Times are relative to now, so the
/// pages read as they would on a working day.
pub async fn seed_demo(store: &TestStore) -> Demo {
    let now = Utc::now();
    let artifact = store.file("hello", b"the hello binary\n");
    let mut hello_latest = String::new();
    for build in 1..=24_u64 {
        let at = now - Duration::minutes(i64::try_from(25 - build).unwrap() * 47 + 30);
        let mut run = demo_run("hello", build, at);
        if build % 5 == 0 {
            run.branch = Some(format!("feature/greeting-{build}"));
        }
        let result = match build {
            7 | 13 | 14 => RunResult::Failure,
            18 => RunResult::Cancelled,
            _ => RunResult::Success,
        };
        let mut events = whole_run(&mut run, result);
        if build == 24 {
            let finished = events.pop().unwrap();
            let digest = sha256_of(&artifact);
            events.push(run.event(RunEventKind::ArtifactPackaged {
                path: TaskPath("build/compile".into()),
                name: "target/release/hello".into(),
                source: artifact.display().to_string(),
                size: std::fs::metadata(&artifact).unwrap().len(),
                sha256: digest,
            }));
            events.push(finished);
            hello_latest = run.id().to_owned();
        }
        record(store, &events).await;
    }
    let mut payments_failed = String::new();
    for build in 1..=12_u64 {
        let at = now - Duration::minutes(i64::try_from(13 - build).unwrap() * 95 + 12);
        let mut run = demo_run("payments", build, at);
        let result = if build == 12 || build == 4 {
            RunResult::Failure
        } else {
            RunResult::Success
        };
        record(store, &whole_run(&mut run, result)).await;
        if build == 12 {
            payments_failed = run.id().to_owned();
        }
    }
    for build in 1..=7_u64 {
        let at = now - Duration::minutes(i64::try_from(8 - build).unwrap() * 180 + 5);
        let mut run = demo_run("web-frontend", build, at);
        record(store, &whole_run(&mut run, RunResult::Success)).await;
    }
    let mut running = demo_run("web-frontend", 8, now - Duration::seconds(70));
    record(store, &running_run(&mut running)).await;
    let mut docs = demo_run("docs", 1, now - Duration::days(2));
    docs.branch = Some("wip".into());
    docs.untraceable_reason = Some("the working tree has uncommitted changes".into());
    record(store, &whole_run(&mut docs, RunResult::Success)).await;
    Demo {
        hello_latest,
        payments_failed,
        running,
    }
}

/// A made-up revision for `seed`: 40 hex digits that look like a commit's.
pub fn revision(seed: &str) -> String {
    // FNV-1a, twice with different offsets: enough spread for test data.
    let hash = |offset: u64| {
        seed.bytes().fold(offset, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    };
    let (a, b, c) = (
        hash(0xcbf2_9ce4_8422_2325),
        hash(0x8422_2325_cbf2_9ce4),
        hash(0x1234_5678_9abc_def0),
    );
    format!("{a:016x}{b:016x}{:08x}", c >> 32)
}

/// The sha256 of a file, as the engine computes it for artifacts.
pub fn sha256_of(path: &std::path::Path) -> String {
    sha256(&std::fs::read(path).unwrap())
}

/// A wide pipeline with long names: setup, six stages (one of them parallel with three
/// branches, one of which fails but is allowed to) and finally.
pub fn wide_pipeline(app: &str) -> Pipeline {
    let tasks = |names: &[&str]| names.iter().map(|name| task(name, "true")).collect();
    PipelineBuilder::new(app)
        .version("1.4.{build}")
        .setup(tasks(&["check-toolchains"]))
        .stage("prepare-environment", tasks(&["fetch-dependencies"]))
        .stage("compile-and-bundle", tasks(&["compile-release-build"]))
        .parallel(
            "integration-tests",
            tasks(&[
                "android-emulator-suite",
                "ios-simulator-suite",
                "lint-and-static-analysis",
            ]),
        )
        .stage("package-signed-artifacts", tasks(&["sign-and-package"]))
        .stage("publish-internal-track", tasks(&["upload-to-internal-track"]))
        .stage("promote-production-canary", tasks(&["promote-canary-rollout"]))
        .finally(tasks(&["notify-release-channel"]))
        .build()
}

/// The path of the task of [`wide_pipeline`] that fails but is allowed to.
pub const ALLOWED_FAILURE: &str = "integration-tests/lint-and-static-analysis";

/// Records one successful run of [`wide_pipeline`] for `app`, in which [`ALLOWED_FAILURE`]
/// fails (allowed); returns its id.
pub async fn seed_wide(store: &TestStore, app: &str) -> String {
    use TaskOutcome::Success;
    let mut run = demo_run(app, 1, Utc::now() - Duration::minutes(20)).pipeline(wide_pipeline(app));
    let pipeline = run.pipeline.clone();
    let mut events = vec![run.queued(), run.started()];
    let mut columns = vec![("setup", pipeline.setup.clone())];
    columns.extend(
        pipeline
            .stages
            .iter()
            .map(|stage| (stage.name.as_str(), stage.tasks.clone())),
    );
    columns.push(("finally", pipeline.finally.clone()));
    for (stage, tasks) in columns {
        events.push(run.stage_started(stage));
        for task in tasks {
            let path = format!("{stage}/{}", task.name);
            if path == ALLOWED_FAILURE {
                events.push(run.task_started(&path));
                events.push(run.output_on(&path, LogStream::Stderr, "warning: 3 lints failed"));
                run.wait(4_000);
                events.push(run.event(RunEventKind::TaskFinished {
                    path: TaskPath(path.clone()),
                    attempt: 1,
                    outcome: TaskOutcome::Failure,
                    exit_code: Some(1),
                    will_retry: false,
                    allowed_failure: true,
                }));
            } else {
                events.extend(timed_task(
                    &mut run,
                    &path,
                    &[(LogStream::Stdout, "done")],
                    3_000,
                    Success,
                ));
            }
        }
        events.push(run.stage_finished(stage, Success));
    }
    events.push(run.finished(RunResult::Success));
    record(store, &events).await;
    run.id().to_owned()
}
