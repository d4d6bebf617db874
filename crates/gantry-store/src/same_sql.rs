//! The queries whose SQL both databases take as it is, written once and expanded into each
//! backend's `impl` blocks by the macros below; `sqlite.rs` and `postgres.rs` keep only what
//! differs (their dialects, their JSON types, their locking). Times are bound through the
//! invoking module's `timestamp`: SQLite's stored text, PostgreSQL's `TIMESTAMPTZ` as it is.
//!
//! Macros rather than code generic over `sqlx::Database`: each method stays a plain method of
//! its backend, with concrete types, instead of carrying sqlx's bounds for every type it binds
//! and decodes.

/// The reads and the build number allocation of a backend (`self.pool`).
macro_rules! shared_queries {
    () => {
        pub(crate) async fn close(&self) {
            self.pool.close().await;
        }

        pub(crate) async fn allocate_build(&self, app: &str) -> Result<u64, StoreError> {
            let last: i64 = sqlx::query_scalar(
                "INSERT INTO build_numbers (app, last) VALUES ($1, 1)
                 ON CONFLICT (app) DO UPDATE SET last = build_numbers.last + 1
                 RETURNING last",
            )
            .bind(app)
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::db("allocate a build number"))?;
            unsigned(last, "build number")
        }

        pub(crate) async fn run(&self, id: &str) -> Result<Option<RunRow>, StoreError> {
            sqlx::query_as(concat!("SELECT ", run_columns!(), " FROM runs WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(StoreError::db("read a run"))
        }

        pub(crate) async fn runs_by_build(&self, app: &str, build: u64) -> Result<Vec<RunRow>, StoreError> {
            sqlx::query_as(concat!(
                "SELECT ",
                run_columns!(),
                " FROM runs WHERE app = $1 AND build = $2 ORDER BY queued_at DESC, id DESC LIMIT 10"
            ))
            .bind(app)
            .bind(i64::try_from(build).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::db("find runs by build number"))
        }

        pub(crate) async fn running_runs(&self) -> Result<Vec<RunRow>, StoreError> {
            sqlx::query_as(concat!(
                "SELECT ",
                run_columns!(),
                " FROM runs WHERE result = 'running'"
            ))
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::db("list running runs"))
        }

        pub(crate) async fn stages(&self, run_id: &str) -> Result<Vec<StageRow>, StoreError> {
            sqlx::query_as(
                "SELECT name, status, started_at, finished_at FROM stages WHERE run_id = $1 ORDER BY position, name",
            )
            .bind(run_id)
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::db("read a run's stages"))
        }

        pub(crate) async fn tasks(&self, run_id: &str) -> Result<Vec<TaskRow>, StoreError> {
            sqlx::query_as(
                "SELECT path, stage, status, attempts, exit_code, allowed_failure, skip_reason, started_at, finished_at
                 FROM tasks WHERE run_id = $1 ORDER BY id",
            )
            .bind(run_id)
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::db("read a run's tasks"))
        }

        pub(crate) async fn artifacts(&self, run_id: &str) -> Result<Vec<ArtifactRow>, StoreError> {
            sqlx::query_as(
                "SELECT task_path, name, size, sha256, at FROM artifacts WHERE run_id = $1 ORDER BY at, task_path, name",
            )
            .bind(run_id)
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::db("read a run's artifacts"))
        }

        pub(crate) async fn task_log(
            &self,
            run_id: &str,
            path: &str,
            after_seq: u64,
            limit: u32,
        ) -> Result<Vec<LogRow>, StoreError> {
            sqlx::query_as(
                "SELECT t.path, l.seq, l.stream, l.line, l.at
                 FROM tasks t JOIN task_logs l ON l.task_id = t.id
                 WHERE t.run_id = $1 AND t.path = $2 AND l.seq > $3
                 ORDER BY l.seq LIMIT $4",
            )
            .bind(run_id)
            .bind(path)
            .bind(i64::try_from(after_seq).unwrap_or(i64::MAX))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::db("read a task's log"))
        }

        pub(crate) async fn run_log(&self, run_id: &str) -> Result<Vec<LogRow>, StoreError> {
            sqlx::query_as(
                "SELECT t.path, l.seq, l.stream, l.line, l.at
                 FROM tasks t JOIN task_logs l ON l.task_id = t.id
                 WHERE t.run_id = $1
                 ORDER BY t.id, l.seq",
            )
            .bind(run_id)
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::db("read a run's log"))
        }

        pub(crate) async fn apps(&self) -> Result<Vec<AppRow>, StoreError> {
            sqlx::query_as(APPS_QUERY)
                .fetch_all(&self.pool)
                .await
                .map_err(StoreError::db("list apps"))
        }

        /// Runs still `running`, queued by `owner`, not heard from since `silent_since`.
        pub(crate) async fn silent_runs(
            &self,
            owner: &Owner,
            silent_since: DateTime<Utc>,
        ) -> Result<Vec<String>, StoreError> {
            sqlx::query_scalar(
                "SELECT id FROM runs
                 WHERE result = 'running' AND owner_host = $1 AND owner_pid = $2
                   AND COALESCE(last_contact_at, queued_at) < $3
                 ORDER BY queued_at, id",
            )
            .bind(&owner.host)
            .bind(i64::from(owner.pid))
            .bind(timestamp(silent_since))
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::db("list silent runs"))
        }
    };
}
pub(crate) use shared_queries;

/// Committing a write transaction (`self.tx`).
macro_rules! shared_commit {
    () => {
        pub(crate) async fn commit(self) -> Result<(), StoreError> {
            self.tx
                .commit()
                .await
                .map_err(StoreError::db("commit recorded events"))
        }
    };
}
pub(crate) use shared_commit;

/// The [`RecordTx`](crate::backend::RecordTx) methods whose SQL is the same on both databases.
macro_rules! shared_record_queries {
    () => {
        async fn run_context(&mut self, run_id: &str) -> Result<Option<RunContext>, StoreError> {
            let row = sqlx::query("SELECT app, version, build, revision, branch FROM runs WHERE id = $1")
                .bind(run_id)
                .fetch_optional(&mut *self.tx)
                .await
                .map_err(StoreError::db("read a run"))?;
            let Some(row) = row else { return Ok(None) };
            let read = |source| StoreError::Database {
                operation: "read a run",
                source,
            };
            Ok(Some(RunContext {
                app: row.try_get("app").map_err(read)?,
                version: row.try_get("version").map_err(read)?,
                build: unsigned(row.try_get("build").map_err(read)?, "build number")?,
                revision: row.try_get("revision").map_err(read)?,
                branch: row.try_get("branch").map_err(read)?,
            }))
        }

        async fn last_build(&mut self, app: &str) -> Result<Option<u64>, StoreError> {
            let last: Option<i64> = sqlx::query_scalar("SELECT last FROM build_numbers WHERE app = $1")
                .bind(app)
                .fetch_optional(&mut *self.tx)
                .await
                .map_err(StoreError::db("read the last build number"))?;
            Ok(last.map(|last| u64::try_from(last).unwrap_or(0)))
        }

        async fn build_holder(&mut self, app: &str, build: u64) -> Result<Option<String>, StoreError> {
            sqlx::query_scalar("SELECT run_id FROM run_builds WHERE app = $1 AND build = $2")
                .bind(app)
                .bind(i64::try_from(build).unwrap_or(i64::MAX))
                .fetch_optional(&mut *self.tx)
                .await
                .map_err(StoreError::db("find the run with a build number"))
        }

        async fn ensure_stage(&mut self, run_id: &str, stage: &str, status: &str) -> Result<(), StoreError> {
            // A stage first seen through a skipped or silent task becomes running when one of its
            // tasks starts.
            sqlx::query(
                "INSERT INTO stages (run_id, name, position, status)
                 VALUES ($1, $2, (SELECT COUNT(*) FROM stages WHERE run_id = $1), $3)
                 ON CONFLICT (run_id, name) DO UPDATE SET status = excluded.status
                 WHERE excluded.status = 'running' AND stages.status IN ('pending', 'skipped')",
            )
            .bind(run_id)
            .bind(stage)
            .bind(status)
            .execute(&mut *self.tx)
            .await
            .map_err(StoreError::db("record a stage"))?;
            Ok(())
        }

        async fn task_id(&mut self, run_id: &str, path: &str, stage: &str) -> Result<i64, StoreError> {
            let found: Option<i64> =
                sqlx::query_scalar("SELECT id FROM tasks WHERE run_id = $1 AND path = $2")
                    .bind(run_id)
                    .bind(path)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(StoreError::db("find a task"))?;
            if let Some(id) = found {
                return Ok(id);
            }
            sqlx::query_scalar(
                "INSERT INTO tasks (run_id, path, stage, status) VALUES ($1, $2, $3, 'pending') RETURNING id",
            )
            .bind(run_id)
            .bind(path)
            .bind(stage)
            .fetch_one(&mut *self.tx)
            .await
            .map_err(StoreError::db("record a task"))
        }

        async fn claim(
            &mut self,
            id: &str,
            run_id: &str,
            kind: &str,
            at: DateTime<Utc>,
        ) -> Result<bool, StoreError> {
            let done = sqlx::query(
                "INSERT INTO recorded_events (id, run_id, kind, at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
            )
            .bind(id)
            .bind(run_id)
            .bind(kind)
            .bind(timestamp(at))
            .execute(&mut *self.tx)
            .await
            .map_err(StoreError::db("record an event id"))?;
            Ok(done.rows_affected() == 1)
        }

        async fn start_run(&mut self, run_id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
            sqlx::query("UPDATE runs SET started_at = COALESCE(started_at, $2) WHERE id = $1")
                .bind(run_id)
                .bind(timestamp(at))
                .execute(&mut *self.tx)
                .await
                .map_err(StoreError::db("record a run's start"))?;
            Ok(())
        }

        async fn start_stage(&mut self, run_id: &str, stage: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
            sqlx::query(
                "INSERT INTO stages (run_id, name, position, status, started_at)
                 VALUES ($1, $2, (SELECT COUNT(*) FROM stages WHERE run_id = $1), 'running', $3)
                 ON CONFLICT (run_id, name) DO UPDATE SET
                     status = 'running', started_at = COALESCE(stages.started_at, excluded.started_at), finished_at = NULL",
            )
            .bind(run_id)
            .bind(stage)
            .bind(timestamp(at))
            .execute(&mut *self.tx)
            .await
            .map_err(StoreError::db("record a stage's start"))?;
            Ok(())
        }

        async fn finish_stage(
            &mut self,
            run_id: &str,
            stage: &str,
            status: &str,
            at: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "INSERT INTO stages (run_id, name, position, status, finished_at)
                 VALUES ($1, $2, (SELECT COUNT(*) FROM stages WHERE run_id = $1), $3, $4)
                 ON CONFLICT (run_id, name) DO UPDATE SET status = excluded.status, finished_at = excluded.finished_at",
            )
            .bind(run_id)
            .bind(stage)
            .bind(status)
            .bind(timestamp(at))
            .execute(&mut *self.tx)
            .await
            .map_err(StoreError::db("record a stage's end"))?;
            Ok(())
        }

        async fn skip_task(
            &mut self,
            run_id: &str,
            path: &str,
            stage: &str,
            reason: &str,
            at: DateTime<Utc>,
        ) -> Result<i64, StoreError> {
            sqlx::query_scalar(
                "INSERT INTO tasks (run_id, path, stage, status, skip_reason, finished_at)
                 VALUES ($1, $2, $3, 'skipped', $4, $5)
                 ON CONFLICT (run_id, path) DO UPDATE SET
                     status = 'skipped', skip_reason = excluded.skip_reason, finished_at = excluded.finished_at
                 RETURNING id",
            )
            .bind(run_id)
            .bind(path)
            .bind(stage)
            .bind(reason)
            .bind(timestamp(at))
            .fetch_one(&mut *self.tx)
            .await
            .map_err(StoreError::db("record a skipped task"))
        }

        async fn insert_artifact(
            &mut self,
            run_id: &str,
            task_path: &str,
            name: &str,
            size: u64,
            sha256: &str,
            at: DateTime<Utc>,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "INSERT INTO artifacts (run_id, task_path, name, size, sha256, at) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (run_id, task_path, name) DO NOTHING",
            )
            .bind(run_id)
            .bind(task_path)
            .bind(name)
            .bind(i64::try_from(size).unwrap_or(i64::MAX))
            .bind(sha256)
            .bind(timestamp(at))
            .execute(&mut *self.tx)
            .await
            .map_err(StoreError::db("record an artifact"))?;
            Ok(())
        }
    };
}
pub(crate) use shared_record_queries;

/// The token queries of [`crate::token`] whose SQL is the same on both databases.
macro_rules! shared_token_queries {
    () => {
        /// `false` when a token with this name (or, astronomically unlikely, this hash) exists.
        pub(crate) async fn insert_token(&self, token: &NewToken<'_>) -> Result<bool, StoreError> {
            let done = sqlx::query(
                "INSERT INTO tokens (name, scopes, hash, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(token.name)
            .bind(token.scopes)
            .bind(token.hash)
            .bind(timestamp(token.created_at))
            .execute(&self.pool)
            .await
            .map_err(StoreError::db("create a token"))?;
            Ok(done.rows_affected() == 1)
        }

        pub(crate) async fn count_admin_tokens(&self) -> Result<i64, StoreError> {
            sqlx::query_scalar("SELECT COUNT(*) FROM tokens WHERE (' ' || scopes || ' ') LIKE '% admin %'")
                .fetch_one(&self.pool)
                .await
                .map_err(StoreError::db("count admin tokens"))
        }

        pub(crate) async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRow>, StoreError> {
            sqlx::query_as("SELECT name, scopes, hash, created_at, last_used_at FROM tokens WHERE hash = $1")
                .bind(hash)
                .fetch_optional(&self.pool)
                .await
                .map_err(StoreError::db("look a token up"))
        }

        pub(crate) async fn touch_token(&self, name: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
            sqlx::query("UPDATE tokens SET last_used_at = $2 WHERE name = $1")
                .bind(name)
                .bind(timestamp(at))
                .execute(&self.pool)
                .await
                .map_err(StoreError::db("record a token's use"))?;
            Ok(())
        }

        pub(crate) async fn tokens(&self) -> Result<Vec<TokenRow>, StoreError> {
            sqlx::query_as("SELECT name, scopes, hash, created_at, last_used_at FROM tokens ORDER BY name")
                .fetch_all(&self.pool)
                .await
                .map_err(StoreError::db("list tokens"))
        }
    };
}
pub(crate) use shared_token_queries;

/// `fn list_runs_query(filter)`: the `SELECT` of a backend's `list_runs`, for the database type
/// `$db`, with `$no_limit` where a filter sets no limit. Filters on the queued time, which
/// `runs_by_time`, `runs_by_app` and `runs_by_branch` index, times bound through the invoking
/// module's `timestamp`.
macro_rules! list_runs_query {
    ($db:ty, $no_limit:literal) => {
        fn list_runs_query(filter: &RunFilter) -> QueryBuilder<'_, $db> {
            let mut sql =
                QueryBuilder::<$db>::new(concat!("SELECT ", run_columns!(), " FROM runs WHERE TRUE"));
            if let Some(app) = &filter.app {
                sql.push(" AND app = ").push_bind(app);
            }
            if let Some(branch) = &filter.branch {
                sql.push(" AND branch = ").push_bind(branch);
            }
            if let Some(result) = filter.result {
                sql.push(" AND result = ").push_bind(result.as_str());
            }
            if let Some(since) = filter.since {
                sql.push(" AND queued_at >= ").push_bind(timestamp(since));
            }
            if let Some(until) = filter.until {
                sql.push(" AND queued_at < ").push_bind(timestamp(until));
            }
            sql.push(" ORDER BY queued_at DESC, id DESC");
            match filter.limit {
                Some(limit) => sql.push(" LIMIT ").push_bind(i64::from(limit)),
                None => sql.push($no_limit),
            };
            sql.push(" OFFSET ").push_bind(i64::from(filter.offset));
            sql
        }
    };
}
pub(crate) use list_runs_query;
