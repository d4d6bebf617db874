//! Principals: a token of a user speaks for that user, a token of no user is a machine, and a
//! request without a token is anonymous; tokens are created for users over the API.

use axum::http::StatusCode;
use serde_json::json;

use crate::support::{Api, Call};

#[tokio::test]
async fn a_user_token_is_seen_as_its_user_and_a_machine_token_as_a_machine() {
    let api = Api::new().await;
    api.store()
        .add_user("alice", Some("alice@example.com"))
        .await
        .unwrap();
    let reply = api
        .send(
            Call::post("/api/v1/tokens")
                .token(&api.admin)
                .json(&json!({"name": "alice-laptop", "scopes": ["read"], "user": "alice"})),
        )
        .await;
    reply.expect(StatusCode::CREATED);
    let created = reply.json();
    assert_eq!(created["user"], "alice");
    let alice = created["secret"].as_str().unwrap().to_owned();

    let whoami = |token: &str| Call::get("/api/v1/whoami").token(token);
    let reply = api.send(whoami(&alice)).await;
    reply.expect(StatusCode::OK);
    insta::assert_json_snapshot!("whoami_user", reply.json());
    let reply = api.send(whoami(&api.reporter)).await;
    reply.expect(StatusCode::OK);
    insta::assert_json_snapshot!("whoami_machine", reply.json());
    api.send(Call::get("/api/v1/whoami"))
        .await
        .expect(StatusCode::UNAUTHORIZED);

    // The token list names each token's user, and none for machine tokens.
    let reply = api.send(Call::get("/api/v1/tokens").token(&api.admin)).await;
    reply.expect(StatusCode::OK);
    let users: Vec<(String, serde_json::Value)> = reply.json()["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|token| (token["name"].as_str().unwrap().to_owned(), token["user"].clone()))
        .collect();
    assert_eq!(
        users,
        [
            ("admin".to_owned(), json!(null)),
            ("alice-laptop".to_owned(), json!("alice")),
            ("reader".to_owned(), json!(null)),
            ("reporter".to_owned(), json!(null)),
        ]
    );
}

#[tokio::test]
async fn a_token_for_an_unknown_user_is_refused() {
    let api = Api::new().await;
    let reply = api
        .send(
            Call::post("/api/v1/tokens")
                .token(&api.admin)
                .json(&json!({"name": "bob-ci", "scopes": ["read"], "user": "bob"})),
        )
        .await;
    reply.expect(StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_code(), "bad_request");
    assert_eq!(reply.error_field().as_deref(), Some("/user"));
    assert_eq!(reply.error_message(), "there is no user `bob`");
    // Nothing was created: neither the token nor the user.
    assert!(
        api.store()
            .list_tokens()
            .await
            .unwrap()
            .iter()
            .all(|token| token.name != "bob-ci")
    );
    assert!(api.store().list_users().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_anonymous_reader_is_anonymous() {
    let api = Api::with(|state| state.anonymous_read(true)).await;
    let reply = api.send(Call::get("/api/v1/whoami")).await;
    reply.expect(StatusCode::OK);
    insta::assert_json_snapshot!("whoami_anonymous", reply.json());
}
