//! A PostgreSQL database of a test's own, created on the server the tests use and dropped after.
//!
//! Without a server the test passes saying `SKIPPED` loudly, so that a laptop without
//! PostgreSQL still runs the rest; under CI (`CI` set) a missing server fails the test instead,
//! so that the PostgreSQL half can never silently stop running there.

use sqlx::{Connection, PgConnection};

/// The PostgreSQL server the tests use: `GANTRY_TEST_POSTGRES_URL`, or the local one.
pub fn server_url() -> String {
    std::env::var("GANTRY_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

/// A new database, dropped (with any connection still open to it) when this is dropped.
pub struct PostgresDatabase {
    /// The database's URL, to open a store or start a server on.
    pub url: String,
    server: String,
    name: String,
}

impl PostgresDatabase {
    /// A new database; `None` when no server answers, said loudly on stderr (or a failed test
    /// when `CI` is set).
    pub async fn create() -> Option<Self> {
        let server = server_url();
        let mut admin = match PgConnection::connect(&format!("{server}/postgres")).await {
            Ok(admin) => admin,
            Err(err) => {
                crate::skip_or_fail(&format!("no PostgreSQL server answers at {server} ({err})"));
                return None;
            }
        };
        let name = format!("gantry_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|err| panic!("CREATE DATABASE {name}: {err}"));
        let _ = admin.close().await;
        Some(Self {
            url: format!("{server}/{name}"),
            server,
            name,
        })
    }

    /// [`PostgresDatabase::create`] for a test without a runtime of its own.
    pub fn create_blocking() -> Option<Self> {
        block_on(Self::create())
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        let (server, name) = (self.server.clone(), self.name.clone());
        let dropped = block_on(async move {
            let mut admin = PgConnection::connect(&format!("{server}/postgres")).await?;
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin)
                .await
                .map(drop)
        });
        if !std::thread::panicking() {
            dropped.unwrap_or_else(|err| panic!("DROP DATABASE {}: {err}", self.name));
        }
    }
}

/// Runs `future` to the end on a runtime of its own, on a thread of its own: callable from a
/// plain test and from `Drop` inside an async one alike (a runtime cannot block inside another).
fn block_on<T: Send + 'static>(future: impl Future<Output = T> + Send + 'static) -> T {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(future)
    })
    .join()
    .expect("the database thread")
}
