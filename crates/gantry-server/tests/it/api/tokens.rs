//! Token administration over the API, the bootstrap token, and creating tokens for the CLI.

use axum::http::StatusCode;
use gantry_store::Scope;
use serde_json::json;

use gantry_test::TestStore;

use crate::support::{Api, Call};

#[tokio::test]
async fn admins_create_list_and_revoke_tokens() {
    let api = Api::new().await;
    let create = |body: serde_json::Value| Call::post("/api/v1/tokens").token(&api.admin).json(&body);
    let reply = api
        .send(create(
            json!({"name": "ci", "scopes": ["report", "read", "report"]}),
        ))
        .await;
    reply.expect(StatusCode::CREATED);
    let created = reply.json();
    assert_eq!(created["name"], "ci");
    assert_eq!(created["scopes"], json!(["read", "report"]));
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("gantry_") && secret.len() > 60, "{secret}");
    // The new token works, within its scopes.
    api.send(Call::post("/api/v1/apps/hello/builds").token(&secret))
        .await
        .expect(StatusCode::CREATED);
    api.send(Call::get("/api/v1/tokens").token(&secret))
        .await
        .expect(StatusCode::FORBIDDEN);

    let reply = api.send(Call::get("/api/v1/tokens").token(&api.admin)).await;
    let text = reply.expect(StatusCode::OK).text();
    assert!(!text.contains(&secret) && !text.contains("hash"), "{text}");
    let list = reply.json();
    let names: Vec<&str> = list["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "ci", "reader", "reporter"]);
    {
        let _redacted = gantry_test::redacted(&[]).bind_to_scope();
        insta::assert_json_snapshot!("tokens", list);
    }
    let ci = &list["tokens"][1];
    assert_eq!(ci["scopes"], json!(["read", "report"]));
    assert!(
        ci["created_at"].is_string() && ci["last_used_at"].is_string(),
        "{ci}"
    );

    let reply = api.send(create(json!({"name": "ci", "scopes": ["read"]}))).await;
    reply.expect(StatusCode::CONFLICT);
    assert_eq!(reply.error_code(), "name_taken");

    api.send(Call::delete("/api/v1/tokens/ci").token(&api.admin))
        .await
        .expect(StatusCode::NO_CONTENT);
    api.send(Call::post("/api/v1/apps/hello/builds").token(&secret))
        .await
        .expect(StatusCode::UNAUTHORIZED);
    let reply = api
        .send(Call::delete("/api/v1/tokens/ci").token(&api.admin))
        .await;
    reply.expect(StatusCode::NOT_FOUND);
    assert_eq!(reply.error_code(), "not_found");
}

#[tokio::test]
async fn the_last_admin_token_is_not_revoked() {
    let api = Api::new().await;
    let revoke = |name: &str, token: &str| Call::delete(&format!("/api/v1/tokens/{name}")).token(token);
    let reply = api.send(revoke("admin", &api.admin)).await;
    reply.expect(StatusCode::CONFLICT);
    assert_eq!(reply.error_code(), "last_admin_token");
    let message = reply.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("`admin`") && message.contains("create another admin token first"),
        "{message}"
    );
    // Nothing changed: the token still administers.
    api.send(Call::get("/api/v1/tokens").token(&api.admin))
        .await
        .expect(StatusCode::OK);

    // With another admin token, the first one may go; then the other is the last.
    let reply = api
        .send(
            Call::post("/api/v1/tokens")
                .token(&api.admin)
                .json(&json!({"name": "ops", "scopes": ["admin"]})),
        )
        .await;
    reply.expect(StatusCode::CREATED);
    let ops = reply.json()["secret"].as_str().unwrap().to_owned();
    api.send(revoke("admin", &ops))
        .await
        .expect(StatusCode::NO_CONTENT);
    let reply = api.send(revoke("ops", &ops)).await;
    reply.expect(StatusCode::CONFLICT);
    assert_eq!(reply.error_code(), "last_admin_token");
    // Tokens without `admin` are revoked as before.
    api.send(revoke("reader", &ops))
        .await
        .expect(StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn refuses_bad_token_requests() {
    let api = Api::new().await;
    let create = |body: serde_json::Value| Call::post("/api/v1/tokens").token(&api.admin).json(&body);
    for (body, status, code) in [
        (
            json!({"name": "", "scopes": ["read"]}),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            json!({"name": "with space", "scopes": ["read"]}),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            json!({"name": "x", "scopes": []}),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            json!({"name": "x", "scopes": ["root"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            json!({"name": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            json!({"name": 5, "scopes": ["read"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            json!({"name": "x", "scopes": ["read"], "secret": "mine"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
    ] {
        let reply = api.send(create(body.clone())).await;
        reply.expect(status);
        assert_eq!(reply.error_code(), code, "{body}");
    }
    let reply = api.send(create(json!({"name": "", "scopes": ["read"]}))).await;
    assert_eq!(reply.error_field().as_deref(), Some("/name"));
}

#[tokio::test]
async fn a_store_gets_one_bootstrap_admin_token() {
    let api = Api::new().await;
    // The harness made an admin token already: nothing is created.
    assert_eq!(
        api.store().ensure_admin_token("bootstrap", None).await.unwrap(),
        None
    );

    let dir = tempfile::tempdir().unwrap();
    let store = gantry_store::Store::open(&TestStore::url_in(&dir)).await.unwrap();
    let secret = store
        .ensure_admin_token("bootstrap", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.ensure_admin_token("bootstrap", None).await.unwrap(), None);
    let token = store.authenticate(&secret).await.unwrap().unwrap();
    assert_eq!(
        (token.name.as_str(), token.scopes.as_slice()),
        ("bootstrap", [Scope::Admin].as_slice())
    );
    assert!(store.ensure_admin_token("weak", Some("short")).await.is_err());
}

#[tokio::test]
async fn the_cli_creates_tokens_from_scope_names() {
    let api = Api::new().await;
    let secret = gantry_server::create_token(api.store(), "deployer", &["read", "report"], None)
        .await
        .unwrap();
    api.send(Call::post("/api/v1/apps/x/builds").token(&secret))
        .await
        .expect(StatusCode::CREATED);
    let error = gantry_server::create_token(api.store(), "other", &["superuser"], None)
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "`superuser` is not a scope: use read, report or admin"
    );
    let error = gantry_server::create_token(api.store(), "deployer", &["read"], None)
        .await
        .unwrap_err();
    assert_eq!(error.to_string(), "a token named `deployer` exists already");
}
