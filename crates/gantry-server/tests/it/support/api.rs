//! The API under test: the whole router over a kit store (`gantry_test::TestStore`), with a
//! token of each scope; requests built and sent with `oneshot`, replies read whole.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use gantry_model::{RunEvent, RunEventKind};
use gantry_server::{AppState, ManualClock};
use gantry_store::{Scope, Store};
use gantry_test::TestStore;
use gantry_test::run::{highest_build, sha256};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// A router on a fresh store, and a token of each scope.
pub struct Api {
    /// The store and its temporary directory.
    pub test: TestStore,
    pub state: AppState,
    pub router: Router,
    pub admin: String,
    pub reporter: String,
    pub reader: String,
}

impl Api {
    /// On a SQLite store.
    pub async fn new() -> Self {
        Self::on(TestStore::sqlite().await).await
    }

    /// With the state changed by `configure` (anonymous reading, upload limit), on SQLite.
    pub async fn with(configure: impl FnOnce(AppState) -> AppState) -> Self {
        Self::on_with(TestStore::sqlite().await, configure).await
    }

    /// On `test`'s store (SQLite or PostgreSQL).
    pub async fn on(test: TestStore) -> Self {
        Self::on_with(test, |state| state).await
    }

    /// On `test`'s store, its lease path reading `clock`.
    pub async fn on_clock(test: TestStore, clock: &ManualClock) -> Self {
        let clock = clock.clock();
        Self::on_with(test, |state| state.clock(clock)).await
    }

    /// On `test`'s store, with the state changed by `configure`.
    pub async fn on_with(test: TestStore, configure: impl FnOnce(AppState) -> AppState) -> Self {
        let store = test.store.clone();
        let admin = store.create_token("admin", &[Scope::Admin]).await.unwrap();
        let reporter = store.create_token("reporter", &[Scope::Report]).await.unwrap();
        let reader = store.create_token("reader", &[Scope::Read]).await.unwrap();
        let state = configure(AppState::new(store));
        let router = gantry_server::router::router(state.clone());
        Self {
            test,
            state,
            router,
            admin,
            reporter,
            reader,
        }
    }

    pub fn store(&self) -> &Store {
        &self.test.store
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
            let highest = highest_build(events, &app);
            while self.store().allocate_build(&app).await.unwrap() < highest {}
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

    /// The reply as a snapshot pins it: its status, content type and challenge, and its body
    /// (as JSON when it is JSON).
    pub fn transcript(&self) -> Value {
        let body = serde_json::from_slice(&self.body).unwrap_or_else(|_| Value::String(self.text()));
        serde_json::json!({
            "status": self.status.as_u16(),
            "content-type": self.header("content-type"),
            "www-authenticate": self.header("www-authenticate"),
            "body": body,
        })
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(&self, status: StatusCode) -> &Self {
        assert_eq!(self.status, status, "{}", self.text());
        self
    }
}
