//! A run's stages and tasks: the `stages` and `tasks` tables, written as the run's events
//! arrive (a stage or task may first be seen through any of them) and closed with the run.
//!
//! Schema: `migrations/*/0001_build_data.sql`.

use chrono::{DateTime, Utc};

use crate::db::{Db, Sql, Statements, Tx};
use crate::error::StoreError;
use crate::query::{StageRecord, TaskRecord, TaskStatus, corrupt, duration_ms};

/// How an attempt of a task ended, for [`Tx::finish_task`].
#[derive(Debug)]
pub(crate) struct TaskEnd<'a> {
    pub attempt: u32,
    /// The task's status after this attempt (`running` when another attempt follows).
    pub status: &'a str,
    pub exit_code: Option<i32>,
    pub allowed_failure: bool,
    /// `None` when another attempt follows.
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct StageRow {
    pub name: String,
    pub status: String,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct TaskRow {
    pub path: String,
    pub stage: String,
    pub status: String,
    pub attempts: i64,
    pub exit_code: Option<i64>,
    pub allowed_failure: bool,
    pub skip_reason: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl Db {
    pub(crate) async fn stages(&self, run_id: &str) -> Result<Vec<StageRow>, StoreError> {
        self.connection()
            .await?
            .fetch_all(
                "read a run's stages",
                Sql::both(
                    "SELECT name, status, started_at, finished_at FROM stages WHERE run_id = $1 ORDER BY position, name",
                ),
                &[run_id.into()],
            )
            .await
    }

    pub(crate) async fn tasks(&self, run_id: &str) -> Result<Vec<TaskRow>, StoreError> {
        self.connection()
            .await?
            .fetch_all(
                "read a run's tasks",
                Sql::both(
                    "SELECT path, stage, status, attempts, exit_code, allowed_failure, skip_reason, started_at, finished_at
                     FROM tasks WHERE run_id = $1 ORDER BY id",
                ),
                &[run_id.into()],
            )
            .await
    }
}

impl Tx {
    pub(crate) async fn start_stage(
        &mut self,
        run_id: &str,
        stage: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.execute(
            "record a stage's start",
            Sql::both(
                "INSERT INTO stages (run_id, name, position, status, started_at)
                 VALUES ($1, $2, (SELECT COUNT(*) FROM stages WHERE run_id = $1), 'running', $3)
                 ON CONFLICT (run_id, name) DO UPDATE SET
                     status = 'running', started_at = COALESCE(stages.started_at, excluded.started_at), finished_at = NULL",
            ),
            &[run_id.into(), stage.into(), at.into()],
        )
        .await?;
        Ok(())
    }

    pub(crate) async fn finish_stage(
        &mut self,
        run_id: &str,
        stage: &str,
        status: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.execute(
            "record a stage's end",
            Sql::both(
                "INSERT INTO stages (run_id, name, position, status, finished_at)
                 VALUES ($1, $2, (SELECT COUNT(*) FROM stages WHERE run_id = $1), $3, $4)
                 ON CONFLICT (run_id, name) DO UPDATE SET status = excluded.status, finished_at = excluded.finished_at",
            ),
            &[run_id.into(), stage.into(), status.into(), at.into()],
        )
        .await?;
        Ok(())
    }

    /// Creates the stage row with `status` unless it exists (tasks name their stage).
    pub(crate) async fn ensure_stage(
        &mut self,
        run_id: &str,
        stage: &str,
        status: &str,
    ) -> Result<(), StoreError> {
        // A stage first seen through a skipped or silent task becomes running when one of its
        // tasks starts.
        self.execute(
            "record a stage",
            Sql::both(
                "INSERT INTO stages (run_id, name, position, status)
                 VALUES ($1, $2, (SELECT COUNT(*) FROM stages WHERE run_id = $1), $3)
                 ON CONFLICT (run_id, name) DO UPDATE SET status = excluded.status
                 WHERE excluded.status = 'running' AND stages.status IN ('pending', 'skipped')",
            ),
            &[run_id.into(), stage.into(), status.into()],
        )
        .await?;
        Ok(())
    }

    /// Returns the task's row id.
    pub(crate) async fn start_task(
        &mut self,
        run_id: &str,
        path: &str,
        stage: &str,
        attempt: u32,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let (id,) = self
            .fetch_one(
                "record a task's start",
                Sql::both(
                    "INSERT INTO tasks (run_id, path, stage, status, attempts, started_at)
                     VALUES ($1, $2, $3, 'running', $4, $5)
                     ON CONFLICT (run_id, path) DO UPDATE SET
                         status = 'running',
                         attempts = CASE WHEN tasks.attempts > excluded.attempts THEN tasks.attempts ELSE excluded.attempts END,
                         started_at = COALESCE(tasks.started_at, excluded.started_at),
                         finished_at = NULL
                     RETURNING id",
                ),
                &[run_id.into(), path.into(), stage.into(), attempt.into(), at.into()],
            )
            .await?;
        Ok(id)
    }

    /// Returns the task's row id.
    pub(crate) async fn finish_task(
        &mut self,
        run_id: &str,
        path: &str,
        stage: &str,
        end: &TaskEnd<'_>,
    ) -> Result<i64, StoreError> {
        let (id,) = self
            .fetch_one(
                "record a task's end",
                Sql::both(
                    "INSERT INTO tasks (run_id, path, stage, status, attempts, exit_code, allowed_failure, finished_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                     ON CONFLICT (run_id, path) DO UPDATE SET
                         status = excluded.status,
                         attempts = CASE WHEN tasks.attempts > excluded.attempts THEN tasks.attempts ELSE excluded.attempts END,
                         exit_code = excluded.exit_code,
                         allowed_failure = excluded.allowed_failure,
                         finished_at = excluded.finished_at
                     RETURNING id",
                ),
                &[
                    run_id.into(),
                    path.into(),
                    stage.into(),
                    end.status.into(),
                    end.attempt.into(),
                    end.exit_code.into(),
                    end.allowed_failure.into(),
                    end.finished_at.into(),
                ],
            )
            .await?;
        Ok(id)
    }

    /// Returns the task's row id.
    pub(crate) async fn skip_task(
        &mut self,
        run_id: &str,
        path: &str,
        stage: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let (id,) = self
            .fetch_one(
                "record a skipped task",
                Sql::both(
                    "INSERT INTO tasks (run_id, path, stage, status, skip_reason, finished_at)
                     VALUES ($1, $2, $3, 'skipped', $4, $5)
                     ON CONFLICT (run_id, path) DO UPDATE SET
                         status = 'skipped', skip_reason = excluded.skip_reason, finished_at = excluded.finished_at
                     RETURNING id",
                ),
                &[run_id.into(), path.into(), stage.into(), reason.into(), at.into()],
            )
            .await?;
        Ok(id)
    }

    /// The task's row id, creating a `pending` row for a task not seen yet.
    pub(crate) async fn task_id(
        &mut self,
        run_id: &str,
        path: &str,
        stage: &str,
    ) -> Result<(i64, u32), StoreError> {
        let found: Option<(i64, i64)> = self
            .fetch_optional(
                "find a task",
                Sql::both("SELECT id, attempts FROM tasks WHERE run_id = $1 AND path = $2"),
                &[run_id.into(), path.into()],
            )
            .await?;
        if let Some((id, attempts)) = found {
            let attempt =
                u32::try_from(attempts).map_err(|_| corrupt("task's attempts", format!("{attempts}")))?;
            return Ok((id, attempt.max(1)));
        }
        let (id,) = self
            .fetch_one(
                "record a task",
                Sql::both("INSERT INTO tasks (run_id, path, stage, status) VALUES ($1, $2, $3, 'pending') RETURNING id"),
                &[run_id.into(), path.into(), stage.into()],
            )
            .await?;
        Ok((id, 1))
    }

    /// Marks a finished run's unfinished tasks `interrupted`, and closes its open stages.
    pub(crate) async fn close_stages_and_tasks(
        &mut self,
        run_id: &str,
        result: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.execute(
            "close a finished run's tasks",
            Sql::both(
                "UPDATE tasks SET status = 'interrupted', finished_at = $2
                 WHERE run_id = $1 AND status IN ('running', 'pending')",
            ),
            &[run_id.into(), at.into()],
        )
        .await?;
        // Stages the engine did not close themselves (setup and finally, say) take their
        // tasks' outcome.
        self.execute(
            "close a finished run's stages",
            Sql::both(
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
            ),
            &[run_id.into(), result.into(), at.into()],
        )
        .await?;
        Ok(())
    }
}

impl TryFrom<StageRow> for StageRecord {
    type Error = StoreError;

    fn try_from(row: StageRow) -> Result<Self, StoreError> {
        Ok(Self {
            status: task_status(&row.status)?,
            name: row.name,
            started_at: row.started_at,
            finished_at: row.finished_at,
        })
    }
}

impl TryFrom<TaskRow> for TaskRecord {
    type Error = StoreError;

    fn try_from(row: TaskRow) -> Result<Self, StoreError> {
        Ok(Self {
            status: task_status(&row.status)?,
            attempts: u32::try_from(row.attempts)
                .map_err(|_| corrupt("attempt count", row.attempts.to_string()))?,
            exit_code: row
                .exit_code
                .map(|code| i32::try_from(code).map_err(|_| corrupt("exit code", code.to_string())))
                .transpose()?,
            duration_ms: duration_ms(row.started_at, row.finished_at),
            path: row.path,
            stage: row.stage,
            allowed_failure: row.allowed_failure,
            skip_reason: row.skip_reason,
            started_at: row.started_at,
            finished_at: row.finished_at,
        })
    }
}

fn task_status(text: &str) -> Result<TaskStatus, StoreError> {
    TaskStatus::parse(text).ok_or_else(|| corrupt("task status", format!("`{text}` is not a task status")))
}
