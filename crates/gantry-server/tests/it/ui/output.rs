//! What the web UI and the API say of a run's output: a retried task's attempts apart, each
//! with how it ended; each line's time; stderr marked as stderr; and a run of an app without a
//! version template named by its build number, never as if its number were a version.

use chrono::Utc;
use gantry_model::{LogStream, RunEventKind, RunResult, TaskOutcome, TaskPath};
use gantry_test::{RunBuilder, TestStore};

use crate::support::demo::{demo_run, record, timed_task};
use crate::support::page::{get, ui_router};

/// A run of `app` whose `build/compile` fails once (exit 1), then succeeds on its second
/// attempt; its first attempt writes to stderr.
fn retried_run(app: &str, build: u64) -> (String, Vec<gantry_model::RunEvent>) {
    let mut run = demo_run(app, build, Utc::now() - chrono::Duration::minutes(5));
    let path = "build/compile";
    let attempt = |run: &mut RunBuilder, attempt: u32| {
        run.event(RunEventKind::TaskStarted {
            path: TaskPath(path.into()),
            attempt,
        })
    };
    let finished = |run: &mut RunBuilder, attempt: u32, outcome: TaskOutcome, exit_code: i32| {
        run.event(RunEventKind::TaskFinished {
            path: TaskPath(path.into()),
            attempt,
            outcome,
            exit_code: Some(exit_code),
            will_retry: attempt == 1,
            allowed_failure: false,
        })
    };
    let events = vec![
        run.queued(),
        run.started(),
        run.stage_started("build"),
        attempt(&mut run, 1),
        run.output_on(path, LogStream::Stdout, "Compiling hello"),
        run.output_on(path, LogStream::Stderr, "error: the registry did not answer"),
        finished(&mut run, 1, TaskOutcome::Failure, 1),
        attempt(&mut run, 2),
        run.output_on(path, LogStream::Stdout, "Compiling hello"),
        run.output_on(path, LogStream::Stderr, "warning: unused variable"),
        run.output_on(path, LogStream::Stdout, "Finished release"),
        finished(&mut run, 2, TaskOutcome::Success, 0),
        run.stage_finished("build", TaskOutcome::Success),
        run.finished(RunResult::Success),
    ];
    (run.id().to_owned(), events)
}

#[tokio::test]
async fn a_retried_tasks_log_separates_its_attempts_with_their_exit_codes() {
    let store = TestStore::new().await;
    let (id, events) = retried_run("hello", 1);
    record(&store, &events).await;
    let router = ui_router(&store);

    let page = get(&router, &format!("/runs/{id}/tasks/build/compile")).await;
    page.has("── attempt 1 · failed (exit 1) ──")
        .has("── attempt 2 · succeeded (exit 0) ──")
        .has("id=\"A1\"")
        .has("id=\"A2\"");
    let first = page.body.find("attempt 1 ·").unwrap();
    let registry = page.body.find("the registry did not answer").unwrap();
    let second = page.body.find("attempt 2 ·").unwrap();
    let finished = page.body.find("Finished release").unwrap();
    assert!(
        first < registry && registry < second && second < finished,
        "{}",
        page.body
    );

    let text = get(&router, &format!("/runs/{id}/tasks/build/compile?format=text")).await;
    assert_eq!(
        text.body,
        "── attempt 1 · failed (exit 1) ──\nCompiling hello\nerror: the registry did not answer\n\
         ── attempt 2 · succeeded (exit 0) ──\nCompiling hello\nwarning: unused variable\nFinished release\n"
    );

    let api = get(&router, &format!("/api/v1/runs/{id}/logs")).await;
    assert!(
        api.body.starts_with(
            "build/compile │ ── attempt 1 · failed (exit 1) ──\nbuild/compile │ Compiling hello\n"
        ),
        "{}",
        api.body
    );
    api.has("build/compile │ ── attempt 2 · succeeded (exit 0) ──\n");
}

#[tokio::test]
async fn a_task_run_once_has_no_attempt_header() {
    let store = TestStore::new().await;
    let mut run = demo_run("hello", 1, Utc::now());
    let mut events = vec![run.queued(), run.started()];
    events.extend(timed_task(
        &mut run,
        "build/compile",
        &[(LogStream::Stdout, "ok")],
        100,
        TaskOutcome::Success,
    ));
    events.push(run.finished(RunResult::Success));
    record(&store, &events).await;
    let page = get(
        &ui_router(&store),
        &format!("/runs/{}/tasks/build/compile", run.id()),
    )
    .await;
    page.has(">ok</span>").lacks("attempt 1");
}

#[tokio::test]
async fn log_lines_carry_their_time_and_stderr_is_marked_not_alarming() {
    let store = TestStore::new().await;
    let (id, events) = retried_run("hello", 1);
    record(&store, &events).await;
    let router = ui_router(&store);
    let at = |text: &str| {
        events
            .iter()
            .find(|event| matches!(&event.kind, RunEventKind::TaskOutput { lines, .. } if lines.iter().any(|line| line == text)))
            .unwrap()
            .at
    };
    let finished_at = at("Finished release");

    let page = get(&router, &format!("/runs/{id}/tasks/build/compile")).await;
    // Every line has its time; a switch shows the times (CSS alone, remembered by the script).
    page.has(&format!(
        "<time datetime=\"{}\">{}</time><span>Finished release",
        finished_at.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
        finished_at.format("%H:%M:%S%.3f")
    ))
    .has("id=\"log-times\"")
    .has("for=\"log-times\"");
    // A stderr line says so, in a successful task too.
    page.has("class=\"l e\" id=\"L4\" title=\"stderr\"");
    let css = get(&router, &page_asset(&page.body, "gantry.css")).await;
    css.has("#log-times:checked ~ .log-box .l > time { display: inline; }");
    let stderr_rule = css.body.lines().find(|line| line.starts_with(".l.e {")).unwrap();
    assert!(
        !stderr_rule.contains("f85149"),
        "stderr is not painted as a failure: {stderr_rule}"
    );

    // The API's text log, with `timestamps=true`.
    let api = get(
        &router,
        &format!("/api/v1/runs/{id}/logs?task=build/compile&timestamps=true"),
    )
    .await;
    api.has(&format!(
        "\n{} Finished release\n",
        finished_at.format("%Y-%m-%dT%H:%M:%S%.3fZ")
    ));
    let plain = get(&router, &format!("/api/v1/runs/{id}/logs?task=build/compile")).await;
    plain.has("\nFinished release\n");
}

/// The address of the page's stylesheet or script `name` (versioned by its digest).
fn page_asset(body: &str, name: &str) -> String {
    let start = body.find(&format!("/assets/{name}")).unwrap();
    let end = start + body[start..].find('"').unwrap();
    body[start..end].replace("&amp;", "&")
}

#[tokio::test]
async fn an_app_without_a_version_template_is_named_by_its_build() {
    let store = TestStore::new().await;
    let mut run = demo_run("slow", 1, Utc::now());
    let mut queued = run.queued();
    if let RunEventKind::RunQueued(info) = &mut queued.kind {
        info.version = "1".into();
        info.pipeline.version = "{build}".into();
    }
    let mut events = vec![queued, run.started()];
    events.extend(timed_task(
        &mut run,
        "build/compile",
        &[(LogStream::Stdout, "ok")],
        100,
        TaskOutcome::Success,
    ));
    events.push(run.finished(RunResult::Success));
    record(&store, &events).await;
    let router = ui_router(&store);

    let page = get(&router, &format!("/runs/{}", run.id())).await;
    page.has("<title>slow #1 · Gantry</title>")
        .has("<span aria-current=\"page\">#1</span>")
        .lacks("slow 1");
    let log = get(&router, &format!("/runs/{}/tasks/build/compile", run.id())).await;
    log.has("<title>build/compile · slow #1 · Gantry</title>")
        .has(&format!("<a href=\"/runs/{}\">#1</a>", run.id()))
        .lacks("slow 1");
    let app = get(&router, "/apps/slow").await;
    app.lacks("#1 · 1 ·");

    // An app with a template keeps its version beside the build.
    let mut templated = demo_run("hello", 7, Utc::now());
    let events = vec![templated.queued(), templated.finished(RunResult::Success)];
    record(&store, &events).await;
    let page = get(&router, &format!("/runs/{}", templated.id())).await;
    page.has("<title>hello 1.4.7 #7 · Gantry</title>")
        .has("<span aria-current=\"page\">1.4.7 #7</span>");
}
