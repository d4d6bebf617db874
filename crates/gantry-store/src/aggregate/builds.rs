//! Build numbers: the last one handed out per app (`build_numbers`), and which run holds each
//! (`run_builds`), so that numbers are unique and gap-free per app, also across processes.
//!
//! Schema: `migrations/*/0001_build_data.sql` and `0004_unique_builds.sql`.

use crate::aggregate::runs::NewRun;
use crate::db::{Db, Sql, Statements, Tx};
use crate::error::StoreError;
use crate::query::unsigned;

impl Db {
    /// The next build number of `app`, in one statement: atomic on both databases.
    pub(crate) async fn allocate_build(&self, app: &str) -> Result<u64, StoreError> {
        let (last,): (i64,) = self
            .connection()
            .await?
            .fetch_one(
                "allocate a build number",
                Sql::both(
                    "INSERT INTO build_numbers (app, last) VALUES ($1, 1)
                     ON CONFLICT (app) DO UPDATE SET last = build_numbers.last + 1
                     RETURNING last",
                ),
                &[app.into()],
            )
            .await?;
        unsigned(last, "build number")
    }
}

impl Tx {
    /// The last build number allocated for `app`; `None` when none was.
    pub(crate) async fn last_build(&mut self, app: &str) -> Result<Option<u64>, StoreError> {
        let last: Option<(i64,)> = self
            .fetch_optional(
                "read the last build number",
                Sql::both("SELECT last FROM build_numbers WHERE app = $1"),
                &[app.into()],
            )
            .await?;
        Ok(last.map(|(last,)| u64::try_from(last).unwrap_or(0)))
    }

    /// The run that holds `app`'s build number `build` (above 0), if any.
    pub(crate) async fn build_holder(&mut self, app: &str, build: u64) -> Result<Option<String>, StoreError> {
        let holder: Option<(String,)> = self
            .fetch_optional(
                "find the run with a build number",
                Sql::both("SELECT run_id FROM run_builds WHERE app = $1 AND build = $2"),
                &[app.into(), build.into()],
            )
            .await?;
        Ok(holder.map(|(run_id,)| run_id))
    }

    /// Gives the new run its build number (above 0); [`StoreError::BuildRefused`] when another
    /// run took that number meanwhile.
    pub(crate) async fn hold_build(&mut self, run: &NewRun<'_>) -> Result<(), StoreError> {
        let info = run.info;
        // A conflict waits for the run that took the number first, then leaves its row alone.
        let taken = self
            .execute(
                "record a run's build number",
                Sql::both(
                    "INSERT INTO run_builds (app, build, run_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                ),
                &[(&info.app).into(), info.build.into(), run.id.into()],
            )
            .await?;
        if taken == 1 {
            return Ok(());
        }
        let holder = self.build_holder(&info.app, info.build).await?;
        Err(build_taken(run, holder.as_deref().unwrap_or("another run")))
    }
}

/// The error for a build number another run holds.
pub(crate) fn build_taken(run: &NewRun<'_>, holder: &str) -> StoreError {
    StoreError::BuildRefused {
        run_id: run.id.to_owned(),
        app: run.info.app.clone(),
        build: run.info.build,
        reason: format!("run `{holder}` has that build number already"),
    }
}
