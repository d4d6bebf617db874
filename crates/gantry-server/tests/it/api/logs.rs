//! Logs as text, page by page, and as server-sent events (a finished run's, here; following a
//! running one is in `socket`).

use axum::http::StatusCode;
use gantry_model::RunResult;

use gantry_test::RunBuilder;

use crate::support::{Api, Call, parse_sse};

async fn finished_run(api: &Api, lines: usize) -> RunBuilder {
    let mut run = RunBuilder::new("hello", 1);
    api.report(&run.complete(lines, RunResult::Success)).await;
    run
}

#[tokio::test]
async fn whole_logs_stream_as_text() {
    let api = Api::new().await;
    // More lines than a store page, to cross page boundaries.
    let run = finished_run(&api, 2500).await;
    let logs = |query: &str| Call::get(&format!("/api/v1/runs/{}/logs{query}", run.id())).token(&api.reader);

    let reply = api.send(logs("")).await;
    reply.expect(StatusCode::OK);
    assert_eq!(reply.header("content-type"), Some("text/plain; charset=utf-8"));
    let text = reply.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5000);
    assert_eq!(lines[0], "build/compile │ build/compile line 1");
    assert_eq!(lines[2499], "build/compile │ build/compile line 2500");
    assert_eq!(lines[2500], "test/unit │ test/unit line 1");

    let text = api
        .send(logs("?task=test/unit"))
        .await
        .expect(StatusCode::OK)
        .text();
    assert_eq!(text.lines().count(), 2500);
    assert_eq!(text.lines().nth(1999), Some("test/unit line 2000"));
    // A task's name does when it is unique.
    let text = api
        .send(logs("?task=compile"))
        .await
        .expect(StatusCode::OK)
        .text();
    assert_eq!(text.lines().next(), Some("build/compile line 1"));
    // Explicitly not followed: text, whatever the Accept header says.
    let reply = api
        .send(logs("?follow=false&task=unit").header("accept", "text/event-stream"))
        .await;
    assert_eq!(reply.header("content-type"), Some("text/plain; charset=utf-8"));
}

#[tokio::test]
async fn log_requests_with_bad_parts_are_refused() {
    let api = Api::new().await;
    let run = finished_run(&api, 1).await;
    let logs = |query: &str| Call::get(&format!("/api/v1/runs/{}/logs{query}", run.id())).token(&api.reader);
    let reply = api.send(logs("?task=deploy")).await;
    reply.expect(StatusCode::NOT_FOUND);
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("build/compile, test/unit")
    );
    let reply = api.send(logs("?follow=maybe")).await;
    reply.expect(StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_code(), "invalid_query");
    let reply = api
        .send(logs("?follow=true").header("last-event-id", "garbage"))
        .await;
    reply.expect(StatusCode::BAD_REQUEST);
    let reply = api
        .send(Call::get("/api/v1/runs/nope/logs").token(&api.reader))
        .await;
    reply.expect(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_finished_runs_events_end_with_its_result() {
    let api = Api::new().await;
    let run = finished_run(&api, 3).await;
    let url = format!("/api/v1/runs/{}/logs", run.id());
    let reply = api
        .send(
            Call::get(&url)
                .token(&api.reader)
                .header("accept", "text/event-stream"),
        )
        .await;
    reply.expect(StatusCode::OK);
    assert_eq!(reply.header("content-type"), Some("text/event-stream"));
    let (events, _) = parse_sse(&reply.text());
    assert_eq!(events.len(), 7);
    assert!(events[..6].iter().all(|event| event.event == "line"));
    assert_eq!(events[0].json()["path"], "build/compile");
    assert_eq!(events[0].json()["line"], "build/compile line 1");
    assert_eq!(events[0].json()["seq"], 1);
    assert_eq!(events[0].json()["stream"], "stdout");
    assert_eq!(events[5].id.as_deref(), Some("0:3,1:3"));
    assert_eq!(events[6].event, "end");
    assert_eq!(events[6].json()["result"], "success");

    // Reconnecting after the fourth line: the rest only.
    let reply = api
        .send(
            Call::get(&format!("{url}?follow=true"))
                .token(&api.reader)
                .header("last-event-id", "0:3,1:1"),
        )
        .await;
    let (events, _) = parse_sse(&reply.text());
    let lines: Vec<String> = events
        .iter()
        .filter(|e| e.event == "line")
        .map(|e| e.json()["line"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(lines, ["test/unit line 2", "test/unit line 3"]);

    // One task: ids are its sequence numbers.
    let reply = api
        .send(
            Call::get(&format!("{url}?follow=true&task=test/unit"))
                .token(&api.reader)
                .header("last-event-id", "2"),
        )
        .await;
    let (events, _) = parse_sse(&reply.text());
    assert_eq!(events.len(), 2);
    assert_eq!(
        (events[0].id.as_deref(), events[0].json()["line"].as_str()),
        (Some("3"), Some("test/unit line 3"))
    );
    assert_eq!(events[1].event, "end");
}
