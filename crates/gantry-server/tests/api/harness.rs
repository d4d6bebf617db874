//! The API under test: a router over a store in a temporary directory, with a token of each
//! scope; requests built and sent with `oneshot`; run events built with increasing times.

#![allow(dead_code)] // each test binary uses a different part

use std::sync::atomic::{AtomicI64, Ordering};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use chrono::{DateTime, Duration, TimeZone, Utc};
use gantry_model::event::RunInfo;
use gantry_model::{
    Library, LogStream, Pipeline, RunEvent, RunEventKind, RunId, RunResult, Source, TaskOutcome, TaskPath,
};
use gantry_server::AppState;
use gantry_store::{Scope, Store};
use http_body_util::BodyExt;
use serde_json::Value;
use tempfile::TempDir;
use tower::ServiceExt;

/// A router on a fresh store, and a token of each scope.
pub struct Api {
    pub dir: TempDir,
    pub state: AppState,
    pub router: Router,
    pub admin: String,
    pub reporter: String,
    pub reader: String,
}

impl Api {
    pub async fn new() -> Self {
        Self::with(|state| state).await
    }

    /// With the state changed by `configure` (anonymous reading, upload limit).
    pub async fn with(configure: impl FnOnce(AppState) -> AppState) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&db_url(&dir)).await.unwrap();
        let admin = store.create_token("admin", &[Scope::Admin]).await.unwrap();
        let reporter = store.create_token("reporter", &[Scope::Report]).await.unwrap();
        let reader = store.create_token("reader", &[Scope::Read]).await.unwrap();
        let state = configure(AppState::new(store));
        let router = gantry_server::router::router(state.clone());
        Self {
            dir,
            state,
            router,
            admin,
            reporter,
            reader,
        }
    }

    pub fn store(&self) -> &Store {
        &self.state.store
    }

    pub async fn send(&self, call: Call) -> Reply {
        let response = self.router.clone().oneshot(call.build()).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .map(http_body_util::Collected::to_bytes);
        Reply {
            status,
            headers,
            body: body.unwrap_or_default(),
        }
    }

    /// Posts run events as the reporter, first allocating the build numbers their `run_queued`
    /// name (as `gantry run --server` does); the reply must be a success.
    pub async fn report(&self, events: &[RunEvent]) {
        let run_id = &events[0].run_id.0;
        loop {
            let reply = self
                .send(
                    Call::post(&format!("/api/v1/runs/{run_id}/events"))
                        .token(&self.reporter)
                        .json(&gantry_api::RunEventBatch::new(events.to_vec())),
                )
                .await;
            let unallocated = reply.status == StatusCode::CONFLICT
                && reply.error_code() == "build_refused"
                && reply.text().contains("allocated");
            if !unallocated {
                assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
                return;
            }
            let app = events
                .iter()
                .find_map(|event| match &event.kind {
                    RunEventKind::RunQueued(info) => Some(info.app.clone()),
                    _ => None,
                })
                .unwrap();
            self.store().allocate_build(&app).await.unwrap();
        }
    }

    /// Uploads an artifact as the reporter.
    pub async fn upload(&self, content: &[u8]) -> String {
        let sha256 = sha256(content);
        let reply = self
            .send(
                Call::put(&format!("/api/v1/artifacts/{sha256}"))
                    .token(&self.reporter)
                    .bytes(content.to_vec()),
            )
            .await;
        assert!(reply.status.is_success(), "{}", reply.text());
        sha256
    }
}

pub fn db_url(dir: &TempDir) -> String {
    format!("sqlite://{}", dir.path().join("data/gantry.db").display())
}

pub fn sha256(content: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(content))
}

/// A request to build.
pub struct Call {
    method: Method,
    uri: String,
    headers: Vec<(String, String)>,
    body: Body,
}

impl Call {
    pub fn new(method: Method, uri: &str) -> Self {
        Self {
            method,
            uri: uri.to_owned(),
            headers: Vec::new(),
            body: Body::empty(),
        }
    }

    pub fn get(uri: &str) -> Self {
        Self::new(Method::GET, uri)
    }

    pub fn post(uri: &str) -> Self {
        Self::new(Method::POST, uri)
    }

    pub fn put(uri: &str) -> Self {
        Self::new(Method::PUT, uri)
    }

    pub fn delete(uri: &str) -> Self {
        Self::new(Method::DELETE, uri)
    }

    pub fn token(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn json(self, value: &impl serde::Serialize) -> Self {
        self.raw("application/json", serde_json::to_vec(value).unwrap())
    }

    /// A body of any content type.
    pub fn raw(mut self, content_type: &str, body: impl Into<Bytes>) -> Self {
        self.headers
            .push(("content-type".to_owned(), content_type.to_owned()));
        self.body = Body::from(body.into());
        self
    }

    pub fn bytes(self, body: impl Into<Bytes>) -> Self {
        self.raw("application/octet-stream", body)
    }

    pub fn build(self) -> Request<Body> {
        let mut request = Request::builder().method(self.method).uri(self.uri);
        for (name, value) in self.headers {
            request = request.header(name, value);
        }
        request.body(self.body).unwrap()
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|err| panic!("{err}: {}", self.text()))
    }

    /// The error code of an error reply, checking the error shape.
    pub fn error_code(&self) -> String {
        let json = self.json();
        let error = json
            .get("error")
            .unwrap_or_else(|| panic!("not an error: {json}"));
        assert!(
            error["message"]
                .as_str()
                .is_some_and(|message| !message.is_empty()),
            "{json}"
        );
        assert_eq!(
            self.header(header::CONTENT_TYPE.as_str()),
            Some("application/json"),
            "{json}"
        );
        error["code"].as_str().unwrap().to_owned()
    }

    /// The `message` of an error reply.
    pub fn error_message(&self) -> String {
        self.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The `field` of an error reply.
    pub fn error_field(&self) -> Option<String> {
        self.json()["error"]["field"].as_str().map(str::to_owned)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(&self, status: StatusCode) -> &Self {
        assert_eq!(self.status, status, "{}", self.text());
        self
    }
}

/// The pipeline every test run has.
pub fn pipeline(app: &str) -> Pipeline {
    let text = format!(
        "app: {app}\nversion: \"1.0.{{build}}\"\nstages:\n  - name: build\n    tasks:\n      - {{ name: compile, run: \"true\" }}\n  - name: test\n    tasks:\n      - {{ name: unit, run: \"true\" }}\n"
    );
    gantry_model::load(&Source::new("gantry.yml", text), &Library::default()).unwrap()
}

static RUNS: AtomicI64 = AtomicI64::new(0);

/// Builds the events of one run, each a millisecond after the last.
pub struct RunBuilder {
    pub run_id: String,
    pub app: String,
    pub build: u64,
    pub branch: String,
    pub at: DateTime<Utc>,
}

impl RunBuilder {
    pub fn new(app: &str, build: u64) -> Self {
        Self {
            run_id: uuid::Uuid::now_v7().to_string(),
            app: app.to_owned(),
            build,
            branch: "main".to_owned(),
            // Each run a minute after the one built before it, so that runs sort as built.
            at: Utc.with_ymd_and_hms(2025, 5, 1, 12, 0, 0).unwrap()
                + Duration::minutes(RUNS.fetch_add(1, Ordering::Relaxed)),
        }
    }

    /// Queued at `at` (for filters by time).
    pub fn at(mut self, at: DateTime<Utc>) -> Self {
        self.at = at;
        self
    }

    pub fn branch(mut self, branch: &str) -> Self {
        branch.clone_into(&mut self.branch);
        self
    }

    pub fn event(&mut self, kind: RunEventKind) -> RunEvent {
        self.at += Duration::milliseconds(1);
        RunEvent {
            id: uuid::Uuid::now_v7().to_string(),
            run_id: RunId(self.run_id.clone()),
            at: self.at,
            kind,
        }
    }

    pub fn queued(&mut self) -> RunEvent {
        let info = RunInfo {
            app: self.app.clone(),
            version: format!("1.0.{}", self.build),
            build: self.build,
            revision: Some("0123456789abcdef0123456789abcdef01234567".into()),
            branch: Some(self.branch.clone()),
            traceable: true,
            untraceable_reason: None,
            pipeline: pipeline(&self.app),
            mock: false,
            selection: gantry_model::Selection::All,
            runner: None,
        };
        self.event(RunEventKind::RunQueued(Box::new(info)))
    }

    pub fn started(&mut self) -> RunEvent {
        self.event(RunEventKind::RunStarted)
    }

    pub fn task_started(&mut self, path: &str) -> RunEvent {
        self.event(RunEventKind::TaskStarted {
            path: TaskPath(path.into()),
            attempt: 1,
        })
    }

    pub fn output(&mut self, path: &str, line: &str) -> RunEvent {
        self.event(RunEventKind::TaskOutput {
            path: TaskPath(path.into()),
            stream: LogStream::Stdout,
            line: line.into(),
        })
    }

    pub fn task_finished(&mut self, path: &str, outcome: TaskOutcome) -> RunEvent {
        self.event(RunEventKind::TaskFinished {
            path: TaskPath(path.into()),
            attempt: 1,
            outcome,
            exit_code: Some(i32::from(outcome != TaskOutcome::Success)),
            will_retry: false,
            allowed_failure: false,
        })
    }

    pub fn artifact(&mut self, path: &str, name: &str, content: &[u8]) -> RunEvent {
        self.event(RunEventKind::ArtifactPackaged {
            path: TaskPath(path.into()),
            name: name.into(),
            source: "/on/the/client/somewhere".into(),
            size: content.len() as u64,
            sha256: sha256(content),
        })
    }

    pub fn finished(&mut self, result: RunResult) -> RunEvent {
        self.event(RunEventKind::RunFinished { result })
    }

    /// A task that starts, prints `lines` lines (`PATH line N`) and succeeds.
    pub fn task(&mut self, path: &str, lines: usize) -> Vec<RunEvent> {
        let mut events = vec![self.task_started(path)];
        for index in 1..=lines {
            events.push(self.output(path, &format!("{path} line {index}")));
        }
        events.push(self.task_finished(path, TaskOutcome::Success));
        events
    }

    /// A whole run: both tasks with `lines` lines each, then its end with `result`.
    pub fn complete(&mut self, lines: usize, result: RunResult) -> Vec<RunEvent> {
        let mut events = vec![self.queued(), self.started()];
        events.extend(self.task("build/compile", lines));
        events.extend(self.task("test/unit", lines));
        events.push(self.finished(result));
        events
    }
}
