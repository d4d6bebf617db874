//! Statuses and notifications sent to local servers that play each forge's API and check what
//! the real one requires (method, path, headers, body), answering as it does; and the retries
//! of transient failures.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use gantry_forge::{
    CommitStatus, DeliveryError, ForgeClient, ForgeKind, NOTIFICATION_SIGNATURE_HEADER, Notification,
    NotificationTarget, RetryPolicy, Secret, StatusState, StatusTarget,
};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

const SHA: &str = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";
const TOKEN: &str = "ghp_16C7e42F292c6912E7710c838347Ae178B4a";

/// A request as the server received it.
#[derive(Debug, Clone)]
struct Received {
    method: Method,
    /// The path as sent, percent-encoding kept.
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// How the server answers its `n`th request (from 0).
type Answer = Arc<dyn Fn(usize, &Received) -> Response + Send + Sync>;

#[derive(Clone)]
struct Server {
    received: Arc<Mutex<Vec<Received>>>,
    answer: Answer,
}

async fn handle(
    State(server): State<Server>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let received = Received {
        method,
        path: uri.path().to_owned(),
        headers,
        body,
    };
    let n = {
        let mut all = server.received.lock().unwrap();
        all.push(received.clone());
        all.len() - 1
    };
    (server.answer)(n, &received)
}

/// A server on a free loopback port; its URL, and what it received.
async fn serve(
    answer: impl Fn(usize, &Received) -> Response + Send + Sync + 'static,
) -> (String, Arc<Mutex<Vec<Received>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let server = Server {
        received: received.clone(),
        answer: Arc::new(answer),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new().fallback(handle).with_state(server);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

fn client() -> ForgeClient {
    ForgeClient::new().unwrap().with_retry(RetryPolicy {
        attempts: 3,
        first_delay: Duration::from_millis(10),
        max_delay: Duration::from_secs(2),
    })
}

fn status(state: StatusState) -> CommitStatus {
    CommitStatus {
        sha: SHA.into(),
        state,
        target_url: "https://gantry.example/apps/web/runs/42".into(),
        context: CommitStatus::context_for("web"),
        description: "build #42 is running".into(),
    }
}

fn target(kind: ForgeKind, api_url: &str, repository: &str) -> StatusTarget {
    StatusTarget {
        kind,
        api_url: api_url.into(),
        repository: repository.into(),
        token: Secret::new(TOKEN),
    }
}

fn json_answer(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// GitHub's "Create a commit status"
/// (<https://docs.github.com/en/rest/commits/statuses#create-a-commit-status>): what it requires,
/// and its answers: `401` without a valid token, `404` for another path, `422` for a bad body,
/// `201` with the status.
fn github(_: usize, request: &Received) -> Response {
    if request.method != Method::POST || request.path != format!("/repos/octo-org/hello-world/statuses/{SHA}")
    {
        return json_answer(StatusCode::NOT_FOUND, json!({"message": "Not Found"}));
    }
    if request.header("user-agent").is_none_or(str::is_empty) {
        // GitHub refuses requests without a User-Agent.
        return (
            StatusCode::FORBIDDEN,
            "Request forbidden by administrative rules.",
        )
            .into_response();
    }
    if request.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
        return json_answer(StatusCode::UNAUTHORIZED, json!({"message": "Bad credentials"}));
    }
    let body = request.json();
    let valid = request.header("accept") == Some("application/vnd.github+json")
        && request.header("x-github-api-version") == Some("2022-11-28")
        && request.header("content-type") == Some("application/json")
        && ["error", "failure", "pending", "success"].contains(&body["state"].as_str().unwrap_or(""))
        && body["context"] == "gantry/web"
        && body["target_url"] == "https://gantry.example/apps/web/runs/42"
        && body["description"].is_string();
    if !valid {
        return json_answer(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"message": "Validation Failed"}),
        );
    }
    json_answer(
        StatusCode::CREATED,
        json!({"id": 1, "state": body["state"], "context": body["context"], "description": body["description"]}),
    )
}

/// Gitea's `POST /repos/{owner}/{repo}/statuses/{sha}` (<https://docs.gitea.com/api/>, operation
/// `repoCreateStatus`), Forgejo's alike.
fn gitea(_: usize, request: &Received) -> Response {
    if request.method != Method::POST
        || request.path != format!("/api/v1/repos/octo-org/hello-world/statuses/{SHA}")
    {
        return json_answer(StatusCode::NOT_FOUND, json!({"message": "Not Found"}));
    }
    if request.header("authorization") != Some(&format!("token {TOKEN}")) {
        return json_answer(StatusCode::UNAUTHORIZED, json!({"message": "token is required"}));
    }
    let body = request.json();
    let valid = request.header("content-type") == Some("application/json")
        && ["pending", "success", "error", "failure"].contains(&body["state"].as_str().unwrap_or(""))
        && body["context"] == "gantry/web"
        && body["target_url"] == "https://gantry.example/apps/web/runs/42"
        && body["description"] == "build #42 is running";
    if !valid {
        return json_answer(StatusCode::UNPROCESSABLE_ENTITY, json!({"message": "invalid"}));
    }
    json_answer(
        StatusCode::CREATED,
        json!({"id": 1, "status": body["state"], "context": body["context"]}),
    )
}

/// GitLab's "Set the pipeline status of a commit"
/// (<https://docs.gitlab.com/api/commits/#set-the-pipeline-status-of-a-commit>): the project as
/// its URL-encoded path, `PRIVATE-TOKEN`, GitLab's state names, `name` for the context.
fn gitlab(_: usize, request: &Received) -> Response {
    if request.method != Method::POST
        || request.path != format!("/api/v4/projects/group%2Fsub%2Fhello-world/statuses/{SHA}")
    {
        return json_answer(StatusCode::NOT_FOUND, json!({"message": "404 Project Not Found"}));
    }
    if request.header("private-token") != Some(TOKEN) {
        return json_answer(StatusCode::UNAUTHORIZED, json!({"message": "401 Unauthorized"}));
    }
    let body = request.json();
    let valid = request.header("content-type") == Some("application/json")
        && ["pending", "running", "success", "failed", "canceled", "skipped"]
            .contains(&body["state"].as_str().unwrap_or(""))
        && body["name"] == "gantry/web"
        && body["target_url"] == "https://gantry.example/apps/web/runs/42"
        && body["description"] == "build #42 is running";
    if !valid {
        return json_answer(
            StatusCode::BAD_REQUEST,
            json!({"error": "state does not have a valid value"}),
        );
    }
    json_answer(
        StatusCode::CREATED,
        json!({"id": 93, "sha": SHA, "status": body["state"], "name": body["name"]}),
    )
}

#[tokio::test]
async fn github_statuses_are_set_as_its_api_requires() {
    let (url, received) = serve(github).await;
    for state in [
        StatusState::Pending,
        StatusState::Success,
        StatusState::Failure,
        StatusState::Error,
    ] {
        client()
            .set_status(
                &target(ForgeKind::GitHub, &url, "octo-org/hello-world"),
                &status(state),
            )
            .await
            .unwrap();
    }
    let states: Vec<Value> = received
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.json()["state"].clone())
        .collect();
    assert_eq!(
        states,
        [
            json!("pending"),
            json!("success"),
            json!("failure"),
            json!("error")
        ]
    );
}

#[tokio::test]
async fn gitea_and_forgejo_statuses_are_set_as_their_api_requires() {
    let (url, received) = serve(gitea).await;
    for kind in [ForgeKind::Gitea, ForgeKind::Forgejo] {
        client()
            .set_status(
                &target(kind, &format!("{url}/"), "octo-org/hello-world"),
                &status(StatusState::Failure),
            )
            .await
            .unwrap();
    }
    assert_eq!(received.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn gitlab_statuses_are_set_as_its_api_requires() {
    let (url, received) = serve(gitlab).await;
    for state in [
        StatusState::Pending,
        StatusState::Success,
        StatusState::Failure,
        StatusState::Error,
    ] {
        client()
            .set_status(
                &target(ForgeKind::GitLab, &url, "group/sub/hello-world"),
                &status(state),
            )
            .await
            .unwrap();
    }
    let states: Vec<Value> = received
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.json()["state"].clone())
        .collect();
    assert_eq!(
        states,
        [
            json!("pending"),
            json!("success"),
            json!("failed"),
            json!("failed")
        ]
    );
}

#[tokio::test]
async fn a_server_error_is_retried_until_the_forge_takes_the_status() {
    let (url, received) = serve(|n, request| {
        if n == 0 {
            (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response()
        } else {
            github(n, request)
        }
    })
    .await;
    client()
        .set_status(
            &target(ForgeKind::GitHub, &url, "octo-org/hello-world"),
            &status(StatusState::Success),
        )
        .await
        .unwrap();
    let received = received.lock().unwrap();
    assert_eq!(received.len(), 2);
    assert_eq!(
        received[0].body, received[1].body,
        "the same status is sent again"
    );
}

#[tokio::test]
async fn too_many_requests_waits_as_long_as_retry_after_says() {
    let (url, received) = serve(|n, request| {
        if n == 0 {
            let mut response = json_answer(
                StatusCode::TOO_MANY_REQUESTS,
                json!({"message": "API rate limit exceeded"}),
            );
            response.headers_mut().insert("retry-after", "1".parse().unwrap());
            response
        } else {
            gitlab(n, request)
        }
    })
    .await;
    let started = Instant::now();
    client()
        .set_status(
            &target(ForgeKind::GitLab, &url, "group/sub/hello-world"),
            &status(StatusState::Pending),
        )
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(received.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_retry_after_beyond_the_policy_gives_up_at_once() {
    let (url, received) = serve(|_, _| {
        let mut response = (StatusCode::SERVICE_UNAVAILABLE, "maintenance").into_response();
        response
            .headers_mut()
            .insert("retry-after", "3600".parse().unwrap());
        response
    })
    .await;
    let error = client()
        .set_status(
            &target(ForgeKind::GitHub, &url, "octo-org/hello-world"),
            &status(StatusState::Pending),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, DeliveryError::GaveUp { attempts: 1, .. }),
        "{error}"
    );
    assert_eq!(received.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn persistent_server_errors_give_up_after_the_policy_s_attempts() {
    let (url, received) = serve(|_, _| (StatusCode::BAD_GATEWAY, "Bad Gateway").into_response()).await;
    let error = client()
        .set_status(
            &target(ForgeKind::Gitea, &url, "octo-org/hello-world"),
            &status(StatusState::Pending),
        )
        .await
        .unwrap_err();
    assert_eq!(received.lock().unwrap().len(), 3);
    assert_eq!(
        error.to_string(),
        "commit status to `127.0.0.1` not delivered after 3 attempts: HTTP 502"
    );
}

#[tokio::test]
async fn refusals_are_final_and_never_show_the_token() {
    let (url, received) = serve(github).await;
    let mut wrong = target(ForgeKind::GitHub, &url, "octo-org/hello-world");
    wrong.token = Secret::new("not-the-token");
    let error = client()
        .set_status(&wrong, &status(StatusState::Pending))
        .await
        .unwrap_err();
    assert_eq!(received.lock().unwrap().len(), 1, "a 401 is not retried");
    assert_eq!(
        error.to_string(),
        r#"commit status refused by `127.0.0.1`: HTTP 401: {"message":"Bad credentials"}"#
    );
    assert!(!format!("{error:?}{wrong:?}").contains("not-the-token"));
}

#[tokio::test]
async fn an_unreachable_forge_is_retried_then_given_up() {
    // A port that was free a moment ago: nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let error = client()
        .set_status(
            &target(ForgeKind::GitHub, &url, "octo-org/hello-world"),
            &status(StatusState::Pending),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, DeliveryError::GaveUp { attempts: 3, .. }),
        "{error}"
    );
    assert!(!error.to_string().contains(&url), "{error}");
}

fn notification() -> Notification {
    let cdevent = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/cdevents/pipelinerun_finished.json"
    ))
    .unwrap();
    Notification {
        text: "web #42 failed on main".into(),
        link: "https://gantry.example/apps/web/runs/42".into(),
        cdevent: serde_json::from_slice(&cdevent).unwrap(),
    }
}

#[tokio::test]
async fn slack_gets_a_line_of_text_with_the_link() {
    let (url, received) = serve(|_, request| {
        // Slack answers `ok` as text; a body without `text` is `400 no_text`.
        if request.header("content-type") == Some("application/json") && request.json()["text"].is_string() {
            (StatusCode::OK, "ok").into_response()
        } else {
            (StatusCode::BAD_REQUEST, "no_text").into_response()
        }
    })
    .await;
    let target = NotificationTarget::Slack {
        url: Secret::new(format!("{url}/services/T000/B000/XXXX")),
    };
    client().notify(&target, &notification()).await.unwrap();
    let received = received.lock().unwrap();
    assert_eq!(received[0].path, "/services/T000/B000/XXXX");
    assert_eq!(
        received[0].json(),
        json!({"text": "<https://gantry.example/apps/web/runs/42|web #42 failed on main>"})
    );
}

#[tokio::test]
async fn a_generic_webhook_gets_the_cdevent_signed() {
    const RECEIVER_SECRET: &str = "shared with the receiver";
    // The receiver verifies as the docs say: HMAC-SHA256 of the raw body, compared in constant
    // time (`verify_slice`), before reading the body; then drops an event id it has seen.
    let (url, received) = serve(|n, request| {
        let Some(hex) = request
            .header(&NOTIFICATION_SIGNATURE_HEADER.to_ascii_lowercase())
            .and_then(|value| value.strip_prefix("sha256="))
            .and_then(|hex| hex::decode(hex).ok())
        else {
            return StatusCode::UNAUTHORIZED.into_response();
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(RECEIVER_SECRET.as_bytes()).unwrap();
        mac.update(&request.body);
        if mac.verify_slice(&hex).is_err() {
            return StatusCode::UNAUTHORIZED.into_response();
        }
        if n == 0 {
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
        StatusCode::NO_CONTENT.into_response()
    })
    .await;
    let target = NotificationTarget::Webhook {
        url: Secret::new(format!("{url}/hooks/gantry")),
        secret: Secret::new(RECEIVER_SECRET),
    };
    client().notify(&target, &notification()).await.unwrap();
    {
        let received = received.lock().unwrap();
        assert_eq!(received.len(), 2, "the 503 was retried");
        assert_eq!(received[1].json(), notification().cdevent);
        assert_eq!(
            received[1].json()["context"]["type"],
            "dev.cdevents.pipelinerun.finished.0.3.0"
        );
    }

    // Signed with another secret, the same delivery is refused by the receiver.
    let wrong = NotificationTarget::Webhook {
        url: Secret::new(format!("{url}/hooks/gantry")),
        secret: Secret::new("another secret"),
    };
    let error = client().notify(&wrong, &notification()).await.unwrap_err();
    assert!(
        matches!(error, DeliveryError::Refused { status: 401, .. }),
        "{error}"
    );
}
