//! API tokens on both backends: created, found by secret, listed, revoked.

#[macro_use]
mod common;

use common::TestStore;
use gantry_store::{Scope, TokenError};

async fn tokens_round_trip(test: TestStore) {
    let store = &test.store;
    let admin = store
        .ensure_admin_token("admin", None)
        .await
        .unwrap()
        .expect("the first admin token");
    assert_eq!(
        store.ensure_admin_token("admin-2", None).await.unwrap(),
        None,
        "only one is made"
    );

    let secret = store.create_token("ci", &[Scope::Report]).await.unwrap();
    assert!(matches!(
        store.create_token("ci", &[Scope::Read]).await,
        Err(TokenError::NameTaken { .. })
    ));

    let found = store
        .authenticate(&secret)
        .await
        .unwrap()
        .expect("the token by its secret");
    assert_eq!(found.name, "ci");
    assert!(found.allows(Scope::Read) && found.allows(Scope::Report) && !found.allows(Scope::Admin));
    assert!(
        store
            .authenticate(&admin)
            .await
            .unwrap()
            .unwrap()
            .allows(Scope::Admin)
    );
    assert!(store.authenticate("not a secret at all").await.unwrap().is_none());
    // Using a token records when (to the minute).
    let again = store.authenticate(&secret).await.unwrap().unwrap();
    assert!(again.last_used_at.is_some());

    let names: Vec<String> = store
        .list_tokens()
        .await
        .unwrap()
        .into_iter()
        .map(|token| token.name)
        .collect();
    assert_eq!(names, ["admin", "ci"]);
    assert!(store.revoke_token("ci").await.unwrap());
    assert!(!store.revoke_token("ci").await.unwrap());
    assert!(store.authenticate(&secret).await.unwrap().is_none());
}

on_both_backends!(tokens_round_trip);
