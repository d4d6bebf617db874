//! Replicas: two servers on one PostgreSQL database, over real sockets, hammered at once. They
//! hand out every build number exactly once and serve the same runs, logs and artifacts.

use std::path::Path;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use gantry_model::RunResult;
use gantry_server::ServerConfig;
use gantry_store::ArtifactLocation;
use serde_json::Value;
use tokio::time::timeout;

use gantry_test::run::sha256;
use gantry_test::{PostgresDatabase, RunBuilder};

use crate::support::server::{client, read, read_events, report, request, send};
use crate::support::{PATIENCE, Running};

const ADMIN: &str = "replica-test-admin-secret-0123456789";

/// Concurrent clients on each replica, each allocating this many numbers one after another.
const CLIENTS_PER_REPLICA: usize = 16;
const ALLOCATIONS_PER_CLIENT: usize = 50;

async fn replica(database: &PostgresDatabase, artifacts: &Path) -> Running {
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), &database.url);
    config.artifacts = Some(ArtifactLocation::Dir(artifacts.to_path_buf()));
    config.admin_token = Some(ADMIN.to_owned());
    Running::with(config).await
}

async fn get(server: &Running, path: &str) -> (StatusCode, axum::body::Bytes) {
    read(send(request(Method::GET, &server.url(path), ADMIN, Body::empty())).await).await
}

async fn get_json(server: &Running, path: &str) -> Value {
    let (status, body) = get(server, path).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{path}: {}",
        String::from_utf8_lossy(&body)
    );
    serde_json::from_slice(&body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_on_one_postgres_database_allocate_every_number_once_and_share_runs() {
    let Some(database) = PostgresDatabase::create().await else {
        return;
    };
    let artifacts = tempfile::tempdir().unwrap();
    // Started at once on a new database: the schema migration and the bootstrap token race too.
    let (mut a, mut b) = tokio::join!(
        replica(&database, artifacts.path()),
        replica(&database, artifacts.path())
    );

    let mut clients = Vec::new();
    for server in [&a, &b] {
        for _ in 0..CLIENTS_PER_REPLICA {
            let url = server.url("/api/v1/apps/hello/builds");
            clients.push(tokio::spawn(async move {
                // One connection per client, kept alive, as a CI agent's would be.
                let http = client();
                let mut builds = Vec::with_capacity(ALLOCATIONS_PER_CLIENT);
                for _ in 0..ALLOCATIONS_PER_CLIENT {
                    let call = http.request(request(Method::POST, &url, ADMIN, Body::empty()));
                    let response = timeout(PATIENCE, call).await.expect("an answer").unwrap();
                    let (status, body) = read(response.map(Body::new)).await;
                    assert_eq!(status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&body));
                    let json: Value = serde_json::from_slice(&body).unwrap();
                    builds.push(json["build"].as_u64().unwrap());
                }
                builds
            }));
        }
    }
    let mut builds = Vec::new();
    for client in clients {
        builds.extend(client.await.unwrap());
    }
    builds.sort_unstable();
    let total = u64::try_from(2 * CLIENTS_PER_REPLICA * ALLOCATIONS_PER_CLIENT).unwrap();
    assert_eq!(builds, (1..=total).collect::<Vec<u64>>(), "unique and gap-free");

    // A run reported to A, with an artifact uploaded to A, reads back whole from B.
    let content = b"the artifact both replicas serve".to_vec();
    let digest = sha256(&content);
    let mut upload = request(
        Method::PUT,
        &a.url(&format!("/api/v1/artifacts/{digest}")),
        ADMIN,
        Body::from(content.clone()),
    );
    upload
        .headers_mut()
        .insert("content-type", "application/octet-stream".parse().unwrap());
    let (status, body) = read(send(upload).await).await;
    assert_eq!(status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&body));
    let mut run = RunBuilder::new("hello", total + 1);
    let mut events = vec![run.queued(), run.started()];
    events.extend(run.task("build/compile", 3));
    events.push(run.artifact("build/compile", "target/release/hello", &content));
    events.extend(run.task("test/unit", 1));
    events.push(run.finished(RunResult::Success));
    report(&a, ADMIN, &events).await;

    let path = format!("/api/v1/runs/{}", run.id());
    let on_b = get_json(&b, &path).await;
    assert_eq!(on_b, get_json(&a, &path).await, "the same data on both replicas");
    assert_eq!(on_b["result"], "success");
    assert_eq!(on_b["tasks"].as_array().unwrap().len(), 2);
    assert_eq!(on_b["artifacts"][0]["sha256"], digest.as_str());
    let listed = get_json(&b, "/api/v1/runs?app=hello").await;
    assert_eq!(listed["runs"][0]["id"], run.id());
    let (status, log) = get(&b, &format!("{path}/logs?task=build/compile")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        String::from_utf8_lossy(&log),
        "build/compile line 1\nbuild/compile line 2\nbuild/compile line 3\n"
    );
    let (status, downloaded) = get(&b, &format!("/api/v1/artifacts/{digest}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(downloaded.as_ref(), content.as_slice());

    a.shut_down();
    b.shut_down();
    a.stopped().await;
    b.stopped().await;
}

/// Opens a live page's event stream on `server`.
async fn stream(server: &Running, path: &str) -> Body {
    let mut call = request(Method::GET, &server.url(path), ADMIN, Body::empty());
    call.headers_mut()
        .insert("accept", "text/event-stream".parse().unwrap());
    let response = send(call).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.into_body()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_page_on_one_replica_follows_a_run_reported_to_the_other() {
    let Some(database) = PostgresDatabase::create().await else {
        return;
    };
    let artifacts = tempfile::tempdir().unwrap();
    let (mut a, mut b) = tokio::join!(
        replica(&database, artifacts.path()),
        replica(&database, artifacts.path())
    );
    let mut run = RunBuilder::new("hello", 1);
    report(&a, ADMIN, &[run.queued(), run.started()]).await;

    // B's live page and log: the page's first state at once, the log empty so far.
    let mut status = stream(&b, &format!("/ui/runs/{}/status", run.id())).await;
    let mut status_buffer = String::new();
    let (updates, _) = read_events(&mut status, &mut status_buffer, |events| !events.is_empty()).await;
    assert_eq!(updates[0].json()["done"], false);
    let mut follow = stream(&b, &format!("/ui/runs/{}/follow/build/compile", run.id())).await;
    let mut follow_buffer = String::new();

    // Reported to A, seen on B: B's streams never poll a PostgreSQL store, so only A's
    // notification, carried by the database, can wake them.
    let mut task = run.task("build/compile", 2);
    let finished = task.pop().unwrap();
    report(&a, ADMIN, &task).await;
    let (lines, ended) = read_events(&mut follow, &mut follow_buffer, |events| {
        events
            .iter()
            .any(|event| event.data.contains("build/compile line 2"))
    })
    .await;
    assert!(!ended);
    assert!(lines.iter().all(|event| event.event == "lines"), "{lines:?}");
    let (updates, _) = read_events(&mut status, &mut status_buffer, |events| {
        events.iter().any(|event| event.json()["graph"].is_string())
    })
    .await;
    assert!(updates.iter().all(|event| event.json()["done"] == false));

    report(&a, ADMIN, &[finished, run.finished(RunResult::Success)]).await;
    let (ends, _) = read_events(&mut follow, &mut follow_buffer, |events| {
        events.iter().any(|event| event.event == "done")
    })
    .await;
    assert!(ends.last().unwrap().data.contains("success"), "{ends:?}");
    let (updates, _) = read_events(&mut status, &mut status_buffer, |events| {
        events.iter().any(|event| event.json()["done"] == true)
    })
    .await;
    assert_eq!(updates.last().unwrap().json()["result"], "success");

    a.shut_down();
    b.shut_down();
    a.stopped().await;
    b.stopped().await;
}

#[tokio::test]
async fn a_postgres_store_without_an_artifact_directory_is_refused() {
    let config = ServerConfig::new(
        "127.0.0.1:0".parse().unwrap(),
        "postgres://gantry:secret@127.0.0.1:1/gantry",
    );
    let error = gantry_server::Server::bind(config).await.unwrap_err();
    let message = error.to_string();
    assert!(message.contains("needs an artifact location"), "{message}");
    assert!(message.contains("s3://BUCKET/PREFIX"), "{message}");
    assert!(
        !message.contains("secret"),
        "no password in the message: {message}"
    );
}
