//! The PostgreSQL backend: one database shared by any number of server replicas.
//!
//! The same tables as SQLite (`migrations/postgres`), with native types: `TIMESTAMPTZ`, `BOOLEAN`,
//! `JSONB`. Transactions are PostgreSQL's default (read committed): every write that must not
//! race is one statement with `ON CONFLICT` or a conditional `UPDATE`, which row locks make
//! atomic, or takes its rows `FOR UPDATE` before deciding (a silent run's lease, the last admin
//! token); migrations take PostgreSQL's advisory lock.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool, Postgres, QueryBuilder, Row, Transaction};

use crate::backend::{NewEvent, NewLogLine, NewRun, RecordTx, TaskEnd, build_taken, insert_chunks};
use crate::cdevent::RunContext;
use crate::error::StoreError;
use crate::query::{
    APPS_QUERY, AppRow, ArtifactRow, LogRow, RunFilter, RunRow, StageRow, TaskRow, run_columns,
    selection_text, unsigned,
};
use crate::recovery::Owner;

mod tokens;

/// Connections per store: reads and writes of one process go on side by side.
const MAX_CONNECTIONS: u32 = 10;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// An open PostgreSQL database.
#[derive(Debug, Clone)]
pub(crate) struct PostgresBackend {
    pool: PgPool,
}

/// One write transaction.
pub(crate) struct PostgresTx {
    tx: Transaction<'static, Postgres>,
}

/// A time as this database takes it: as it is, a `TIMESTAMPTZ` (the shared queries of
/// [`crate::same_sql`] bind times through this; SQLite's module turns them into text).
fn timestamp(at: DateTime<Utc>) -> DateTime<Utc> {
    at
}

impl PostgresBackend {
    crate::same_sql::shared_queries!();

    /// Tells every listening store on the database that run events were recorded.
    pub(crate) async fn notify_recorded(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(crate::notify::CHANNEL)
            .execute(&self.pool)
            .await
            .map_err(StoreError::db("tell listening replicas of recorded events"))?;
        Ok(())
    }

    /// Relays the database's notifications of recorded run events into `recorded`.
    pub(crate) async fn listen(&self, recorded: &crate::notify::Recorded) -> Result<(), StoreError> {
        recorded
            .listen(&self.pool)
            .await
            .map_err(StoreError::db("listen for the records of other replicas"))
    }

    /// Connects to the database at `url` and brings its schema up to date.
    pub(crate) async fn open(url: &str) -> Result<Self, StoreError> {
        let connect = |source| StoreError::Connect {
            url: url.to_owned(),
            source,
        };
        // One plain connection first: a pool retries a refused or unknown database until its
        // acquire timeout, where this says at once what is wrong.
        let mut conn = PgConnection::connect(url).await.map_err(connect)?;
        MIGRATOR
            .run_direct(&mut conn)
            .await
            .map_err(|source| StoreError::Migrate {
                url: url.to_owned(),
                source,
            })?;
        let _ = conn.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .connect(url)
            .await
            .map_err(connect)?;
        Ok(Self { pool })
    }

    pub(crate) async fn begin(&self) -> Result<PostgresTx, StoreError> {
        let tx = self
            .pool
            .begin()
            .await
            .map_err(StoreError::db("begin a write transaction"))?;
        Ok(PostgresTx { tx })
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
        // A range in byte order (the "C" collation, which `runs_by_id_prefix` indexes): no id
        // character sorts after U+10FFFF.
        sqlx::query_as(concat!(
            "SELECT ",
            run_columns!(),
            " FROM runs WHERE id COLLATE \"C\" >= $1 AND id COLLATE \"C\" < $2 ORDER BY id COLLATE \"C\" LIMIT $3"
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
                 THEN GREATEST(COALESCE(last_contact_at, $2), $2) ELSE last_contact_at END
             WHERE id = $1 RETURNING result",
        )
        .bind(run_id)
        .bind(at)
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::db("record a contact with a run's process"))
    }

    pub(crate) async fn pipeline(&self, run_id: &str) -> Result<serde_json::Value, StoreError> {
        let text: String = sqlx::query_scalar("SELECT pipeline::text FROM runs WHERE id = $1")
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
        sqlx::query_scalar("SELECT json::text FROM events WHERE chain_id = $1 ORDER BY timestamp, seq")
            .bind(chain_id)
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::db("read events"))
    }
}

crate::same_sql::list_runs_query!(Postgres, "");

impl PostgresTx {
    crate::same_sql::shared_commit!();
}

impl RecordTx for PostgresTx {
    crate::same_sql::shared_record_queries!();

    async fn insert_run(&mut self, run: &NewRun<'_>) -> Result<(), StoreError> {
        let info = run.info;
        let inserted = sqlx::query(
            "INSERT INTO runs (id, app, version, build, revision, branch, traceable, untraceable_reason, mock,
                               pipeline, result, queued_at, owner_host, owner_pid, owner_start_time, selection,
                               runner_host, runner_pid)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, 'running', $11, $12, $13, $14, $15, $16, $17)
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
        .bind(run.queued_at)
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
        let done =
            sqlx::query("UPDATE runs SET result = $2, finished_at = $3 WHERE id = $1 AND result = 'running'")
                .bind(run_id)
                .bind(result)
                .bind(at)
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
        .bind(at)
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
        .bind(at)
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
                 attempts = GREATEST(tasks.attempts, excluded.attempts),
                 started_at = COALESCE(tasks.started_at, excluded.started_at),
                 finished_at = NULL
             RETURNING id",
        )
        .bind(run_id)
        .bind(path)
        .bind(stage)
        .bind(i64::from(attempt))
        .bind(at)
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
                 attempts = GREATEST(tasks.attempts, excluded.attempts),
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
        .bind(end.exit_code.map(i64::from))
        .bind(end.allowed_failure)
        .bind(end.finished_at)
        .fetch_one(&mut *self.tx)
        .await
        .map_err(StoreError::db("record a task's end"))
    }

    async fn append_logs(&mut self, lines: &[NewLogLine<'_>]) -> Result<(), StoreError> {
        for chunk in insert_chunks(lines) {
            // Numbered after the window: rows left out (recorded before) take no number. The
            // SELECT sees the table as it was before the statement.
            let mut sql = QueryBuilder::<Postgres>::new(
                "INSERT INTO task_logs (task_id, seq, stream, line, at, event_id)
                 SELECT v.task_id,
                        (SELECT COALESCE(MAX(l.seq), 0) FROM task_logs l WHERE l.task_id = v.task_id)
                          + ROW_NUMBER() OVER (PARTITION BY v.task_id ORDER BY v.n),
                        v.stream, v.line, v.at, v.event_id
                 FROM (",
            );
            sql.push_values(chunk.iter().enumerate(), |mut row, (n, line)| {
                row.push_bind(i64::try_from(n).unwrap_or(i64::MAX))
                    .push_unseparated("::bigint")
                    .push_bind(line.task_id)
                    .push_unseparated("::bigint")
                    .push_bind(line.stream)
                    .push_unseparated("::text")
                    .push_bind(line.line)
                    .push_unseparated("::text")
                    .push_bind(line.at)
                    .push_unseparated("::timestamptz")
                    .push_bind(line.event_id)
                    .push_unseparated("::text");
            });
            sql.push(
                ") AS v (n, task_id, stream, line, at, event_id)
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
                QueryBuilder::<Postgres>::new("INSERT INTO events (id, chain_id, type, timestamp, json) ");
            sql.push_values(chunk, |mut row, event| {
                row.push_bind(event.id)
                    .push_bind(event.chain_id)
                    .push_bind(event.kind.as_str())
                    .push_bind(event.timestamp)
                    .push_bind(event.json.as_str())
                    .push_unseparated("::jsonb");
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
            "UPDATE runs SET last_contact_at = GREATEST(COALESCE(last_contact_at, $2), $2)
             WHERE id = $1 AND result = 'running'",
        )
        .bind(run_id)
        .bind(at)
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
        // The row lock makes a concurrent contact or finish wait for this transaction, and makes
        // this one see theirs: after waiting, the condition is checked on the row as it is now.
        let silent: Option<i32> = sqlx::query_scalar(
            "SELECT 1 FROM runs WHERE id = $1 AND result = 'running' AND COALESCE(last_contact_at, queued_at) < $2
             FOR UPDATE",
        )
        .bind(run_id)
        .bind(silent_since)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(StoreError::db("check a silent run"))?;
        Ok(silent.is_some())
    }
}
