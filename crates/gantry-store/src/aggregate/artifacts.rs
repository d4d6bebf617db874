//! Artifact records: the `artifacts` table, which run and task packaged which file under which
//! digest. The files themselves are in the content-addressed store ([`crate::artifact`]).
//!
//! Schema: `migrations/*/0001_build_data.sql`.

use chrono::{DateTime, Utc};

use crate::db::{Db, Sql, Statements, Tx};
use crate::error::StoreError;

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ArtifactRow {
    pub task_path: String,
    pub name: String,
    pub size: i64,
    pub sha256: String,
    pub at: DateTime<Utc>,
}

/// An `artifact_packaged` event's record.
#[derive(Debug)]
pub(crate) struct NewArtifact<'a> {
    pub run_id: &'a str,
    pub task_path: &'a str,
    pub name: &'a str,
    pub size: u64,
    pub sha256: &'a str,
    pub at: DateTime<Utc>,
}

impl Db {
    pub(crate) async fn artifacts(&self, run_id: &str) -> Result<Vec<ArtifactRow>, StoreError> {
        self.connection()
            .await?
            .fetch_all(
                "read a run's artifacts",
                Sql::both(
                    "SELECT task_path, name, size, sha256, at FROM artifacts WHERE run_id = $1 ORDER BY at, task_path, name",
                ),
                &[run_id.into()],
            )
            .await
    }
}

impl Tx {
    pub(crate) async fn insert_artifact(&mut self, artifact: &NewArtifact<'_>) -> Result<(), StoreError> {
        self.execute(
            "record an artifact",
            Sql::both(
                "INSERT INTO artifacts (run_id, task_path, name, size, sha256, at) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (run_id, task_path, name) DO NOTHING",
            ),
            &[
                artifact.run_id.into(),
                artifact.task_path.into(),
                artifact.name.into(),
                artifact.size.into(),
                artifact.sha256.into(),
                artifact.at.into(),
            ],
        )
        .await?;
        Ok(())
    }
}
