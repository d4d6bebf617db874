//! Runs: the `runs` table, one row per run, created by its `run_queued` event and finished by
//! its `run_finished`; the listings behind `history`, the API and the UI; the contact with a
//! run's process, and the lease of runs reported to a server.
//!
//! Schema: `migrations/*/0001_build_data.sql` and the later `runs` columns (0003, 0006, 0007).

use chrono::{DateTime, Utc};
use gantry_model::Selection;

use crate::cdevent::RunContext;
use crate::db::{Arg, Db, Sql, Statement, Statements, Tx};
use crate::error::StoreError;
use crate::query::{RunFilter, RunStatus, RunSummary, corrupt, duration_ms, unsigned};
use crate::recovery::Owner;

/// A `runs` row to insert, from a `run_queued` event.
#[derive(Debug)]
pub(crate) struct NewRun<'a> {
    pub id: &'a str,
    pub info: &'a gantry_model::event::RunInfo,
    pub pipeline_json: &'a str,
    pub queued_at: DateTime<Utc>,
    /// `None` for a run that holds a lease instead ([`crate::lease`]).
    pub owner: Option<&'a Owner>,
}

/// A `runs` row as both databases read it.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct RunRow {
    pub id: String,
    pub app: String,
    pub version: String,
    pub build: i64,
    pub revision: Option<String>,
    pub branch: Option<String>,
    pub traceable: bool,
    pub untraceable_reason: Option<String>,
    pub mock: bool,
    pub result: String,
    pub queued_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub owner_host: Option<String>,
    pub owner_pid: Option<i64>,
    pub owner_start_time: Option<i64>,
    pub last_contact_at: Option<DateTime<Utc>>,
    pub selection: Option<String>,
    pub runner_host: Option<String>,
    pub runner_pid: Option<i64>,
}

/// The columns of [`RunRow`], for `SELECT` lists built with `concat!`.
macro_rules! run_columns {
    () => {
        "id, app, version, build, revision, branch, traceable, untraceable_reason, mock, result, \
         queued_at, started_at, finished_at, owner_host, owner_pid, owner_start_time, last_contact_at, \
         selection, runner_host, runner_pid"
    };
}

/// What a run's CDEvents say of it ([`RunContext`]), as stored.
#[derive(Debug, sqlx::FromRow)]
struct ContextRow {
    app: String,
    version: String,
    build: i64,
    revision: Option<String>,
    branch: Option<String>,
}

/// The newest run of an app and its number of runs, for [`crate::Store::apps`].
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AppRow {
    #[sqlx(flatten)]
    pub run: RunRow,
    pub total: i64,
}

/// Every app with its newest run and its number of runs: the counts come from an index
/// (`runs_by_build`), the newest run is one probe of `runs_by_app` per app, so the time grows
/// with the number of apps, not of runs.
const APPS_QUERY: &str = concat!(
    "SELECT ",
    run_columns!(),
    ", total
     FROM (SELECT app AS counted_app, COUNT(*) AS total FROM runs GROUP BY app) AS counts
     JOIN runs ON runs.id = (
         SELECT newest.id FROM runs AS newest WHERE newest.app = counts.counted_app
         ORDER BY newest.queued_at DESC, newest.id DESC LIMIT 1
     )
     ORDER BY app"
);

impl Db {
    pub(crate) async fn run(&self, id: &str) -> Result<Option<RunRow>, StoreError> {
        self.connection()
            .await?
            .fetch_optional(
                "read a run",
                Sql::both(concat!("SELECT ", run_columns!(), " FROM runs WHERE id = $1")),
                &[id.into()],
            )
            .await
    }

    pub(crate) async fn runs_by_build(&self, app: &str, build: u64) -> Result<Vec<RunRow>, StoreError> {
        self.connection()
            .await?
            .fetch_all(
                "find runs by build number",
                Sql::both(concat!(
                    "SELECT ",
                    run_columns!(),
                    " FROM runs WHERE app = $1 AND build = $2 ORDER BY queued_at DESC, id DESC LIMIT 10"
                )),
                &[app.into(), build.into()],
            )
            .await
    }

    /// Up to `limit` runs whose id starts with `prefix`, in id order.
    pub(crate) async fn runs_by_prefix(&self, prefix: &str, limit: u32) -> Result<Vec<RunRow>, StoreError> {
        // A range in byte order, which the primary key is in on SQLite, and the "C" collation
        // (indexed by `runs_by_id_prefix`) on PostgreSQL: no id character sorts after U+10FFFF.
        let end = format!("{prefix}\u{10FFFF}");
        self.connection()
            .await?
            .fetch_all(
                "find runs by id prefix",
                Sql::each(
                    concat!(
                        "SELECT ",
                        run_columns!(),
                        " FROM runs WHERE id >= $1 AND id < $2 ORDER BY id LIMIT $3"
                    ),
                    concat!(
                        "SELECT ",
                        run_columns!(),
                        " FROM runs WHERE id COLLATE \"C\" >= $1 AND id COLLATE \"C\" < $2 ORDER BY id COLLATE \"C\" LIMIT $3"
                    ),
                ),
                &[prefix.into(), Arg::from(&end), limit.into()],
            )
            .await
    }

    pub(crate) async fn running_runs(&self) -> Result<Vec<RunRow>, StoreError> {
        self.connection()
            .await?
            .fetch_all(
                "list running runs",
                Sql::both(concat!(
                    "SELECT ",
                    run_columns!(),
                    " FROM runs WHERE result = 'running'"
                )),
                &[],
            )
            .await
    }

    pub(crate) async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<RunRow>, StoreError> {
        let query = list_runs_query(filter);
        self.connection()
            .await?
            .fetch_all("list runs", query.sql(), &query.args)
            .await
    }

    pub(crate) async fn apps(&self) -> Result<Vec<AppRow>, StoreError> {
        self.connection()
            .await?
            .fetch_all("list apps", Sql::both(APPS_QUERY), &[])
            .await
    }

    /// Notes a contact with the run's process (a finished run has none); the run's result,
    /// `None` for an unknown run.
    pub(crate) async fn record_contact(
        &self,
        run_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let result: Option<(String,)> = self
            .connection()
            .await?
            .fetch_optional(
                "record a contact with a run's process",
                Sql::both(
                    "UPDATE runs SET last_contact_at = CASE WHEN result <> 'running' OR last_contact_at > $2
                         THEN last_contact_at ELSE $2 END
                     WHERE id = $1 RETURNING result",
                ),
                &[run_id.into(), at.into()],
            )
            .await?;
        Ok(result.map(|(result,)| result))
    }

    /// The resolved pipeline definition the run ran.
    pub(crate) async fn pipeline(&self, run_id: &str) -> Result<serde_json::Value, StoreError> {
        let (text,): (String,) = self
            .connection()
            .await?
            .fetch_one(
                "read a run's pipeline definition",
                Sql::both("SELECT CAST(pipeline AS TEXT) FROM runs WHERE id = $1"),
                &[run_id.into()],
            )
            .await?;
        serde_json::from_str(&text).map_err(|err| corrupt("pipeline definition", err.to_string()))
    }
}

/// The `SELECT` of [`Db::list_runs`]. Filters on the queued time, which `runs_by_time`,
/// `runs_by_app` and `runs_by_branch` index.
pub(crate) fn list_runs_query(filter: &RunFilter) -> Statement<'_> {
    let mut query = Statement::new(concat!("SELECT ", run_columns!(), " FROM runs WHERE TRUE"));
    if let Some(app) = &filter.app {
        query.push(" AND app = ").bind(app);
    }
    if let Some(branch) = &filter.branch {
        query.push(" AND branch = ").bind(branch);
    }
    if let Some(result) = filter.result {
        query.push(" AND result = ").bind(result.as_str());
    }
    if let Some(since) = filter.since {
        query.push(" AND queued_at >= ").bind(since);
    }
    if let Some(until) = filter.until {
        query.push(" AND queued_at < ").bind(until);
    }
    // SQLite wants a limit before an offset; the largest one stands for none on both.
    query
        .push(" ORDER BY queued_at DESC, id DESC LIMIT ")
        .bind(filter.limit.map_or(i64::MAX, i64::from))
        .push(" OFFSET ")
        .bind(filter.offset);
    query
}

impl Tx {
    /// What the CDEvents of a run's events say about it; `None` for an unknown run.
    pub(crate) async fn run_context(&mut self, run_id: &str) -> Result<Option<RunContext>, StoreError> {
        let row: Option<ContextRow> = self
            .fetch_optional(
                "read a run",
                Sql::both("SELECT app, version, build, revision, branch FROM runs WHERE id = $1"),
                &[run_id.into()],
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(RunContext {
            build: unsigned(row.build, "build number")?,
            app: row.app,
            version: row.version,
            revision: row.revision,
            branch: row.branch,
        }))
    }

    /// Inserts the run unless it exists, and gives it its build number (above 0);
    /// [`StoreError::BuildRefused`] when another run took that number meanwhile.
    pub(crate) async fn insert_run(&mut self, run: &NewRun<'_>) -> Result<(), StoreError> {
        let info = run.info;
        let selection = selection_text(&info.selection);
        let inserted = self
            .execute(
                "record a queued run",
                Sql::both(
                    "INSERT INTO runs (id, app, version, build, revision, branch, traceable, untraceable_reason, mock,
                                       pipeline, result, queued_at, owner_host, owner_pid, owner_start_time, selection,
                                       runner_host, runner_pid)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'running', $11, $12, $13, $14, $15, $16, $17)
                     ON CONFLICT (id) DO NOTHING",
                ),
                &[
                    run.id.into(),
                    (&info.app).into(),
                    (&info.version).into(),
                    info.build.into(),
                    (&info.revision).into(),
                    (&info.branch).into(),
                    info.traceable.into(),
                    (&info.untraceable_reason).into(),
                    info.mock.into(),
                    Arg::Json(run.pipeline_json),
                    run.queued_at.into(),
                    run.owner.map(|owner| owner.host.as_str()).into(),
                    run.owner.map(|owner| owner.pid).map(i64::from).into(),
                    run.owner
                        .and_then(|owner| owner.start_time)
                        .and_then(|time| i64::try_from(time).ok())
                        .into(),
                    selection.as_deref().into(),
                    info.runner.as_ref().map(|runner| runner.host.as_str()).into(),
                    info.runner.as_ref().map(|runner| i64::from(runner.pid)).into(),
                ],
            )
            .await?;
        if inserted == 0 || info.build == 0 {
            return Ok(());
        }
        self.hold_build(run).await
    }

    pub(crate) async fn start_run(&mut self, run_id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.execute(
            "record a run's start",
            Sql::both("UPDATE runs SET started_at = COALESCE(started_at, $2) WHERE id = $1"),
            &[run_id.into(), at.into()],
        )
        .await?;
        Ok(())
    }

    /// Sets the result of a run still `running`, and marks its unfinished stages and tasks
    /// `interrupted`; `false` (and no change) when the run had already finished.
    pub(crate) async fn finish_run(
        &mut self,
        run_id: &str,
        result: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = self
            .execute(
                "record a run's result",
                Sql::both(
                    "UPDATE runs SET result = $2, finished_at = $3 WHERE id = $1 AND result = 'running'",
                ),
                &[run_id.into(), result.into(), at.into()],
            )
            .await?;
        if done == 0 {
            return Ok(false);
        }
        self.close_stages_and_tasks(run_id, result, at).await?;
        Ok(true)
    }

    /// Notes that the run's process was heard from at `at` (a later time is kept).
    pub(crate) async fn touch_run(&mut self, run_id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.execute(
            "record a contact with a run's process",
            Sql::both(
                "UPDATE runs SET last_contact_at = CASE WHEN last_contact_at > $2 THEN last_contact_at ELSE $2 END
                 WHERE id = $1 AND result = 'running'",
            ),
            &[run_id.into(), at.into()],
        )
        .await?;
        Ok(())
    }

    /// Whether the run is still `running`, holding its row until the transaction ends so that
    /// no other finish slips in between.
    pub(crate) async fn hold_if_running(&mut self, run_id: &str) -> Result<bool, StoreError> {
        let running: Option<(i32,)> = self
            .fetch_optional(
                "check a running run",
                Sql::each(
                    "SELECT 1 FROM runs WHERE id = $1 AND result = 'running'",
                    "SELECT 1 FROM runs WHERE id = $1 AND result = 'running' FOR UPDATE",
                ),
                &[run_id.into()],
            )
            .await?;
        Ok(running.is_some())
    }
}

/// How a run's selection is stored: `NULL` for a whole run, else its JSON.
fn selection_text(selection: &Selection) -> Option<String> {
    (!selection.is_all()).then(|| serde_json::to_string(selection).unwrap_or_default())
}

impl RunRow {
    pub(crate) fn summary(&self) -> Result<RunSummary, StoreError> {
        Ok(RunSummary {
            id: self.id.clone(),
            app: self.app.clone(),
            version: self.version.clone(),
            build: unsigned(self.build, "build number")?,
            revision: self.revision.clone(),
            branch: self.branch.clone(),
            traceable: self.traceable,
            untraceable_reason: self.untraceable_reason.clone(),
            result: RunStatus::parse(&self.result)
                .ok_or_else(|| corrupt("run result", format!("`{}` is not a run result", self.result)))?,
            mock: self.mock,
            queued_at: self.queued_at,
            started_at: self.started_at,
            finished_at: self.finished_at,
            duration_ms: duration_ms(self.started_at.or(Some(self.queued_at)), self.finished_at),
            selection: match &self.selection {
                None => Selection::All,
                Some(text) => serde_json::from_str(text)
                    .map_err(|err| corrupt("run selection", format!("`{text}`: {err}")))?,
            },
        })
    }

    pub(crate) fn runner(&self) -> Option<gantry_model::Runner> {
        Some(gantry_model::Runner {
            host: self.runner_host.clone()?,
            pid: u32::try_from(self.runner_pid?).ok()?,
        })
    }

    pub(crate) fn owner(&self) -> Option<Owner> {
        Some(Owner {
            host: self.owner_host.clone()?,
            pid: u32::try_from(self.owner_pid?).ok()?,
            start_time: self.owner_start_time.and_then(|time| u64::try_from(time).ok()),
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::db::Location;

    #[derive(sqlx::FromRow)]
    struct PlanStep {
        detail: String,
    }

    async fn sqlite(dir: &tempfile::TempDir) -> Db {
        let location = Location::Sqlite(dir.path().join("gantry.db"));
        Db::open(&location, "sqlite://gantry.db").await.unwrap()
    }

    /// What SQLite does for a statement: the `detail` of each step of its query plan.
    async fn plan_of(db: &Db, sql: &str, args: &[Arg<'_>]) -> Vec<String> {
        let explain = format!("EXPLAIN QUERY PLAN {sql}");
        let steps: Vec<PlanStep> = db
            .connection()
            .await
            .unwrap()
            .fetch_all("explain", Sql::both(&explain), args)
            .await
            .unwrap();
        steps.into_iter().map(|step| step.detail).collect()
    }

    /// What SQLite does for a listing.
    async fn plan(db: &Db, filter: &RunFilter) -> Vec<String> {
        let query = list_runs_query(filter);
        plan_of(db, &query.text, &query.args).await
    }

    /// That the plan reads `runs` through a search of `index`.
    fn assert_searches(plan: &[String], index: &str, filter: &RunFilter) {
        assert!(
            plan.iter()
                .any(|step| step.starts_with("SEARCH runs USING INDEX") && step.contains(index)),
            "{filter:?}: {plan:?}"
        );
    }

    #[tokio::test]
    async fn time_windows_are_searched_by_index() {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite(&dir).await;
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
        let db = sqlite(&dir).await;
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

        let plan = plan_of(&db, APPS_QUERY, &[]).await;
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
