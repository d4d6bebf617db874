//! The SQLite backend: the embedded default, one file with WAL, shared safely by many
//! processes (`gantry run`s on one machine).
//!
//! Times are stored as fixed-format UTC text (see `migrations/sqlite`), so they sort as text.
//! Writes run in `BEGIN IMMEDIATE` transactions: taking the write lock up front lets SQLite's
//! busy timeout queue concurrent writers instead of failing one of them on lock upgrade.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool, Transaction};

use crate::backend::{NewEvent, NewLogLine, NewRun, RecordTx, TaskEnd, build_taken, insert_chunks};
use crate::cdevent::{RunContext, timestamp};
use crate::error::StoreError;
use crate::query::{
    APPS_QUERY, AppRow, ArtifactRow, LogRow, RunFilter, RunRow, StageRow, TaskRow, run_columns,
    selection_text, unsigned,
};
use crate::recovery::Owner;

mod tokens;

/// Long enough for twenty processes writing at once to take their turns.
const BUSY_TIMEOUT: Duration = Duration::from_mins(1);

/// Writes are serialized by SQLite anyway; a few connections let reads go on beside a write.
const MAX_CONNECTIONS: u32 = 4;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

/// An open SQLite database.
#[derive(Debug, Clone)]
pub(crate) struct SqliteBackend {
    pool: SqlitePool,
}

/// One write transaction.
pub(crate) struct SqliteTx {
    tx: Transaction<'static, Sqlite>,
}

impl SqliteBackend {
    crate::same_sql::shared_queries!();

    /// Opens (creating it if needed) the database at `path` and brings its schema up to date.
    pub(crate) async fn open(path: &Path, url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // With WAL, NORMAL loses no committed data when a process dies (only on power loss)
            // and spares an fsync per commit.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Connect {
                url: url.to_owned(),
                source,
            })?;
        // SQLite's migrator takes no lock of its own: processes opening a new file at once would
        // both apply the first migration. One write transaction around it serializes them.
        let mut tx = pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|source| StoreError::Connect {
                url: url.to_owned(),
                source,
            })?;
        MIGRATOR
            .run_direct(&mut *tx)
            .await
            .map_err(|source| StoreError::Migrate {
                url: url.to_owned(),
                source,
            })?;
        tx.commit()
            .await
            .map_err(StoreError::db("commit the schema migration"))?;
        Ok(Self { pool })
    }

    pub(crate) async fn begin(&self) -> Result<SqliteTx, StoreError> {
        let tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(StoreError::db("begin a write transaction"))?;
        Ok(SqliteTx { tx })
    }

    pub(crate) async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<RunRow>, StoreError> {
        list_runs_query(filter)
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::db("list runs"))
    }

    /// Up to `limit` runs whose id starts with `prefix`, in id order.
    pub(crate) async fn runs_by_prefix(&self, prefix: &str, limit: u32) -> Result<Vec<RunRow>, StoreError> {
        // A range on the primary key: text compares bytewise, and no id character sorts after
        // U+10FFFF.
        sqlx::query_as(concat!(
            "SELECT ",
            run_columns!(),
            " FROM runs WHERE id >= $1 AND id < $2 ORDER BY id LIMIT $3"
        ))
        .bind(prefix)
        .bind(format!("{prefix}\u{10FFFF}"))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::db("find runs by id prefix"))
    }

    /// Notes a contact with the run's process (a finished run has none); the run's result,
    /// `None` for an unknown run.
    pub(crate) async fn record_contact(
        &self,
        run_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar(
            "UPDATE runs SET last_contact_at = CASE WHEN result = 'running'
                 THEN MAX(COALESCE(last_contact_at, $2), $2) ELSE last_contact_at END
             WHERE id = $1 RETURNING result",
        )
        .bind(run_id)
        .bind(timestamp(at))
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::db("record a contact with a run's process"))
    }

    pub(crate) async fn pipeline(&self, run_id: &str) -> Result<serde_json::Value, StoreError> {
        let text: String = sqlx::query_scalar("SELECT pipeline FROM runs WHERE id = $1")
            .bind(run_id)
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::db("read a run's pipeline definition"))?;
        serde_json::from_str(&text).map_err(|err| StoreError::Corrupt {
            what: "pipeline definition",
            reason: err.to_string(),
        })
    }

    pub(crate) async fn events_for_chain(&self, chain_id: &str) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar("SELECT json FROM events WHERE chain_id = $1 ORDER BY timestamp, seq")
            .bind(chain_id)
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::db("read events"))
    }
}

// SQLite takes a negative limit as none, and wants a limit before an offset.
crate::same_sql::list_runs_query!(Sqlite, " LIMIT -1");

impl SqliteTx {
    crate::same_sql::shared_commit!();
}

impl RecordTx for SqliteTx {
    crate::same_sql::shared_record_queries!();

    async fn insert_run(&mut self, run: &NewRun<'_>) -> Result<(), StoreError> {
        let info = run.info;
        let inserted = sqlx::query(
            "INSERT INTO runs (id, app, version, build, revision, branch, traceable, untraceable_reason, mock,
                               pipeline, result, queued_at, owner_host, owner_pid, owner_start_time, selection,
                               runner_host, runner_pid)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'running', $11, $12, $13, $14, $15, $16, $17)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(run.id)
        .bind(&info.app)
        .bind(&info.version)
        .bind(i64::try_from(info.build).unwrap_or(i64::MAX))
        .bind(&info.revision)
        .bind(&info.branch)
        .bind(info.traceable)
        .bind(&info.untraceable_reason)
        .bind(info.mock)
        .bind(run.pipeline_json)
        .bind(timestamp(run.queued_at))
        .bind(&run.owner.host)
        .bind(i64::from(run.owner.pid))
        .bind(run.owner.start_time.and_then(|time| i64::try_from(time).ok()))
        .bind(selection_text(&info.selection))
        .bind(info.runner.as_ref().map(|runner| runner.host.as_str()))
        .bind(info.runner.as_ref().map(|runner| i64::from(runner.pid)))
        .execute(&mut *self.tx)
        .await
        .map_err(StoreError::db("record a queued run"))?;
        if inserted.rows_affected() == 0 || info.build == 0 {
            return Ok(());
        }
        // A conflict waits for the run that took the number first, then leaves its row alone.
        let taken = sqlx::query(
            "INSERT INTO run_builds (app, build, run_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(&info.app)
        .bind(i64::try_from(info.build).unwrap_or(i64::MAX))
        .bind(run.id)
        .execute(&mut *self.tx)
        .await
        .map_err(StoreError::db("record a run's build number"))?;
        if taken.rows_affected() == 1 {
            return Ok(());
        }
        let holder = self.build_holder(&info.app, info.build).await?;
        Err(build_taken(run, holder.as_deref().unwrap_or("another run")))
    }

    async fn finish_run(
        &mut self,
        run_id: &str,
        result: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let at = timestamp(at);
        let done =
            sqlx::query("UPDATE runs SET result = $2, finished_at = $3 WHERE id = $1 AND result = 'running'")
                .bind(run_id)
                .bind(result)
                .bind(&at)
                .execute(&mut *self.tx)
                .await
                .map_err(StoreError::db("record a run's result"))?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE tasks SET status = 'interrupted', finished_at = $2
             WHERE run_id = $1 AND status IN ('running', 'pending')",
        )
        .bind(run_id)
        .bind(&at)
        .execute(&mut *self.tx)
        .await
        .map_err(StoreError::db("close a finished run's tasks"))?;
        // Stages the engine did not close themselves (setup and finally, say) take their
        // tasks' outcome.
        sqlx::query(
            "UPDATE stages SET finished_at = $3, status = CASE
                 WHEN $2 = 'interrupted' THEN 'interrupted'
                 WHEN EXISTS (SELECT 1 FROM tasks t WHERE t.run_id = stages.run_id AND t.stage = stages.name
                              AND t.status IN ('failure', 'timed_out') AND NOT t.allowed_failure) THEN 'failure'
                 WHEN EXISTS (SELECT 1 FROM tasks t WHERE t.run_id = stages.run_id AND t.stage = stages.name
                              AND t.status = 'cancelled') THEN 'cancelled'
                 WHEN EXISTS (SELECT 1 FROM tasks t WHERE t.run_id = stages.run_id AND t.stage = stages.name
                              AND t.status = 'interrupted') THEN 'interrupted'
                 WHEN NOT EXISTS (SELECT 1 FROM tasks t WHERE t.run_id = stages.run_id AND t.stage = stages.name
                                  AND t.status <> 'skipped') THEN 'skipped'
                 ELSE 'success' END
             WHERE run_id = $1 AND status IN ('running', 'pending')",
        )
        .bind(run_id)
        .bind(result)
        .bind(&at)
        .execute(&mut *self.tx)
        .await
        .map_err(StoreError::db("close a finished run's stages"))?;
        Ok(true)
    }

    async fn start_task(
        &mut self,
        run_id: &str,
        path: &str,
        stage: &str,
        attempt: u32,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        sqlx::query_scalar(
            "INSERT INTO tasks (run_id, path, stage, status, attempts, started_at)
             VALUES ($1, $2, $3, 'running', $4, $5)
             ON CONFLICT (run_id, path) DO UPDATE SET
                 status = 'running',
                 attempts = MAX(tasks.attempts, excluded.attempts),
                 started_at = COALESCE(tasks.started_at, excluded.started_at),
                 finished_at = NULL
             RETURNING id",
        )
        .bind(run_id)
        .bind(path)
        .bind(stage)
        .bind(i64::from(attempt))
        .bind(timestamp(at))
        .fetch_one(&mut *self.tx)
        .await
        .map_err(StoreError::db("record a task's start"))
    }

    async fn finish_task(
        &mut self,
        run_id: &str,
        path: &str,
        stage: &str,
        end: &TaskEnd<'_>,
    ) -> Result<i64, StoreError> {
        sqlx::query_scalar(
            "INSERT INTO tasks (run_id, path, stage, status, attempts, exit_code, allowed_failure, finished_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (run_id, path) DO UPDATE SET
                 status = excluded.status,
                 attempts = MAX(tasks.attempts, excluded.attempts),
                 exit_code = excluded.exit_code,
                 allowed_failure = excluded.allowed_failure,
                 finished_at = excluded.finished_at
             RETURNING id",
        )
        .bind(run_id)
        .bind(path)
        .bind(stage)
        .bind(end.status)
        .bind(i64::from(end.attempt))
        .bind(end.exit_code)
        .bind(end.allowed_failure)
        .bind(end.finished_at.map(timestamp))
        .fetch_one(&mut *self.tx)
        .await
        .map_err(StoreError::db("record a task's end"))
    }

    async fn append_logs(&mut self, lines: &[NewLogLine<'_>]) -> Result<(), StoreError> {
        for chunk in insert_chunks(lines) {
            // Numbered after the window: rows left out (recorded before) take no number. SQLite
            // reads the whole SELECT before inserting, as it reads the table it inserts into.
            let mut sql = QueryBuilder::<Sqlite>::new("WITH v (n, task_id, stream, line, at, event_id) AS (");
            sql.push_values(chunk.iter().enumerate(), |mut row, (n, line)| {
                row.push_bind(i64::try_from(n).unwrap_or(i64::MAX))
                    .push_bind(line.task_id)
                    .push_bind(line.stream)
                    .push_bind(line.line)
                    .push_bind(timestamp(line.at))
                    .push_bind(line.event_id);
            });
            sql.push(
                ") INSERT INTO task_logs (task_id, seq, stream, line, at, event_id)
                 SELECT v.task_id,
                        (SELECT COALESCE(MAX(l.seq), 0) FROM task_logs l WHERE l.task_id = v.task_id)
                          + ROW_NUMBER() OVER (PARTITION BY v.task_id ORDER BY v.n),
                        v.stream, v.line, v.at, v.event_id
                 FROM v
                 WHERE NOT EXISTS (SELECT 1 FROM task_logs d WHERE d.event_id = v.event_id)
                 ON CONFLICT (event_id) DO NOTHING",
            );
            sql.build()
                .execute(&mut *self.tx)
                .await
                .map_err(StoreError::db("append to a task's log"))?;
        }
        Ok(())
    }

    async fn insert_events(&mut self, events: &[NewEvent<'_>]) -> Result<u64, StoreError> {
        let mut stored = 0;
        for chunk in insert_chunks(events) {
            let mut sql =
                QueryBuilder::<Sqlite>::new("INSERT INTO events (id, chain_id, type, timestamp, json) ");
            sql.push_values(chunk, |mut row, event| {
                row.push_bind(event.id)
                    .push_bind(event.chain_id)
                    .push_bind(event.kind.as_str())
                    .push_bind(timestamp(event.timestamp))
                    .push_bind(event.json.as_str());
            });
            sql.push(" ON CONFLICT (id) DO NOTHING");
            let done = sql
                .build()
                .execute(&mut *self.tx)
                .await
                .map_err(StoreError::db("store CDEvents"))?;
            stored += done.rows_affected();
        }
        Ok(stored)
    }

    async fn touch_run(&mut self, run_id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE runs SET last_contact_at = MAX(COALESCE(last_contact_at, $2), $2)
             WHERE id = $1 AND result = 'running'",
        )
        .bind(run_id)
        .bind(timestamp(at))
        .execute(&mut *self.tx)
        .await
        .map_err(StoreError::db("record a contact with a run's process"))?;
        Ok(())
    }

    async fn hold_if_silent(
        &mut self,
        run_id: &str,
        silent_since: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        // The transaction holds SQLite's write lock from its start: no other writer is between.
        let silent: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM runs WHERE id = $1 AND result = 'running' AND COALESCE(last_contact_at, queued_at) < $2",
        )
        .bind(run_id)
        .bind(timestamp(silent_since))
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(StoreError::db("check a silent run"))?;
        Ok(silent.is_some())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    /// What SQLite does for a listing: the `detail` of each step of its query plan.
    async fn plan(db: &SqliteBackend, filter: &RunFilter) -> Vec<String> {
        plan_of(db, list_runs_query(filter).sql()).await
    }

    /// That the plan reads `runs` through a search of `index`.
    fn assert_searches(plan: &[String], index: &str, filter: &RunFilter) {
        assert!(
            plan.iter()
                .any(|step| step.starts_with("SEARCH runs USING INDEX") && step.contains(index)),
            "{filter:?}: {plan:?}"
        );
    }

    async fn plan_of(db: &SqliteBackend, sql: &str) -> Vec<String> {
        let explain = format!("EXPLAIN QUERY PLAN {sql}");
        sqlx::query(&explain)
            .fetch_all(&db.pool)
            .await
            .unwrap()
            .iter()
            .map(|row| row.get::<String, _>("detail"))
            .collect()
    }

    #[tokio::test]
    async fn time_windows_are_searched_by_index() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gantry.db");
        let db = SqliteBackend::open(&path, "sqlite://gantry.db").await.unwrap();
        let at = |hour| Utc.with_ymd_and_hms(2025, 6, 1, hour, 0, 0).unwrap();
        let check = |filter: RunFilter, index: &'static str| {
            let db = db.clone();
            async move {
                let plan = plan(&db, &filter).await;
                assert_searches(&plan, index, &filter);
                assert!(
                    plan.iter().any(|step| step.contains("queued_at")),
                    "{filter:?}: {plan:?}"
                );
            }
        };
        let window = RunFilter {
            since: Some(at(1)),
            until: Some(at(2)),
            ..RunFilter::default()
        };
        check(window.clone(), "runs_by_time").await;
        check(
            RunFilter {
                since: Some(at(1)),
                ..RunFilter::default()
            },
            "runs_by_time",
        )
        .await;
        check(
            RunFilter {
                app: Some("hello".into()),
                ..window
            },
            "runs_by_app",
        )
        .await;
    }

    /// Pages by app or branch come straight from an index, in order: no scan of every run, no
    /// sort. Nor does the apps overview read every run.
    #[tokio::test]
    async fn listings_and_the_apps_overview_read_no_more_than_they_show() {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteBackend::open(&dir.path().join("gantry.db"), "sqlite://gantry.db")
            .await
            .unwrap();
        for (filter, index) in [
            (
                RunFilter {
                    app: Some("hello".into()),
                    limit: Some(50),
                    ..RunFilter::default()
                },
                "runs_by_app",
            ),
            (
                RunFilter {
                    branch: Some("main".into()),
                    limit: Some(50),
                    ..RunFilter::default()
                },
                "runs_by_branch",
            ),
        ] {
            let plan = plan(&db, &filter).await;
            assert_searches(&plan, index, &filter);
            assert!(
                !plan.iter().any(|step| step.contains("TEMP B-TREE")),
                "{filter:?}: {plan:?}"
            );
        }

        let plan = plan_of(&db, APPS_QUERY).await;
        // Counting scans a covering index (no row is read); the newest run of each app is a
        // search; nothing is sorted but the apps.
        assert!(
            plan.iter()
                .filter(|step| step.starts_with("SCAN runs"))
                .all(|step| step.contains("COVERING INDEX")),
            "{plan:?}"
        );
        assert!(
            plan.iter()
                .any(|step| step.starts_with("SEARCH newest USING") && step.contains("runs_by_app")),
            "{plan:?}"
        );
    }
}
