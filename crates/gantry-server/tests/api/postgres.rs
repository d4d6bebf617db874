//! A fresh database on the local PostgreSQL server for one test, dropped when the test ends.
//! Without a server the tests that need one pass, saying so loudly, unless the `CI` environment
//! variable is set: then they fail.

use sqlx::{Connection, PgConnection};

/// A database of its own on the test server; dropped (connections and all) on drop.
pub struct TestDatabase {
    /// `postgres://…/NAME`, for a store.
    pub url: String,
    server: String,
    name: String,
}

/// The PostgreSQL server the tests use: `GANTRY_TEST_POSTGRES_URL`, or the local one.
fn postgres_server() -> String {
    std::env::var("GANTRY_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

impl TestDatabase {
    /// A new, empty database; `None`, said loudly, when no server answers (a failure under `CI`).
    pub async fn create() -> Option<Self> {
        let server = postgres_server();
        let mut admin = match PgConnection::connect(&format!("{server}/postgres")).await {
            Ok(admin) => admin,
            Err(err) => {
                // CI must run the PostgreSQL half: `.ci/run` starts a server, so none is a failure.
                assert!(
                    std::env::var_os("CI").is_none(),
                    "no PostgreSQL server at {server} ({err}), and CI is set: the PostgreSQL half must run"
                );
                eprintln!(
                    "SKIPPED: no PostgreSQL server at {server} ({err}); this PostgreSQL test did not run"
                );
                return None;
            }
        };
        let name = format!("gantry_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.unwrap();
        Some(Self {
            url: format!("{server}/{name}"),
            server,
            name,
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (server, name) = (self.server.clone(), self.name.clone());
        // Drop may run inside a runtime that must not block: a runtime of its own on a thread.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&format!("{server}/postgres"))
                    .await
                    .unwrap();
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await
                    .unwrap();
            });
        })
        .join();
        if !std::thread::panicking() {
            dropped.unwrap();
        }
    }
}
