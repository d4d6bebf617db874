//! Health, readiness, metrics, and the error shape of routes that do not exist.

use axum::http::StatusCode;

use gantry_test::RunBuilder;

use crate::support::{Api, Call};

#[tokio::test]
async fn health_and_metrics_need_no_token() {
    let api = Api::new().await;
    let reply = api.send(Call::get("/healthz")).await;
    assert_eq!((reply.status, reply.text().as_str()), (StatusCode::OK, "ok\n"));
    let reply = api.send(Call::get("/readyz")).await;
    assert_eq!((reply.status, reply.text().as_str()), (StatusCode::OK, "ready\n"));
    let reply = api.send(Call::get("/metrics")).await;
    reply.expect(StatusCode::OK);
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
}

#[tokio::test]
async fn not_ready_once_shutting_down() {
    let api = Api::new().await;
    api.state.shutdown.cancel();
    let reply = api.send(Call::get("/readyz")).await;
    reply.expect(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.error_code(), "unavailable");
    api.send(Call::get("/healthz")).await.expect(StatusCode::OK);
}

#[tokio::test]
async fn metrics_count_by_route_template_runs_and_tasks() {
    let api = Api::new().await;
    api.store().allocate_build("hello").await.unwrap();
    let mut run = RunBuilder::new("hello", 1);
    api.report(&run.complete(2, gantry_model::RunResult::Success))
        .await;
    for id in ["one", "two", "three"] {
        api.send(Call::get(&format!("/api/v1/runs/{id}")).token(&api.reader))
            .await
            .expect(StatusCode::NOT_FOUND);
    }
    api.send(Call::get("/no/such/page").token(&api.reader))
        .await
        .expect(StatusCode::NOT_FOUND);
    let text = api.send(Call::get("/metrics")).await.text();
    let has = |needle: &str| assert!(text.contains(needle), "{needle} in\n{text}");
    has(r#"gantry_http_requests_total{method="GET",route="/api/v1/runs/{id}",status="404"} 3"#);
    has(r#"gantry_http_requests_total{method="POST",route="/api/v1/runs/{id}/events",status="200"} 1"#);
    has(r#"route="unmatched",status="404"} 1"#);
    has(r#"gantry_http_request_duration_seconds_count{route="/api/v1/runs/{id}"} 3"#);
    has(r#"gantry_runs_total{result="success"} 1"#);
    has("gantry_task_duration_seconds_count 2");
    has(r#"gantry_store_operation_duration_seconds_count{operation="record"} 1"#);
    assert!(
        !text.contains("/api/v1/runs/one"),
        "raw paths never become labels"
    );
}

#[tokio::test]
async fn a_run_finished_twice_counts_once() {
    let api = Api::new().await;
    let mut run = RunBuilder::new("hello", 1);
    let events = run.complete(0, gantry_model::RunResult::Failure);
    api.report(&events).await;
    api.report(&events).await;
    let text = api.send(Call::get("/metrics")).await.text();
    assert!(
        text.contains(r#"gantry_runs_total{result="failure"} 1"#),
        "{text}"
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_error_shape() {
    let api = Api::new().await;
    let reply = api.send(Call::get("/api/v1/nope").token(&api.reader)).await;
    reply.expect(StatusCode::NOT_FOUND);
    assert_eq!(reply.error_code(), "not_found");
    let reply = api.send(Call::delete("/api/v1/runs").token(&api.admin)).await;
    reply.expect(StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.error_code(), "method_not_allowed");
}

/// `promtool check metrics` (Debian's `prometheus`; `scripts/install-deps` installs it) finds
/// nothing wrong with `/metrics`: every family has its help text, names follow the conventions.
#[tokio::test]
async fn metrics_pass_promtool() {
    let api = Api::new().await;
    api.store().allocate_build("hello").await.unwrap();
    let mut run = RunBuilder::new("hello", 1);
    api.report(&run.complete(1, gantry_model::RunResult::Success))
        .await;
    api.send(Call::get("/api/v1/runs").token(&api.reader))
        .await
        .expect(StatusCode::OK);
    let reply = api
        .send(Call::get("/metrics").header("accept", "text/plain"))
        .await;
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = reply.text();
    assert!(
        text.contains("# HELP gantry_runs_total Runs this server saw finish"),
        "{text}"
    );
    let child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(error) => {
            gantry_test::skip_or_fail(&format!(
                "promtool cannot be started ({error}); run scripts/install-deps"
            ));
            return;
        }
    };
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(text.as_bytes()).unwrap();
    }
    let output = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success() && said.trim().is_empty(),
        "promtool check metrics:\n{said}\nof:\n{text}"
    );
}
