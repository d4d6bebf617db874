//! Over a real socket on 127.0.0.1: the bootstrap token, following a live log, graceful
//! shutdown with requests in flight, and two servers sharing one SQLite file.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{Method, Request, Response, StatusCode};
use futures_util::StreamExt;
use gantry_model::{RunResult, TaskOutcome};
use gantry_server::{Server, ServerConfig};
use gantry_store::Store;
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::timeout;

use crate::harness::{RunBuilder, db_url, sha256};
use crate::logs::{SseEvent, parse_sse};

/// Long enough for anything here on a slow machine; a hang fails instead of blocking.
pub(crate) const PATIENCE: Duration = Duration::from_secs(20);

/// A server bound to a free port on 127.0.0.1, serving in a task until shut down.
pub(crate) struct Running {
    pub(crate) addr: SocketAddr,
    pub(crate) bootstrap: Option<String>,
    pub(crate) store: Store,
    metrics: std::sync::Arc<gantry_server::metrics::Metrics>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    async fn start(db_url: &str, admin_token: Option<&str>) -> Self {
        let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), db_url);
        config.admin_token = admin_token.map(str::to_owned);
        Self::with(config).await
    }

    /// A server with `config`, listening wherever it says.
    pub(crate) async fn with(config: ServerConfig) -> Self {
        let server = Server::bind(config).await.unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        Self {
            addr: server.local_addr(),
            bootstrap: server.bootstrap_token().map(str::to_owned),
            store: server.store().clone(),
            metrics: server.state().metrics.clone(),
            stop: Some(stop),
            task: tokio::spawn(server.serve(async move {
                let _ = stopped.await;
            })),
        }
    }

    /// The server's metrics, as `/metrics` shows them.
    pub(crate) fn metrics(&self) -> String {
        self.metrics.encode()
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub(crate) fn shut_down(&mut self) {
        let _ = self.stop.take().unwrap().send(());
    }

    pub(crate) async fn stopped(self) {
        timeout(PATIENCE, self.task)
            .await
            .expect("the server stops")
            .unwrap()
            .unwrap();
    }
}

pub(crate) fn client() -> Client<HttpConnector, Body> {
    Client::builder(TokioExecutor::new()).build_http()
}

pub(crate) async fn send(request: Request<Body>) -> Response<Body> {
    let response = timeout(PATIENCE, client().request(request))
        .await
        .expect("an answer")
        .unwrap();
    response.map(Body::new)
}

pub(crate) fn request(method: Method, url: &str, token: &str, body: Body) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(url)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(body)
        .unwrap()
}

pub(crate) async fn read(response: Response<Body>) -> (StatusCode, Bytes) {
    let status = response.status();
    (
        status,
        timeout(PATIENCE, response.into_body().collect())
            .await
            .unwrap()
            .unwrap()
            .to_bytes(),
    )
}

/// Posts run events, first allocating the build numbers their `run_queued` name (as `gantry run
/// --server` does); the reply must be a success.
pub(crate) async fn report(server: &Running, token: &str, events: &[gantry_model::RunEvent]) {
    let url = server.url(&format!("/api/v1/runs/{}/events", events[0].run_id));
    loop {
        let batch = gantry_api::RunEventBatch::new(events.to_vec());
        let body = Body::from(serde_json::to_vec(&batch).unwrap());
        let (status, body) = read(send(request(Method::POST, &url, token, body)).await).await;
        let text = String::from_utf8_lossy(&body);
        if !(status == StatusCode::CONFLICT && text.contains("build_refused") && text.contains("allocated")) {
            assert_eq!(status, StatusCode::OK, "{text}");
            return;
        }
        let app = events
            .iter()
            .find_map(|event| match &event.kind {
                gantry_model::RunEventKind::RunQueued(info) => Some(info.app.clone()),
                _ => None,
            })
            .unwrap();
        let builds = server.url(&format!("/api/v1/apps/{}/builds", urlencoding_app(&app)));
        let (status, _) = read(send(request(Method::POST, &builds, token, Body::empty())).await).await;
        assert_eq!(status, StatusCode::CREATED);
    }
}

/// An app name as a path segment (the tests' names need only spaces escaped).
fn urlencoding_app(app: &str) -> String {
    app.replace(' ', "%20")
}

/// Reads server-sent events from `body` until `enough` says so or the stream ends.
pub(crate) async fn read_events(
    body: &mut Body,
    buffer: &mut String,
    enough: impl Fn(&[SseEvent]) -> bool,
) -> (Vec<SseEvent>, bool) {
    let mut events = Vec::new();
    loop {
        let frame = timeout(PATIENCE, body.frame()).await.expect("an event in time");
        let Some(frame) = frame else { return (events, true) };
        if let Ok(data) = frame.unwrap().into_data() {
            buffer.push_str(std::str::from_utf8(&data).unwrap());
            let (parsed, rest) = parse_sse(buffer);
            *buffer = rest;
            events.extend(parsed.into_iter().filter(|event| !event.event.is_empty()));
            if enough(&events) {
                return (events, false);
            }
        }
    }
}

#[tokio::test]
async fn the_bootstrap_token_is_shown_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = Running::start(&db_url(&dir), None).await;
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

    let mut again = Running::start(&db_url(&dir), Some("an-admin-secret-given-by-the-operator")).await;
    assert_eq!(again.bootstrap, None, "shown once");
    again.shut_down();
    again.stopped().await;

    // A secret chosen by the operator is used, and never echoed.
    let other = tempfile::tempdir().unwrap();
    let mut chosen = Running::start(&db_url(&other), Some("an-admin-secret-given-by-the-operator")).await;
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
    let mut server = Running::start(&db_url(&dir), None).await;
    let token = server.bootstrap.clone().unwrap();
    let mut run = RunBuilder::new("hello", 1);
    report(
        &server,
        &token,
        &[run.queued(), run.started(), run.task_started("build/compile")],
    )
    .await;
    report(&server, &token, &[run.output("build/compile", "before")]).await;

    let url = server.url(&format!("/api/v1/runs/{}/logs", run.run_id));
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
    let mut server = Running::start(&db_url(&dir), None).await;
    let token = server.bootstrap.clone().unwrap();
    let mut run = RunBuilder::new("hello", 1);
    report(&server, &token, &[run.queued(), run.started()]).await;

    // A live stream of a run that goes on.
    let url = server.url(&format!("/api/v1/runs/{}/logs?follow=true", run.run_id));
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
    let mut first = Running::start(&db_url(&dir), None).await;
    let mut second = Running::start(&db_url(&dir), None).await;
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
