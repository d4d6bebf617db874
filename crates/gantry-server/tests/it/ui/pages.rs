//! The web UI's pages through the whole router, with `oneshot`, in front of a real SQLite store
//! seeded by recording run events: what each page shows, its errors, escaping, streaming of
//! long logs, the live event streams and the embedded assets.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{Duration, Utc};
use gantry_model::{LogStream, RunEventKind, RunResult, Task, TaskOutcome, TaskPath};
use gantry_test::TestStore;
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::support::demo::{
    self, ALLOWED_FAILURE, demo_run, finish_running_run, record, seed_demo, seed_wide, whole_run,
};
use crate::support::page::{Page, get, get_with, ui_router};

#[tokio::test]
async fn apps_overview_shows_each_apps_latest_run_and_trend() {
    let store = TestStore::new().await;
    let demo = seed_demo(&store).await;
    let router = ui_router(&store);
    let page = get(&router, "/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.header("content-type").starts_with("text/html"),
        "{}",
        page.header("content-type")
    );
    page.has("<title>Apps · Gantry</title>")
        .has("href=\"/apps/hello\"")
        .has("href=\"/apps/payments\"")
        .has("href=\"/apps/web-frontend\"")
        .has("1.4.24")
        .has("1.4.12")
        .has(&format!("href=\"/runs/{}\"", demo.payments_failed))
        .has("untraceable")
        .has("24 runs");
    // The trend strip holds the last 20 runs of `hello`, each a link to its run.
    let hello_row = page
        .body
        .split("href=\"/apps/hello\"")
        .nth(1)
        .unwrap()
        .split("</tr>")
        .next()
        .unwrap();
    assert_eq!(hello_row.matches("class=\"sq ").count(), 20, "{hello_row}");
    assert!(hello_row.contains("sq s-failure"), "{hello_row}");
    assert!(hello_row.contains("sq s-warning"), "{hello_row}"); // the cancelled run
    // The absolute time is there beside the relative one.
    page.has(" UTC");
}

#[tokio::test]
async fn apps_overview_without_runs_says_so() {
    let store = TestStore::new().await;
    let page = get(&ui_router(&store), "/").await;
    assert_eq!(page.status, StatusCode::OK);
    page.has("No runs recorded yet");
}

#[tokio::test]
async fn runs_list_filters_and_pages() {
    let store = TestStore::new().await;
    seed_demo(&store).await;
    let router = ui_router(&store);

    let page = get(&router, "/runs").await;
    assert_eq!(page.status, StatusCode::OK);
    page.has("<title>Runs · Gantry</title>")
        .has("name=\"app\"")
        .has("name=\"branch\"")
        .has("name=\"result\"");
    // 24 + 12 + 8 + 1 runs: one page, newest first.
    assert_eq!(page.body.matches("<tr class=\"s-").count(), 45);
    page.lacks("href=\"/runs?page=2\"")
        .has("<span class=\"disabled\">Older →</span>");
    assert!(
        page.body.find("1.4.8<").unwrap() < page.body.find("1.4.24<").unwrap(),
        "the running run is the newest"
    );

    let page = get(&router, "/runs?app=payments&result=failure").await;
    assert_eq!(
        page.body.matches("<tr class=\"s-failure\"").count(),
        2,
        "{}",
        page.body
    );
    page.lacks("<tr class=\"s-success\"")
        .has("value=\"payments\"")
        .has("<option value=\"failure\" selected>");
    {
        let _redacted = gantry_test::redacted(&[]).bind_to_scope();
        insta::assert_snapshot!("runs_list", page.fragment("<table"));
    }

    let page = get(&router, "/runs?branch=feature%2Fgreeting-10").await;
    assert_eq!(page.body.matches("<tr class=\"s-").count(), 1);
    page.has("feature/greeting-10");

    let page = get(&router, "/runs?app=&branch=&result=").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.body.matches("<tr class=\"s-").count(), 45);

    let page = get(&router, "/runs?app=nothing-here").await;
    assert_eq!(page.status, StatusCode::OK);
    page.has("No runs match these filters.");
}

#[tokio::test]
async fn runs_list_rejects_bad_parameters_with_a_page() {
    let store = TestStore::new().await;
    let router = ui_router(&store);
    for (uri, says) in [
        ("/runs?result=great", "`result` must be one of"),
        ("/runs?page=0", "`page` must be a whole number"),
        ("/runs?page=abc", "`page` must be a whole number"),
        ("/runs?page=99999999999", "`page` must be a whole number"),
        ("/runs?page=100000000", "past the end"),
        ("/apps/hello?page=-2", "`page` must be a whole number"),
    ] {
        let page = get(&router, uri).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{uri}");
        page.has("<h1>Bad request</h1>").has(says).has("href=\"/runs\"");
    }
}

#[tokio::test]
async fn pagination_holds_up_past_a_thousand_runs_of_an_app() {
    let store = TestStore::new().await;
    let start = Utc::now() - Duration::days(30);
    let mut events = Vec::new();
    let mut newest = String::new();
    for build in 1..=1_200_u64 {
        let mut run = demo_run(
            "big",
            build,
            start + Duration::minutes(i64::try_from(build).unwrap()),
        );
        events.extend([run.queued(), run.started(), run.finished(RunResult::Success)]);
        newest = run.id().to_owned();
    }
    record(&store, &events).await;
    let router = ui_router(&store);

    let page = get(&router, "/apps/big").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.body.matches("<tr class=\"s-success\"").count(), 50);
    page.has(&format!("href=\"/runs/{newest}\""))
        .has("#1200")
        .has("href=\"/apps/big?page=2\"");

    let page = get(&router, "/apps/big?page=24").await;
    assert_eq!(page.body.matches("<tr class=\"s-success\"").count(), 50);
    page.has("#50<")
        .has("#1<")
        .has("href=\"/apps/big?page=23\"")
        .lacks("page=25");

    let page = get(&router, "/apps/big?page=25").await;
    assert_eq!(page.status, StatusCode::OK);
    page.has("No runs on this page.");

    let page = get(&router, "/runs?app=big&page=23").await;
    assert_eq!(page.body.matches("<tr class=\"s-success\"").count(), 50);
    page.has("#100<")
        .has("#51<")
        .has("href=\"/runs?app=big&amp;page=24\"");
}

#[tokio::test]
async fn run_page_shows_header_graph_and_artifacts() {
    let store = TestStore::new().await;
    let demo = seed_demo(&store).await;
    let router = ui_router(&store);
    let page = get(&router, &format!("/runs/{}", demo.hello_latest)).await;
    assert_eq!(page.status, StatusCode::OK);
    page.has("<title>hello 1.4.24 #24 · Gantry</title>")
        .has("badge s-success")
        .has("#24")
        .has("<span class=\"branch\">main</span>")
        .has("href=\"/apps/hello\"");
    // The revision, short, with the whole of it on hover.
    let revision = demo::revision("hello#24");
    page.has(&format!("title=\"{revision}\">{}</code>", &revision[..8]));
    // Every task of the definition has its box, in its status colour, linking to its log.
    for path in demo::TASKS {
        page.has(&format!(
            "href=\"/runs/{}/tasks/{path}\" data-path=\"{path}\"",
            demo.hello_latest
        ));
    }
    page.has("class=\"task s-success\"")
        .has("data-stage=\"test\"")
        .has(">parallel<");
    // The serial group inside the parallel stage is a chain of its own.
    page.has("<div class=\"group\" data-path=\"test/acceptance\">");
    // Stages left to right in the order of the definition.
    let order: Vec<usize> = ["\"setup\"", "\"build\"", "\"test\"", "\"staging\"", "\"finally\""]
        .iter()
        .map(|stage| page.body.find(&format!("data-stage={stage}")).unwrap())
        .collect();
    assert!(order.is_sorted(), "{order:?}");
    // The artifact with its size and digest.
    let digest = demo::sha256_of(&store.dir.path().join("hello"));
    page.has("target/release/hello").has(&digest).has("17 B");
    // Finished: nothing to follow.
    page.lacks("data-status-url").lacks("http-equiv=\"refresh\"");
    let _redacted = gantry_test::redacted(&[(store.dir.path(), "[STORE]")]).bind_to_scope();
    insta::assert_snapshot!("run_page", page.fragment("<main"));
}

#[tokio::test]
async fn run_page_highlights_the_failed_task() {
    let store = TestStore::new().await;
    let demo = seed_demo(&store).await;
    let page = get(&ui_router(&store), &format!("/runs/{}", demo.payments_failed)).await;
    assert_eq!(page.status, StatusCode::OK);
    page.has("badge s-failure")
        .has("class=\"task s-failure culprit\"")
        .has("failed the run")
        .has(&format!(
            "Failed at <a href=\"/runs/{}/tasks/test/unit\"><code>test/unit</code></a> (exit 101)",
            demo.payments_failed
        ))
        .has("No artifacts.");
    // The deployment was skipped because of it, and says why on hover.
    page.has("title=\"stage `test` failed\"");
}

#[tokio::test]
async fn a_partial_run_says_so_in_the_list_and_on_its_page() {
    let store = TestStore::new().await;
    let mut run = demo_run("payments", 1, Utc::now() - Duration::minutes(5));
    let mut queued = run.queued();
    if let RunEventKind::RunQueued(info) = &mut queued.kind {
        info.selection = gantry_model::Selection::Only("deploy".into());
        info.runner = Some(gantry_model::Runner {
            host: "build-agent-7".into(),
            pid: 4242,
        });
    }
    let events = [queued, run.started(), run.finished(RunResult::Success)];
    record(&store, &events).await;
    let router = ui_router(&store);
    get(&router, "/runs")
        .await
        .has("title=\"only part of the pipeline ran: --only deploy\"")
        .has(">partial</span>");
    get(&router, &format!("/runs/{}", run.id()))
        .await
        .has("<dt>Ran</dt>")
        .has("<code>--only deploy</code>")
        .has("<code>build-agent-7</code><span class=\"muted\"> pid 4242</span>");
    let mut whole = demo_run("payments", 2, Utc::now());
    record(&store, &whole_run(&mut whole, RunResult::Success)).await;
    get(&router, &format!("/runs/{}", whole.id()))
        .await
        .lacks("<dt>Ran</dt>");
}

#[tokio::test]
async fn running_run_page_follows_its_status() {
    let store = TestStore::new().await;
    let demo = seed_demo(&store).await;
    let page = get(&ui_router(&store), &format!("/runs/{}", demo.running.id())).await;
    assert_eq!(page.status, StatusCode::OK);
    page.has("badge s-running")
        .has(&format!(
            "data-status-url=\"/ui/runs/{}/status\"",
            demo.running.id()
        ))
        .has("data-fingerprint=\"")
        .has("class=\"task s-running\"")
        .has("class=\"task s-pending\"")
        .has("data-since=\"")
        .has("<noscript><meta http-equiv=\"refresh\" content=\"10\"></noscript>");
}

#[tokio::test]
async fn run_page_takes_a_prefix_or_app_and_build() {
    let store = TestStore::new().await;
    let demo = seed_demo(&store).await;
    let router = ui_router(&store);
    let id = &demo.payments_failed;
    for uri in [
        "/apps/payments/builds/12".to_owned(),
        format!("/runs/{}", &id[..30]),
        "/runs/payments%2312".to_owned(),
    ] {
        let page = get(&router, &uri).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{uri}");
        assert_eq!(page.header("location"), format!("/runs/{id}"), "{uri}");
    }
}

#[tokio::test]
async fn unknown_things_get_a_friendly_404() {
    let store = TestStore::new().await;
    let demo = seed_demo(&store).await;
    let router = ui_router(&store);
    for (uri, says) in [
        ("/runs/no-such-run".to_owned(), "Run not found"),
        ("/runs/nope%2399".to_owned(), "Run not found"),
        ("/apps/no-such-app".to_owned(), "App not found"),
        ("/apps/hello/builds/999".to_owned(), "Build not found"),
        ("/apps/hello/builds/latest".to_owned(), "Build not found"),
        (
            format!("/runs/{}/tasks/build/nothing", demo.hello_latest),
            "Task not found",
        ),
        (
            "/runs/no-such-run/tasks/build/compile".to_owned(),
            "Run not found",
        ),
        ("/ui/runs/no-such-run/status".to_owned(), "Run not found"),
        (
            format!("/ui/runs/{}/follow/no/task", demo.hello_latest),
            "Task not found",
        ),
    ] {
        let page = get(&router, &uri).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{uri}");
        page.has(says)
            .has("href=\"/\"")
            .has("href=\"/runs\"")
            .has("<p class=\"error-code\">404</p>");
    }
}

#[tokio::test]
async fn ambiguous_prefix_lists_the_candidates() {
    let store = TestStore::new().await;
    let demo = seed_demo(&store).await;
    // Every id is a v7 UUID made within the same second or so: one character matches them all.
    let page = get(&ui_router(&store), &format!("/runs/{}", &demo.hello_latest[..1])).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    page.has("Several runs match").has("<li><a href=\"/runs/");
}

#[tokio::test]
async fn task_log_shows_numbered_lines_and_marks_stderr() {
    let store = TestStore::new().await;
    let demo = seed_demo(&store).await;
    let router = ui_router(&store);
    let page = get(
        &router,
        &format!("/runs/{}/tasks/test/unit", demo.payments_failed),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    page.has("<title>test/unit · payments #12 · Gantry</title>")
        .has("badge s-failure")
        .has("exit 101")
        .has("<div class=\"l\" id=\"L1\"><a href=\"#L1\">1</a><time datetime=\"")
        .has("</time><span>running 48 tests</span></div>")
        .has("<div class=\"l e\" id=\"L3\" title=\"stderr\"><a href=\"#L3\">3</a><time datetime=\"")
        .has("</time><span>thread 'payments::refund_rounds_down' panicked")
        .has("data-after=\"5\"")
        .lacks("data-follow-url")
        .lacks("\u{0}");
    {
        let _redacted = gantry_test::redacted(&[]).bind_to_scope();
        insta::assert_snapshot!("log", page.fragment("<div class=\"log\""));
    }

    let text = get(
        &router,
        &format!("/runs/{}/tasks/test/unit?format=text", demo.payments_failed),
    )
    .await;
    assert_eq!(text.status, StatusCode::OK);
    assert!(text.header("content-type").starts_with("text/plain"));
    assert!(
        text.body
            .starts_with("running 48 tests\ntest payments::refund_rounds_down ... FAILED\n"),
        "{}",
        text.body
    );

    let page = get(
        &router,
        &format!("/runs/{}/tasks/test/unit?format=pdf", demo.payments_failed),
    )
    .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);

    // A task that never ran has an empty log, not a 404.
    let page = get(
        &router,
        &format!("/runs/{}/tasks/staging/deploy", demo.payments_failed),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    page.has("skipped").has("<div class=\"log\" id=\"log\"></div>");
}

#[tokio::test]
async fn running_task_log_follows_from_its_last_line() {
    let store = TestStore::new().await;
    let demo = seed_demo(&store).await;
    let id = demo.running.id();
    let page = get(&ui_router(&store), &format!("/runs/{id}/tasks/test/unit")).await;
    page.has("badge s-running")
        .has("data-after=\"2\"")
        .has(&format!("data-follow-url=\"/ui/runs/{id}/follow/test/unit\""))
        .has("Following the log");
}

#[tokio::test]
async fn task_log_streams_a_large_log_page_by_page() {
    const LINES: usize = 200_000;
    let store = TestStore::new().await;
    let mut run = demo_run("big-log", 1, Utc::now() - Duration::hours(1));
    record(
        &store,
        &[run.queued(), run.started(), run.task_started("build/compile")],
    )
    .await;
    let mut batch = Vec::with_capacity(20_000);
    for index in 1..=LINES {
        let stream = if index % 1000 == 0 {
            LogStream::Stderr
        } else {
            LogStream::Stdout
        };
        batch.push(run.output_on(
            "build/compile",
            stream,
            &format!("line {index} of a long build log"),
        ));
        if batch.len() == 20_000 {
            record(&store, &batch).await;
            batch.clear();
        }
    }
    record(
        &store,
        &[
            run.task_finished("build/compile", TaskOutcome::Success),
            run.finished(RunResult::Success),
        ],
    )
    .await;

    let uri = format!("/runs/{}/tasks/build/compile", run.id());
    let response = ui_router(&store)
        .oneshot(Request::get(&uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // Read it as a browser would, frame by frame: the page arrives in many pieces, never whole.
    let mut body = response.into_body();
    let (mut frames, mut bytes, mut largest) = (0, Vec::new(), 0);
    while let Some(frame) = body.frame().await {
        let data = frame.unwrap().into_data().unwrap();
        largest = largest.max(data.len());
        bytes.extend_from_slice(&data);
        frames += 1;
    }
    let text = String::from_utf8(bytes).unwrap();
    assert!(frames > 40, "{frames} frames");
    assert!(largest < 2_000_000, "a frame of {largest} bytes");
    assert_eq!(
        text.matches("<div class=\"l\" id=\"L").count(),
        LINES - LINES / 1000
    );
    assert_eq!(text.matches("<div class=\"l e\" id=\"L").count(), LINES / 1000);
    assert!(text.contains("<a href=\"#L200000\">200000</a><time datetime=\""));
    assert!(text.contains("</time><span>line 200000 of a long build log</span>"));
    assert!(text.contains(&format!("data-after=\"{LINES}\"")));
    assert!(
        text.trim_end().ends_with("</html>"),
        "{}",
        &text[text.len() - 200..]
    );
}

#[tokio::test]
async fn html_escapes_task_output_and_names() {
    let store = TestStore::new().await;
    let mut run = demo_run(
        "<script>alert('app')</script>",
        1,
        Utc::now() - Duration::minutes(5),
    );
    run.branch = Some("<b>branch</b>".into());
    run.pipeline.app = run.app.clone();
    run.pipeline.stages[0]
        .tasks
        .push(Task::script("<img src=x onerror=alert(1)>", "true"));
    let evil_task = "build/<img src=x onerror=alert(1)>";
    let mut events = vec![run.queued(), run.started(), run.task_started(evil_task)];
    events.push(run.output_on(evil_task, LogStream::Stdout, "<script>alert('log')</script>"));
    events.push(run.task_finished(evil_task, TaskOutcome::Failure));
    events.push(run.finished(RunResult::Failure));
    record(&store, &events).await;
    let router = ui_router(&store);

    let encoded_task = "build/%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E";
    for uri in [
        "/".to_owned(),
        "/runs".to_owned(),
        format!("/runs/{}", run.id()),
        "/apps/%3Cscript%3Ealert%28%27app%27%29%3C%2Fscript%3E".to_owned(),
        format!("/runs/{}/tasks/{encoded_task}", run.id()),
        format!("/ui/runs/{}/follow/{encoded_task}", run.id()),
    ] {
        let page = get(&router, &uri).await;
        assert_eq!(page.status, StatusCode::OK, "{uri}");
        page.lacks("<script>alert").lacks("<img src=x").lacks("<b>branch");
        assert!(
            page.body.contains("&lt;script&gt;alert(") || page.body.contains("&lt;img src=x"),
            "{uri}: {}",
            page.body
        );
    }
    get(&router, &format!("/runs/{}/tasks/{encoded_task}", run.id()))
        .await
        .has("<span>&lt;script&gt;alert('log')&lt;/script&gt;</span>");
}

#[tokio::test]
async fn status_stream_sends_the_page_parts_and_ends_with_the_run() {
    let store = TestStore::new().await;
    let demo = seed_demo(&store).await;
    let router = ui_router(&store);

    // A finished run: one update, marked done, and the stream ends.
    let page = get(&router, &format!("/ui/runs/{}/status", demo.payments_failed)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.header("content-type").starts_with("text/event-stream"));
    assert_eq!(page.body.matches("event: update").count(), 1, "{}", page.body);
    page.has("\"done\":true")
        .has("\"result\":\"failure\"")
        .has("culprit");

    // A running run: the current state first, then an update once it has finished.
    let uri = format!("/ui/runs/{}/status?since=stale", demo.running.id());
    let response = router
        .clone()
        .oneshot(Request::get(&uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let mut body = response.into_body();
    let first = next_event(&mut body).await;
    assert!(
        first.contains("\"done\":false") && first.contains("s-running"),
        "{first}"
    );
    let mut running = demo.running;
    record(&store, &finish_running_run(&mut running)).await;
    let mut last = String::new();
    while !last.contains("\"done\":true") {
        last = next_event(&mut body).await;
    }
    assert!(
        last.contains("\"result\":\"success\"") && last.contains("task s-success"),
        "{last}"
    );
    assert!(
        body.frame().await.is_none(),
        "the stream goes on after the run finished"
    );
}

#[tokio::test]
async fn live_streams_end_when_the_server_shuts_down() {
    let store = TestStore::new().await;
    let demo = seed_demo(&store).await;
    let state = gantry_server::AppState::new(store.store.clone()).anonymous_read(true);
    let router = gantry_server::router::router(state.clone());
    let id = demo.running.id();
    let mut bodies = Vec::new();
    for uri in [
        format!("/ui/runs/{id}/status"),
        format!("/ui/runs/{id}/follow/test/unit"),
    ] {
        let response = router
            .clone()
            .oneshot(Request::get(&uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let mut body = response.into_body();
        next_event(&mut body).await;
        bodies.push(body);
    }
    state.shutdown.cancel();
    for mut body in bodies {
        let end = tokio::time::timeout(std::time::Duration::from_secs(5), body.frame()).await;
        assert!(matches!(end, Ok(None)), "the stream went on after shutdown");
    }
}

#[tokio::test]
async fn not_found_page_is_friendly() {
    let response = ui_not_found("/nothing/here").await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    response
        .has("Page not found")
        .has("<code>/nothing/here</code>")
        .has("href=\"/runs\"");
}

async fn ui_not_found(path: &str) -> Page {
    let router = axum::Router::new().fallback(gantry_server::ui::not_found_page);
    get(&router, path).await
}

#[tokio::test]
async fn follow_stream_sends_new_lines_then_done() {
    let store = TestStore::new().await;
    let demo = seed_demo(&store).await;
    let router = ui_router(&store);
    let mut run = demo.running;
    let uri = format!("/ui/runs/{}/follow/test/unit?after=1", run.id());
    let response = router
        .clone()
        .oneshot(Request::get(&uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let first = next_event(&mut body).await;
    assert!(
        first.contains("event: lines") && first.contains("id: 2"),
        "{first}"
    );
    assert!(
        first.contains("id=\"L2\"") && !first.contains("id=\"L1\""),
        "{first}"
    );

    record(
        &store,
        &[run.output_on("test/unit", LogStream::Stderr, "warning: <slow> test")],
    )
    .await;
    let next = next_event(&mut body).await;
    assert!(
        next.contains("class=\"l e\" id=\"L3\"") && next.contains("&lt;slow&gt;"),
        "{next}"
    );

    record(&store, &finish_running_run(&mut run)).await;
    let mut events = String::new();
    while !events.contains("event: done") {
        events.push_str(&next_event(&mut body).await);
    }
    assert!(
        events.contains("test result: ok") && events.contains("badge s-success"),
        "{events}"
    );
    assert!(body.frame().await.is_none());

    // A bad position is a 400.
    let page = get(
        &router,
        &format!("/ui/runs/{}/follow/test/unit?after=x", run.id()),
    )
    .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn assets_are_embedded_and_cached() {
    let store = TestStore::new().await;
    let router = ui_router(&store);
    let page = get(&router, "/").await;
    let href = page
        .body
        .split("href=\"/assets/gantry.css")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert!(href.starts_with("?v="), "{href}");
    let css = get(&router, &format!("/assets/gantry.css{href}")).await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.header("content-type"), "text/css; charset=utf-8");
    assert_eq!(css.header("cache-control"), "public, max-age=31536000, immutable");
    css.has("prefers-color-scheme: dark");
    let js = get(&router, "/assets/gantry.js").await;
    assert_eq!(js.header("content-type"), "text/javascript; charset=utf-8");
    assert_eq!(js.header("cache-control"), "public, max-age=300");
    js.has("EventSource");
    assert_eq!(
        get(&router, "/assets/favicon.svg").await.header("content-type"),
        "image/svg+xml"
    );
    assert_eq!(
        get(&router, "/assets/nope.css").await.status,
        StatusCode::NOT_FOUND
    );
    // Nothing on a page comes from elsewhere.
    page.lacks("http://").lacks("https://");
    assert!(
        page.header("content-security-policy")
            .contains("default-src 'self'")
    );
}

#[tokio::test]
async fn task_recorded_outside_the_definition_still_has_a_box() {
    let store = TestStore::new().await;
    let mut run = demo_run("odd", 1, Utc::now() - Duration::minutes(3));
    let mut events = whole_run(&mut run, RunResult::Success);
    let end = events.pop().unwrap();
    events.push(run.event(RunEventKind::TaskSkipped {
        path: TaskPath("release/publish".into()),
        reason: "branch `main` matches none of release/*".into(),
    }));
    events.push(end);
    record(&store, &events).await;
    let page = get(&ui_router(&store), &format!("/runs/{}", run.id())).await;
    page.has("data-stage=\"release\"")
        .has("data-path=\"release/publish\"");
    // The new column comes before `finally`.
    assert!(
        page.body.find("data-stage=\"release\"").unwrap() < page.body.find("data-stage=\"finally\"").unwrap()
    );
}

/// The next event of an event stream, as text (keep-alive comments skipped).
async fn next_event(body: &mut Body) -> String {
    let frame = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            let frame = body.frame().await.expect("the stream ended").unwrap();
            let text = String::from_utf8(frame.into_data().unwrap().to_vec()).unwrap();
            if !text.starts_with(':') {
                return text;
            }
        }
    });
    frame.await.expect("no event within 10 seconds")
}

#[tokio::test]
async fn the_top_bar_says_who_is_signed_in() {
    let store = TestStore::new().await;
    seed_demo(&store).await;
    let secret = store
        .store
        .create_token("release-manager", &[gantry_store::Scope::Read])
        .await
        .unwrap();
    let router = ui_router(&store);
    let cookie = format!("gantry_token={secret}");
    let bearer = format!("Bearer {secret}");
    let pages = [
        "/",
        "/runs?app=hello",
        "/apps/hello",
        "/runs/no-such-run",
        "/no/such/page",
    ];
    for uri in pages {
        // A browser signed in: the token's name and a button that signs out.
        let page = get_with(&router, uri, ("cookie", &cookie)).await;
        page.has("<div class=\"session\">")
            .has("Signed in as <strong>release-manager</strong>")
            .has("<form class=\"signout\" method=\"post\" action=\"/logout\">")
            .has("Sign out</button>")
            .lacks("Sign in");
        // Reading anonymously: a link to sign in that comes back here.
        let page = get(&router, uri).await;
        let back = uri.replace('?', "%3F").replace('=', "%3D");
        page.has(&format!(
            "<a class=\"signin\" href=\"/login?next={back}\">Sign in</a>"
        ))
        .lacks("Signed in as")
        .lacks("action=\"/logout\"");
        // A script with a bearer token: its name, nothing to sign out of.
        let page = get_with(&router, uri, ("authorization", &bearer)).await;
        page.has("Token <strong>release-manager</strong>")
            .lacks("action=\"/logout\"")
            .lacks("Sign in");
    }
    // A user's token: the browser names the user, a script its token.
    store.store.add_user("alice", None).await.unwrap();
    let alice = store
        .store
        .create_token_for("alice-laptop", &[gantry_store::Scope::Read], Some("alice"))
        .await
        .unwrap();
    get_with(&router, "/runs", ("cookie", &format!("gantry_token={alice}")))
        .await
        .has("Signed in as <strong>alice</strong>");
    get_with(&router, "/runs", ("authorization", &format!("Bearer {alice}")))
        .await
        .has("Token <strong>alice-laptop</strong>");
    // A cookie whose token was revoked reads anonymously, and is offered to sign in again.
    store.store.revoke_token("release-manager").await.unwrap();
    let page = get_with(&router, "/runs", ("cookie", &cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    page.has("Sign in</a>").lacks("Signed in as");
}

#[tokio::test]
async fn unknown_paths_get_the_404_page_and_the_api_keeps_its_json() {
    let store = TestStore::new().await;
    let router = ui_router(&store);
    for uri in ["/nothing/here", "/runs/x/y/z", "/apix", "/api"] {
        let page = get(&router, uri).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(page.header("content-type"), "text/html; charset=utf-8", "{uri}");
        page.has("Page not found")
            .has(&format!("<code>{uri}</code>"))
            .has("<p class=\"error-code\">404</p>")
            .has("<header class=\"topbar\">");
    }
    for uri in ["/api/v1/nothing", "/api/v2/runs", "/api/"] {
        let page = get_with(&router, uri, ("accept", "text/html")).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(page.header("content-type"), "application/json", "{uri}");
        let json: serde_json::Value = serde_json::from_str(&page.body).unwrap();
        assert_eq!(json["error"]["code"], "not_found", "{uri}");
        assert!(
            json["error"]["message"]
                .as_str()
                .unwrap()
                .contains("no API route"),
            "{uri}"
        );
    }
}

#[tokio::test]
async fn an_allowed_failure_is_a_warning_not_the_culprit() {
    let store = TestStore::new().await;
    let run = seed_wide(&store, "mobile-release").await;
    let router = ui_router(&store);
    let page = get(&router, &format!("/runs/{run}")).await;
    let task = page
        .body
        .split(&format!("data-path=\"{ALLOWED_FAILURE}\""))
        .next()
        .unwrap()
        .rsplit("<a ")
        .next()
        .unwrap();
    assert!(task.contains("class=\"task s-warning\""), "{task}");
    let after = page
        .body
        .split(&format!("data-path=\"{ALLOWED_FAILURE}\""))
        .nth(1)
        .unwrap()
        .split("</a>")
        .next()
        .unwrap();
    assert!(after.contains("failed (allowed)"), "{after}");
    page.lacks("failed the run")
        .lacks("task s-failure")
        .lacks("stage s-failure")
        .lacks("Failed at ");
    // Its log page says so too.
    let log = get(&router, &format!("/runs/{run}/tasks/{ALLOWED_FAILURE}")).await;
    log.has("<span class=\"badge s-warning\">failed (allowed)</span>");
}

#[tokio::test]
async fn counts_agree_in_number_and_pages_read_the_same() {
    let store = TestStore::new().await;
    let run = seed_wide(&store, "mobile-release").await;
    let router = ui_router(&store);
    let page = get(&router, "/").await;
    page.has("1 app · 1 run")
        .has(">1 run<")
        .lacks("1 runs")
        .lacks("1 apps");
    let demo_store = TestStore::new().await;
    seed_demo(&demo_store).await;
    get(&ui_router(&demo_store), "/")
        .await
        .has("4 apps · 45 runs")
        .has("24 runs");
    // Breadcrumbs end with where you are, not a slash; no branch reads `—` everywhere.
    let mut no_branch = demo_run("nobranch", 1, Utc::now());
    no_branch.branch = None;
    record(&store, &whole_run(&mut no_branch, RunResult::Success)).await;
    let page = get(&router, &format!("/runs/{}", no_branch.id())).await;
    page.has("<span aria-current=\"page\">1.4.1 #1</span>")
        .lacks(" / </nav>")
        .lacks(">none<");
    assert!(
        page.body
            .contains("<dt>Branch</dt><dd><span class=\"muted\">—</span>")
    );
    get(&router, "/apps/nobranch").await.lacks(" / </nav>");
    get(&router, &format!("/runs/{run}")).await.lacks(" / </nav>");
}

#[tokio::test]
async fn queue_and_agents_pages_show_jobs_waiting_running_and_agents() {
    let store = TestStore::new().await;
    let router = ui_router(&store);
    let page = get(&router, "/queue").await;
    assert_eq!(page.status, StatusCode::OK);
    page.has("No job is waiting or running");
    get(&router, "/agents")
        .await
        .has("No agent has asked for work yet");

    let job = |app: Option<&str>, labels: &[(&str, &str)]| gantry_store::NewJob {
        app: app.map(str::to_owned),
        repository: "https://git.example/hello.git".to_owned(),
        revision: "0123456789abcdef0123456789abcdef01234567".to_owned(),
        branch: Some("main".to_owned()),
        labels: labels
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect(),
        trigger: gantry_store::Trigger::default(),
    };
    let now = Utc::now();
    store
        .store
        .queue_job(&job(Some("hello"), &[]), now)
        .await
        .unwrap();
    store
        .store
        .queue_job(&job(None, &[("os", "mac")]), now)
        .await
        .unwrap();
    let linux = [("os".to_owned(), "linux".to_owned())].into_iter().collect();
    store
        .store
        .take_job("builder-1", &linux, Some("1.0"), Duration::seconds(60), now)
        .await
        .unwrap()
        .expect("the job without labels");

    let page = get(&router, "/queue").await;
    page.has("<title>Queue · Gantry</title>")
        .has("running on <strong>builder-1</strong>")
        .has("no agent has labels os=mac")
        .has("from gantry.yml");
    let agents = get(&router, "/agents").await;
    agents.has("builder-1").has("busy").has("os=linux");
    {
        let _redacted = gantry_test::redacted(&[]).bind_to_scope();
        insta::assert_snapshot!("queue", page.fragment("<table"));
        insta::assert_snapshot!("agents", agents.fragment("<table"));
    }
}
