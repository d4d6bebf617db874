//! Token secrets never reach the log: every request below carries one (as a bearer token, a
//! cookie, a login form, a creation's answer, a bootstrap secret), and the whole log, at the
//! most verbose level, is searched for them. The log is this test's own: the subscriber, the
//! binary's global one, listens everywhere but keeps only what this test's thread writes (the
//! runtime's one thread, where the router and its tasks run). A subscriber of the thread alone,
//! or one that filters by thread, would not do: whether a place logs is cached for every
//! thread, so another test's thread could switch places off for this one.

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use gantry_server::{Server, ServerConfig};
use gantry_test::{RunBuilder, TestStore};
use serde_json::json;

use crate::support::{Api, Call};

/// Everything one thread logged, shared with the subscriber.
#[derive(Clone)]
struct Captured {
    log: Arc<Mutex<Vec<u8>>>,
    thread: std::thread::ThreadId,
}

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if std::thread::current().id() == self.thread {
            self.log.lock().unwrap().extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn token_secrets_never_reach_the_log() {
    let captured = Captured {
        log: Arc::default(),
        thread: std::thread::current().id(),
    };
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    // Places that logged before the subscriber was set (in other tests) cached that nothing
    // listens to them: ask them again.
    tracing::callsite::rebuild_interest_cache();

    let api = Api::new().await;
    let mut secrets = vec![api.admin.clone(), api.reporter.clone(), api.reader.clone()];
    let mut run = RunBuilder::new("hello", 1);
    api.report(&run.complete(2, gantry_model::RunResult::Success))
        .await;
    for token in &secrets {
        for uri in ["/api/v1/runs", "/api/v1/apps", "/api/v1/tokens", "/", "/metrics"] {
            api.send(Call::get(uri).token(token)).await;
        }
        api.send(Call::get("/api/v1/runs").header("cookie", &format!("gantry_token={token}")))
            .await;
        api.send(Call::post("/api/v1/apps/hello/builds").token(token))
            .await;
    }
    let wrong = "gantry_0000this-one-is-wrong-but-secret-all-the-same".to_owned();
    api.send(Call::get("/api/v1/runs").token(&wrong))
        .await
        .expect(StatusCode::UNAUTHORIZED);
    for token in [&api.reader, &wrong] {
        api.send(Call::post("/login").raw(
            "application/x-www-form-urlencoded",
            format!("token={token}&next=%2F"),
        ))
        .await;
    }
    secrets.push(wrong);
    let reply = api
        .send(
            Call::post("/api/v1/tokens")
                .token(&api.admin)
                .json(&json!({"name": "ci", "scopes": ["report"]})),
        )
        .await;
    let created = reply.expect(StatusCode::CREATED).json()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    api.send(Call::get("/api/v1/tokens").token(&created))
        .await
        .expect(StatusCode::FORBIDDEN);
    secrets.push(created);

    let dir = tempfile::tempdir().unwrap();
    let configured = "the-operators-own-admin-secret".to_owned();
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), TestStore::url_in(&dir));
    config.admin_token = Some(configured.clone());
    tracing::info!(?config, "configuration");
    drop(Server::bind(config).await.unwrap());
    secrets.push(configured);
    let other = tempfile::tempdir().unwrap();
    let server = Server::bind(ServerConfig::new(
        "127.0.0.1:0".parse().unwrap(),
        TestStore::url_in(&other),
    ))
    .await
    .unwrap();
    secrets.push(server.bootstrap_token().unwrap().to_owned());
    drop(server);

    let log = String::from_utf8(captured.log.lock().unwrap().clone()).unwrap();
    // The log did capture the requests, their refusals and the tokens' names.
    for expected in [
        "/api/v1/runs",
        "finished processing request",
        "refused a request",
        "token=reader",
        "created a token",
    ] {
        assert!(log.contains(expected), "`{expected}` is not in the log:\n{log}");
    }
    for secret in &secrets {
        assert!(!log.contains(secret.as_str()), "a secret is in the log");
        // Nor a large part of one.
        assert!(
            !log.contains(&secret[secret.len() - 24..]),
            "part of a secret is in the log"
        );
    }
}
