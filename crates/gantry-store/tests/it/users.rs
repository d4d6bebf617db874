//! Users on both backends: added once each, tokens made for them (never for a user who was not
//! added), and the tokens of an older store kept as machine tokens.

use gantry_store::{Scope, TokenError, UserError};
use gantry_test::TestStore;
use sqlx::Connection;

async fn tokens_act_for_users(test: TestStore) {
    let store = &test.store;
    store.add_user("alice", Some("alice@example.com")).await.unwrap();
    store.add_user("bob", None).await.unwrap();
    assert!(matches!(
        store.add_user("alice", None).await,
        Err(UserError::NameTaken { name }) if name == "alice"
    ));
    assert!(matches!(
        store.add_user("token:ci", None).await,
        Err(UserError::InvalidName { .. })
    ));
    assert!(matches!(
        store.add_user("carol", Some("carol")).await,
        Err(UserError::InvalidEmail { .. })
    ));
    let users: Vec<(String, Option<String>)> = store
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .map(|user| (user.name, user.email))
        .collect();
    assert_eq!(
        users,
        [
            ("alice".to_owned(), Some("alice@example.com".to_owned())),
            ("bob".to_owned(), None)
        ]
    );

    let laptop = store
        .create_token_for("alice-laptop", &[Scope::Read], Some("alice"))
        .await
        .unwrap();
    let ci = store.create_token("ci", &[Scope::Report]).await.unwrap();
    let found = store.authenticate(&laptop).await.unwrap().unwrap();
    assert_eq!(
        (found.name.as_str(), found.user.as_deref()),
        ("alice-laptop", Some("alice"))
    );
    let found = store.authenticate(&ci).await.unwrap().unwrap();
    assert_eq!((found.name.as_str(), found.user), ("ci", None));

    // A user who was not added is refused, and nothing is created.
    let refused = store
        .create_token_for("dave-laptop", &[Scope::Read], Some("dave"))
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, TokenError::UnknownUser { user } if user == "dave"),
        "{refused:?}"
    );
    let owners: Vec<(String, Option<String>)> = store
        .list_tokens()
        .await
        .unwrap()
        .into_iter()
        .map(|token| (token.name, token.user))
        .collect();
    assert_eq!(
        owners,
        [
            ("alice-laptop".to_owned(), Some("alice".to_owned())),
            ("ci".to_owned(), None)
        ]
    );
    assert_eq!(store.list_users().await.unwrap().len(), 2);
    // A user's revoked token goes; the user stays.
    assert!(store.revoke_token("alice-laptop").await.unwrap());
    assert_eq!(store.list_users().await.unwrap().len(), 2);
}

gantry_test::on_both_backends!(tokens_act_for_users);

/// A store whose tokens were made before users existed (migrations up to 0009) keeps them, as
/// machine tokens.
async fn older_tokens_become_machine_tokens(test: TestStore) {
    let store = &test.store;
    let tokens = store.list_tokens().await.unwrap();
    let owners: Vec<(&str, Option<&str>, &[Scope])> = tokens
        .iter()
        .map(|token| {
            (
                token.name.as_str(),
                token.user.as_deref(),
                token.scopes.as_slice(),
            )
        })
        .collect();
    assert_eq!(owners, [("old-ci", None, &[Scope::Report][..])]);
    let found = store.authenticate(OLD_SECRET).await.unwrap().unwrap();
    assert_eq!((found.name.as_str(), found.user), ("old-ci", None));
    assert!(store.list_users().await.unwrap().is_empty());
}

const OLD_SECRET: &str = "gantry_an_old_secret_of_the_ci_token";

/// Brings the database at `url` to where migrations before 0010 left it, with a token.
async fn tokens_before_users(url: &str) {
    let sqlite = url.starts_with("sqlite:");
    let migrator = crate::migrations_before(url, "0010").await;
    let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(OLD_SECRET.as_bytes()));
    let statements = [
        format!(
            "INSERT INTO tokens (name, hash, created_at) VALUES ('old-ci', '{hash}', '2025-01-01T00:00:00.000000Z')"
        ),
        "INSERT INTO token_scopes (token_name, scope) VALUES ('old-ci', 'report')".to_owned(),
    ];
    if sqlite {
        let mut conn = sqlx::SqliteConnection::connect(&format!("{url}?mode=rwc"))
            .await
            .unwrap();
        migrator.run(&mut conn).await.unwrap();
        for statement in &statements {
            sqlx::query(statement).execute(&mut conn).await.unwrap();
        }
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        migrator.run(&mut conn).await.unwrap();
        for statement in &statements {
            sqlx::query(statement).execute(&mut conn).await.unwrap();
        }
    }
}

mod migrated {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let test = gantry_test::TestStore::sqlite_prepared(super::tokens_before_users).await;
        super::older_tokens_become_machine_tokens(test).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(test) = gantry_test::TestStore::postgres_prepared(super::tokens_before_users).await {
            super::older_tokens_become_machine_tokens(test).await;
        }
    }
}
