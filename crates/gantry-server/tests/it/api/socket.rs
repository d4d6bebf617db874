//! Over a real socket on 127.0.0.1: the bootstrap token, following a live log, graceful
//! shutdown with requests in flight, and two servers sharing one SQLite file.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use futures_util::StreamExt;
use gantry_model::{RunResult, TaskOutcome};
use gantry_test::run::sha256;
use gantry_test::{RunBuilder, TestStore};
use tokio::sync::mpsc;
use tokio::time::timeout;

use crate::support::PATIENCE;
use crate::support::server::{Running, read, read_events, report, request, send};

#[tokio::test]
async fn the_bootstrap_token_is_shown_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = Running::start(&TestStore::url_in(&dir), None).await;
    let secret = first
        .bootstrap
        .clone()
        .expect("a new store gets a bootstrap token");
    let (status, _) = read(
        send(request(
            Method::GET,
            &first.url("/api/v1/tokens"),
            &secret,
            Body::empty(),
        ))
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    first.shut_down();
    first.stopped().await;

    let mut again = Running::start(
        &TestStore::url_in(&dir),
        Some("an-admin-secret-given-by-the-operator"),
    )
    .await;
    assert_eq!(again.bootstrap, None, "shown once");
    again.shut_down();
    again.stopped().await;

    // A secret chosen by the operator is used, and never echoed.
    let other = tempfile::tempdir().unwrap();
    let mut chosen = Running::start(
        &TestStore::url_in(&other),
        Some("an-admin-secret-given-by-the-operator"),
    )
    .await;
    assert_eq!(chosen.bootstrap, None);
    let url = chosen.url("/api/v1/tokens");
    let (status, _) = read(
        send(request(
            Method::GET,
            &url,
            "an-admin-secret-given-by-the-operator",
            Body::empty(),
        ))
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    chosen.shut_down();
    chosen.stopped().await;
}

#[tokio::test]
async fn a_follower_receives_lines_recorded_after_it_connected() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Running::start(&TestStore::url_in(&dir), None).await;
    let token = server.bootstrap.clone().unwrap();
    let mut run = RunBuilder::new("hello", 1);
    report(
        &server,
        &token,
        &[run.queued(), run.started(), run.task_started("build/compile")],
    )
    .await;
    report(&server, &token, &[run.output("build/compile", "before")]).await;

    let url = server.url(&format!("/api/v1/runs/{}/logs", run.id()));
    let mut follow = request(Method::GET, &url, &token, Body::empty());
    follow
        .headers_mut()
        .insert("accept", "text/event-stream".parse().unwrap());
    let response = send(follow).await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let mut buffer = String::new();
    let (events, _) = read_events(&mut body, &mut buffer, |events| !events.is_empty()).await;
    assert_eq!(events[0].json()["line"], "before");

    // Recorded after the follower connected: they arrive, in order, with their ids.
    report(
        &server,
        &token,
        &[
            run.output("build/compile", "after 1"),
            run.output("build/compile", "after 2"),
        ],
    )
    .await;
    let (events, ended) = read_events(&mut body, &mut buffer, |events| events.len() >= 2).await;
    assert!(!ended);
    let lines: Vec<_> = events
        .iter()
        .map(|event| event.json()["line"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(lines, ["after 1", "after 2"]);
    assert_eq!(events[1].id.as_deref(), Some("0:3"));

    // A new task, then the end of the run: the stream sends the rest, then ends.
    let mut rest = run.task("test/unit", 1);
    rest.push(run.task_finished("build/compile", TaskOutcome::Success));
    rest.push(run.finished(RunResult::Success));
    report(&server, &token, &rest).await;
    let (events, ended) = read_events(&mut body, &mut buffer, |_| false).await;
    assert!(ended, "the stream ends with the run");
    assert_eq!(events[0].json()["line"], "test/unit line 1");
    assert_eq!(events.last().unwrap().event, "end");
    assert_eq!(events.last().unwrap().json()["result"], "success");

    server.shut_down();
    server.stopped().await;
}

#[tokio::test]
async fn shutting_down_finishes_requests_in_flight_and_ends_streams() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Running::start(&TestStore::url_in(&dir), None).await;
    let token = server.bootstrap.clone().unwrap();
    let mut run = RunBuilder::new("hello", 1);
    report(&server, &token, &[run.queued(), run.started()]).await;

    // A live stream of a run that goes on.
    let url = server.url(&format!("/api/v1/runs/{}/logs?follow=true", run.id()));
    let follow = send(request(Method::GET, &url, &token, Body::empty())).await;
    assert_eq!(follow.status(), StatusCode::OK);

    // An upload in flight: half its body sent.
    let content = vec![42_u8; 64 * 1024];
    let digest = sha256(&content);
    let (chunks, received) = mpsc::channel::<Vec<u8>>(4);
    let body = Body::from_stream(tokio_stream_from(received).map(Ok::<_, std::io::Error>));
    let upload_url = server.url(&format!("/api/v1/artifacts/{digest}"));
    let mut upload = request(Method::PUT, &upload_url, &token, body);
    upload
        .headers_mut()
        .insert("content-type", "application/octet-stream".parse().unwrap());
    let uploading = tokio::spawn(send(upload));
    chunks.send(content[..1000].to_vec()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    server.shut_down();
    // The stream ends (without an `end` event: the run did not finish).
    let mut buffer = String::new();
    let (events, ended) = read_events(&mut follow.into_body(), &mut buffer, |_| false).await;
    assert!(ended && events.is_empty(), "{events:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!server.task.is_finished(), "the upload is still in flight");

    chunks.send(content[1000..].to_vec()).await.unwrap();
    drop(chunks);
    let (status, body) = read(timeout(PATIENCE, uploading).await.unwrap().unwrap()).await;
    assert_eq!(status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&body));
    let store = server.store.clone();
    let addr = server.addr;
    server.stopped().await;
    assert!(store.artifacts().size(&digest).await.unwrap().is_some());
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer listening"
    );
    assert!(
        store
            .list_runs(&gantry_store::RunFilter::default())
            .await
            .is_err(),
        "the store is closed"
    );
}

/// A stream of what `receiver` receives.
fn tokio_stream_from(receiver: mpsc::Receiver<Vec<u8>>) -> impl futures_util::Stream<Item = Vec<u8>> {
    futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    })
}

#[tokio::test]
async fn two_servers_on_one_sqlite_file_hand_out_each_build_number_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = Running::start(&TestStore::url_in(&dir), None).await;
    let mut second = Running::start(&TestStore::url_in(&dir), None).await;
    assert_eq!(second.bootstrap, None, "one store, one bootstrap token");
    let token = first.bootstrap.clone().unwrap();
    let mut allocations = Vec::new();
    for index in 0..40 {
        let server = if index % 2 == 0 { &first } else { &second };
        let url = server.url("/api/v1/apps/hello/builds");
        let token = token.clone();
        allocations.push(tokio::spawn(async move {
            let (status, body) = read(send(request(Method::POST, &url, &token, Body::empty())).await).await;
            assert_eq!(status, StatusCode::CREATED);
            serde_json::from_slice::<serde_json::Value>(&body).unwrap()["build"]
                .as_u64()
                .unwrap()
        }));
    }
    let mut builds = Vec::new();
    for allocation in allocations {
        builds.push(allocation.await.unwrap());
    }
    builds.sort_unstable();
    assert_eq!(builds, (1..=40).collect::<Vec<u64>>());
    first.shut_down();
    second.shut_down();
    first.stopped().await;
    second.stopped().await;
}
