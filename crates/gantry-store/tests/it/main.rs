//! The store against real databases: every scenario on SQLite and on PostgreSQL (a database of
//! its own each). One test binary for the crate.

mod backend_schemas;
mod build_numbers;
mod cdevents;
mod jobs;
mod leases;
mod log_attempts;
mod record;
mod recovery;
mod token_backends;
mod users;

/// The migrations of the database at `url` numbered below `first_left_out`: a store as an
/// older Gantry left it, for the tests that check a migration carries its data over.
async fn migrations_before(url: &str, first_left_out: &str) -> sqlx::migrate::Migrator {
    let older = tempfile::tempdir().unwrap();
    let backend = if url.starts_with("postgres") {
        "postgres"
    } else {
        "sqlite"
    };
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    for entry in std::fs::read_dir(source).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.as_str() < first_left_out {
            std::fs::copy(&path, older.path().join(name)).unwrap();
        }
    }
    // The migrator holds the scripts in memory: the directory may go.
    sqlx::migrate::Migrator::new(older.path()).await.unwrap()
}
