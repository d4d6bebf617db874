//! A store on a fresh database: SQLite in a temporary directory, or a PostgreSQL database of its
//! own; both gone when the test ends.

use std::path::PathBuf;

use gantry_store::{ArtifactLocation, Store, StoreOptions};
use tempfile::TempDir;

use crate::postgres::PostgresDatabase;

/// A store on a fresh database. Artifacts go beside the SQLite file, or (PostgreSQL) to
/// `data/artifacts` in the temporary directory.
pub struct TestStore {
    pub store: Store,
    /// The temporary directory: the SQLite file, artifacts, and files a test writes.
    pub dir: TempDir,
    url: String,
    options: StoreOptions,
    /// Declared after `store`, so that the store's connections close before the drop.
    postgres: Option<PostgresDatabase>,
}

impl TestStore {
    /// A store on SQLite.
    pub async fn new() -> Self {
        Self::sqlite().await
    }

    /// A store on a SQLite file in a temporary directory.
    pub async fn sqlite() -> Self {
        Self::sqlite_prepared(async |_| {}).await
    }

    /// [`TestStore::sqlite`], with `prepare` given the database's url before the store opens it
    /// (to write a store as an older Gantry left it, say).
    pub async fn sqlite_prepared(prepare: impl AsyncFnOnce(&str)) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = Self::url_in(&dir);
        std::fs::create_dir_all(dir.path().join("data")).expect("the data directory");
        prepare(&url).await;
        let options = StoreOptions::default();
        let store = Store::open_with(&url, &options)
            .await
            .expect("the SQLite store opens");
        Self {
            store,
            dir,
            url,
            options,
            postgres: None,
        }
    }

    /// A store on a new database of the PostgreSQL server; `None`, said loudly, when there is
    /// no server (a failure when `CI` is set).
    pub async fn postgres() -> Option<Self> {
        Self::postgres_prepared(async |_| {}).await
    }

    /// [`TestStore::postgres`], with `prepare` given the new database's url before the store
    /// opens it.
    pub async fn postgres_prepared(prepare: impl AsyncFnOnce(&str)) -> Option<Self> {
        let database = PostgresDatabase::create().await?;
        let dir = tempfile::tempdir().expect("a temporary directory");
        prepare(&database.url).await;
        let options = StoreOptions {
            artifacts: Some(ArtifactLocation::Dir(dir.path().join("data/artifacts"))),
        };
        let store = Store::open_with(&database.url, &options)
            .await
            .expect("the PostgreSQL store opens");
        Some(Self {
            store,
            dir,
            url: database.url.clone(),
            options,
            postgres: Some(database),
        })
    }

    /// The SQLite URL of a store in `dir` (`data/gantry.db`).
    pub fn url_in(dir: &TempDir) -> String {
        format!("sqlite://{}", dir.path().join("data/gantry.db").display())
    }

    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The artifact directory the store was opened with (`None`: beside the SQLite file).
    pub fn artifact_dir(&self) -> Option<PathBuf> {
        match &self.options.artifacts {
            Some(ArtifactLocation::Dir(dir)) => Some(dir.clone()),
            _ => None,
        }
    }

    /// Whether this is the PostgreSQL variant of a test.
    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// Another handle (with its own connections) on the same database.
    pub async fn open_another(&self) -> Store {
        Store::open_with(&self.url, &self.options)
            .await
            .expect("the store opens again")
    }

    /// Writes `contents` to a file in the temporary directory, returning its path.
    pub fn file(&self, name: &str, contents: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).expect("a file in the temporary directory");
        path
    }
}

/// Defines a `#[tokio::test]` per backend for each `async fn scenario(test: TestStore)` named:
/// `sqlite::NAME` and `postgres::NAME` (which passes, saying so loudly, without a server, and
/// fails without one when `CI` is set).
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::TestStore::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(test) = $crate::TestStore::postgres().await {
                        super::$name(test).await;
                    }
                }
            )*
        }
    };
}
