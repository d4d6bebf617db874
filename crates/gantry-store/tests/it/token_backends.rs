//! API tokens on both backends: created, found by secret, listed, revoked, and the last admin
//! token kept, also against concurrent revocations.

use gantry_store::{Scope, TokenError};
use gantry_test::TestStore;
use sqlx::Connection;

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

gantry_test::on_both_backends!(
    tokens_round_trip,
    the_last_admin_token_is_not_revoked,
    concurrent_revocations_keep_an_admin_token,
);

/// A store whose tokens were written before scopes were rows (migrations up to 0007, scopes as
/// space-separated text) keeps every token's scopes, and its admin token stays one.
async fn scopes_written_as_text_become_rows(test: TestStore) {
    let store = &test.store;
    let tokens = store.list_tokens().await.unwrap();
    let scopes: Vec<(&str, &[Scope])> = tokens
        .iter()
        .map(|token| (token.name.as_str(), token.scopes.as_slice()))
        .collect();
    assert_eq!(
        scopes,
        [
            ("old-admin", &[Scope::Read, Scope::Admin][..]),
            ("old-ci", &[Scope::Report][..]),
            ("old-reader", &[Scope::Read][..]),
        ]
    );
    let found = store
        .authenticate(OLD_SECRET)
        .await
        .unwrap()
        .expect("the migrated token by its secret");
    assert_eq!(found.name, "old-ci");
    assert!(found.allows(Scope::Report) && !found.allows(Scope::Admin));
    assert_eq!(
        store.ensure_admin_token("bootstrap", None).await.unwrap(),
        None,
        "the migrated admin token counts"
    );
    assert!(matches!(
        store.revoke_token("old-admin").await,
        Err(TokenError::LastAdmin { .. })
    ));
    assert!(store.revoke_token("old-ci").await.unwrap());
}

const OLD_SECRET: &str = "gantry_an_old_secret_of_the_ci_token";

/// Brings the database at `url` to where migrations before 0008 left it, and writes tokens as
/// they were kept then (scopes as space-separated text).
async fn tokens_as_text(url: &str) {
    let sqlite = url.starts_with("sqlite:");
    let migrator = crate::migrations_before(url, "0008").await;
    let ci_hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(OLD_SECRET.as_bytes()));
    let insert = format!(
        "INSERT INTO tokens (name, scopes, hash, created_at) VALUES
             ('old-admin', 'read admin', 'a1', '2025-01-01T00:00:00.000000Z'),
             ('old-ci', 'report', '{ci_hash}', '2025-01-01T00:00:00.000000Z'),
             ('old-reader', 'read', 'r1', '2025-01-01T00:00:00.000000Z')"
    );
    if sqlite {
        let mut conn = sqlx::SqliteConnection::connect(&format!("{url}?mode=rwc"))
            .await
            .unwrap();
        migrator.run(&mut conn).await.unwrap();
        sqlx::raw_sql(&insert).execute(&mut conn).await.unwrap();
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        migrator.run(&mut conn).await.unwrap();
        sqlx::raw_sql(&insert).execute(&mut conn).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_scopes_written_as_text_become_rows() {
    let test = TestStore::sqlite_prepared(tokens_as_text).await;
    scopes_written_as_text_become_rows(test).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_scopes_written_as_text_become_rows() {
    if let Some(test) = TestStore::postgres_prepared(tokens_as_text).await {
        scopes_written_as_text_become_rows(test).await;
    }
}
