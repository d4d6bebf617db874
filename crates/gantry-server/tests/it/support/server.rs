//! A real server on a free port of the loopback, serving in a task of the test's runtime, and a
//! plain HTTP client of it: requests, replies read whole, run events reported as a client does,
//! server-sent events read as they come.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{Method, Request, Response, StatusCode};
use gantry_server::{Clock, Server, ServerConfig};
use gantry_store::Store;
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::timeout;

use crate::support::sse::{SseEvent, parse_sse};

/// Long enough for anything here on a slow machine; a hang fails instead of blocking.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A server bound to a free port on 127.0.0.1, serving in a task until shut down.
pub struct Running {
    pub addr: SocketAddr,
    pub bootstrap: Option<String>,
    pub store: Store,
    metrics: std::sync::Arc<gantry_server::metrics::Metrics>,
    stop: Option<oneshot::Sender<()>>,
    pub task: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// A server on the store at `db_url`, with `admin_token` as its bootstrap secret if given.
    pub async fn start(db_url: &str, admin_token: Option<&str>) -> Self {
        let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), db_url);
        config.admin_token = admin_token.map(str::to_owned);
        Self::with(config).await
    }

    /// A server with `config`, listening wherever it says.
    pub async fn with(config: ServerConfig) -> Self {
        Self::with_clock(config, Clock::system()).await
    }

    /// A server with `config` whose lease path reads `clock`.
    pub async fn with_clock(config: ServerConfig, clock: Clock) -> Self {
        let server = Server::bind(config).await.unwrap().with_clock(clock);
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
    pub fn metrics(&self) -> String {
        self.metrics.encode()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn shut_down(&mut self) {
        let _ = self.stop.take().unwrap().send(());
    }

    pub async fn stopped(self) {
        timeout(PATIENCE, self.task)
            .await
            .expect("the server stops")
            .unwrap()
            .unwrap();
    }
}

pub fn client() -> Client<HttpConnector, Body> {
    Client::builder(TokioExecutor::new()).build_http()
}

pub async fn send(request: Request<Body>) -> Response<Body> {
    let response = timeout(PATIENCE, client().request(request))
        .await
        .expect("an answer")
        .unwrap();
    response.map(Body::new)
}

pub fn request(method: Method, url: &str, token: &str, body: Body) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(url)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(body)
        .unwrap()
}

pub async fn read(response: Response<Body>) -> (StatusCode, Bytes) {
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
pub async fn report(server: &Running, token: &str, events: &[gantry_model::RunEvent]) {
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
pub async fn read_events(
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
