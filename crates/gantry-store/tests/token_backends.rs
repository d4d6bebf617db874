//! API tokens on both backends: created, found by secret, listed, revoked, and the last admin
//! token kept, also against concurrent revocations.

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

async fn the_last_admin_token_is_not_revoked(test: TestStore) {
    let store = &test.store;
    let admin = store.ensure_admin_token("admin", None).await.unwrap().unwrap();
    store.create_token("ci", &[Scope::Report]).await.unwrap();

    let refused = store.revoke_token("admin").await.unwrap_err();
    assert!(
        matches!(&refused, TokenError::LastAdmin { name } if name == "admin"),
        "{refused:?}"
    );
    assert!(
        refused.to_string().contains("create another admin token first"),
        "{refused}"
    );
    assert!(
        store.authenticate(&admin).await.unwrap().is_some(),
        "nothing changed"
    );

    // With a second admin (`admin` among other scopes counts), either may go, not both.
    store
        .create_token("second", &[Scope::Read, Scope::Admin])
        .await
        .unwrap();
    assert!(store.revoke_token("admin").await.unwrap());
    assert!(matches!(
        store.revoke_token("second").await,
        Err(TokenError::LastAdmin { .. })
    ));
    // Other tokens go as before, and an unknown name is still just not found.
    assert!(store.revoke_token("ci").await.unwrap());
    assert!(!store.revoke_token("nobody").await.unwrap());
    let names: Vec<String> = store
        .list_tokens()
        .await
        .unwrap()
        .into_iter()
        .map(|token| token.name)
        .collect();
    assert_eq!(names, ["second"]);
}

/// Two handles (separate connections) revoke the last two admin tokens at once, many times:
/// each time exactly one revocation succeeds and the other is refused.
async fn concurrent_revocations_keep_an_admin_token(test: TestStore) {
    let (one, two) = (&test.store, &test.open_another().await);
    let mut left = "admin-0".to_owned();
    one.create_token(&left, &[Scope::Admin]).await.unwrap();
    for round in 1..=25 {
        let other = format!("admin-{round}");
        two.create_token(&other, &[Scope::Admin]).await.unwrap();
        let outcomes = tokio::join!(one.revoke_token(&left), two.revoke_token(&other));
        left = match outcomes {
            (Ok(true), Err(TokenError::LastAdmin { .. })) => other,
            (Err(TokenError::LastAdmin { .. }), Ok(true)) => left,
            outcomes => panic!("round {round}: {outcomes:?}"),
        };
        let admins: Vec<String> = one
            .list_tokens()
            .await
            .unwrap()
            .into_iter()
            .filter(|token| token.allows(Scope::Admin))
            .map(|token| token.name)
            .collect();
        assert_eq!(admins, [left.clone()], "round {round}");
    }
}

on_both_backends!(
    tokens_round_trip,
    the_last_admin_token_is_not_revoked,
    concurrent_revocations_keep_an_admin_token,
);
