//! [`Store`]: the build data repository as the rest of Gantry sees it.
//!
//! It hands out build numbers, records run events (rows, logs, artifacts and CDEvents in one
//! transaction per batch), stores CDEvents from other tools, finds interrupted runs, and answers
//! queries. Which database is behind it is [`crate::db`]'s business; the SQL of each table is in
//! its aggregate ([`crate::aggregate`]).

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use gantry_model::{RunEvent, RunEventKind, RunId, RunResult};
use serde_json::Value;

use crate::aggregate::events::NewEvent;
use crate::aggregate::logs::LogRow;
use crate::aggregate::runs::RunRow;
use crate::artifact::{ArtifactError, ArtifactLocation, ArtifactStore};
use crate::db::{Db, Location};
use crate::error::StoreError;
use crate::notify::Recorded;
use crate::query::{
    AppSummary, ArtifactRecord, AttemptEnd, LogLine, RunDetail, RunFilter, RunLogLine, RunStatus, RunSummary,
    StageRecord, TaskRecord,
};
use crate::recorder;
use crate::recovery::{Liveness, Owner};
use crate::validation::validate_cdevent;

/// How many candidates an ambiguous run query lists.
const MAX_CANDIDATES: u32 = 10;

/// A handle on the build data repository; cheap to clone, safe to share between tasks.
#[derive(Debug, Clone)]
pub struct Store {
    db: Db,
    artifacts: ArtifactStore,
    /// Recorded as the owner of every run this handle queues.
    owner: Owner,
    /// This host's name, to judge which run owners can be checked from here.
    host: String,
    /// Tells followers what happened; shared by every clone.
    notices: std::sync::Arc<Notices>,
}

/// Who is told what: followers of runs, and agents waiting for work.
#[derive(Debug)]
struct Notices {
    /// Run events were recorded.
    recorded: Recorded,
    /// A job was queued.
    queued: Recorded,
}

/// How to open a store, beyond its url.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreOptions {
    /// Where artifacts are kept: a directory or an S3-compatible bucket. By default
    /// `artifacts/` beside a SQLite file; a PostgreSQL store has no file to put them beside,
    /// so it needs this.
    pub artifacts: Option<ArtifactLocation>,
}

impl Store {
    /// Opens the store at `url`: `sqlite://PATH`, `sqlite:PATH` or a bare path (the file and its
    /// directory are created on first use, artifacts go to `artifacts/` beside it), or
    /// `postgres://…` (which needs [`Store::open_with`] and an artifact location).
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with(url, &StoreOptions::default()).await
    }

    /// The SQLite file `url` names, so that a caller can tell whether that store exists before
    /// opening it (which would create it); `None` for PostgreSQL or a url that names no store.
    pub fn sqlite_file(url: &str) -> Option<PathBuf> {
        match Location::parse(url) {
            Ok(Location::Sqlite(path)) => Some(path),
            Ok(Location::Postgres(_)) | Err(_) => None,
        }
    }

    /// Opens the store at `url` with `options`; the schema is brought up to date either way, and
    /// the artifact store is opened (a bucket is checked) before the database.
    pub async fn open_with(url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        let location = Location::parse(url)?;
        match &location {
            Location::Sqlite(path) => {
                let dir = match path.parent() {
                    Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
                    _ => PathBuf::from("."),
                };
                std::fs::create_dir_all(&dir).map_err(|source| StoreError::CreateDir {
                    path: dir.clone(),
                    source,
                })?;
                let location_of_artifacts = options
                    .artifacts
                    .clone()
                    .unwrap_or_else(|| ArtifactLocation::Dir(dir.join("artifacts")));
                let artifacts = ArtifactStore::open(location_of_artifacts).await?;
                let db = Db::open(&location, url).await?;
                Ok(Self::new(db, artifacts))
            }
            Location::Postgres(postgres_url) => {
                let location_of_artifacts =
                    options
                        .artifacts
                        .clone()
                        .ok_or_else(|| StoreError::NoArtifactDir {
                            url: postgres_url.clone(),
                        })?;
                let artifacts = ArtifactStore::open(location_of_artifacts).await?;
                let db = Db::open(&location, url).await?;
                Ok(Self::new(db, artifacts))
            }
        }
    }

    fn new(db: Db, artifacts: ArtifactStore) -> Self {
        let owner = Owner::current();
        let host = owner.host.clone();
        Self {
            db,
            artifacts,
            owner,
            host,
            notices: std::sync::Arc::new(Notices {
                recorded: Recorded::on(crate::notify::CHANNEL),
                queued: Recorded::on(crate::notify::JOBS_CHANNEL),
            }),
        }
    }

    /// The same store, recording `owner` as the owner of the runs it queues from now on.
    #[must_use]
    pub fn with_owner(mut self, owner: Owner) -> Self {
        self.owner = owner;
        self
    }

    /// Closes the database connections; later calls fail.
    pub async fn close(&self) {
        self.db.close().await;
    }

    /// The next build number of `app`: 1 for its first, never the same twice, never a gap, even
    /// with many processes asking at once.
    pub async fn allocate_build(&self, app: &str) -> Result<u64, StoreError> {
        self.db.allocate_build(app).await
    }

    /// Records `events` in order, in one transaction: all or nothing.
    ///
    /// Recording an event again (same id) changes nothing. A run's events must come after its
    /// `run_queued`, in this batch or an earlier one. Artifacts are copied into the store first;
    /// a missing source or a digest that does not match fails the batch before anything is
    /// written.
    ///
    /// Recording a run's events is contact with its process: the run's last contact becomes now.
    pub async fn record(&self, events: &[RunEvent]) -> Result<(), StoreError> {
        self.record_heard(events, Some(Utc::now())).await
    }

    /// [`Store::record`], noting contact with the runs' processes at `heard_at` when given
    /// (events the store makes up itself, such as an interruption, are no contact).
    async fn record_heard(
        &self,
        events: &[RunEvent],
        heard_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        self.store_artifacts(events).await?;
        let mut tx = self.db.begin().await?;
        recorder::apply(&mut tx, events, Some(&self.owner), heard_at).await?;
        tx.commit().await?;
        self.tell_followers().await
    }

    /// Tells those who follow the store (here, and on PostgreSQL every listening replica) that
    /// run events were recorded.
    pub(crate) async fn tell_followers(&self) -> Result<(), StoreError> {
        self.db.notify_recorded(self.notices.recorded.channel()).await?;
        self.notices.recorded.notify();
        Ok(())
    }

    /// Tells agents waiting for work (here, and on PostgreSQL every listening replica's) that
    /// a job was queued.
    pub(crate) async fn tell_waiting_agents(&self) -> Result<(), StoreError> {
        self.db.notify_recorded(self.notices.queued.channel()).await?;
        self.notices.queued.notify();
        Ok(())
    }

    /// A receiver marked changed each time a job is queued (by this process, and once the
    /// store [listens](Store::listen) on PostgreSQL, by any): waiting agents try again.
    pub fn subscribe_queued(&self) -> tokio::sync::watch::Receiver<u64> {
        self.notices.queued.subscribe()
    }

    /// A receiver marked changed each time this store records run events (any clone of it, in
    /// this process) and, once it [listens](Store::listen), each time any process records into
    /// the same PostgreSQL database: live views wait on it instead of polling.
    pub fn subscribe_recorded(&self) -> tokio::sync::watch::Receiver<u64> {
        self.notices.recorded.subscribe()
    }

    /// Whether [`Store::subscribe_recorded`] hears the records of other processes too: on
    /// PostgreSQL once the store listens; never on SQLite, whose other writers send no word.
    pub fn hears_other_writers(&self) -> bool {
        self.notices.recorded.hears_everyone()
    }

    /// On PostgreSQL, starts hearing the records of every process on the database (`LISTEN`,
    /// on one of the pool's connections until the store closes); on SQLite, does nothing.
    pub async fn listen(&self) -> Result<(), StoreError> {
        self.db.listen(&self.notices.recorded).await?;
        self.db.listen(&self.notices.queued).await
    }

    /// Records that the process running `run_id` was heard from at `at` (a heartbeat; recorded
    /// events count by themselves). Returns the run's status, `None` for an unknown run.
    pub async fn record_contact(
        &self,
        run_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<RunStatus>, StoreError> {
        let result = self.db.record_contact(run_id, at).await?;
        result
            .map(|text| {
                RunStatus::parse(&text).ok_or_else(|| StoreError::Corrupt {
                    what: "run result",
                    reason: format!("`{text}` is not a run result"),
                })
            })
            .transpose()
    }

    /// Stores each packaged artifact from the file its event names, unless its digest is stored
    /// already (as it is for uploads to a server: the event then names the stored copy).
    pub(crate) async fn store_artifacts(&self, events: &[RunEvent]) -> Result<(), StoreError> {
        for event in events {
            if let RunEventKind::ArtifactPackaged { source, sha256, .. } = &event.kind {
                let path = PathBuf::from(source);
                self.artifacts
                    .put_file(&path, sha256)
                    .await
                    .map_err(|error| match error {
                        ArtifactError::DigestMismatch { expected, actual } => StoreError::DigestMismatch {
                            path,
                            expected,
                            actual,
                        },
                        other => StoreError::Artifact(other),
                    })?;
            }
        }
        Ok(())
    }

    /// Stores CDEvents from other tools, given as their JSON text, each validated against its
    /// CDEvents 0.5.1 schema, all in one transaction or none. The text is stored as it came. An
    /// event whose `context.id` is stored already is left as it is. Returns how many were new.
    pub async fn record_cdevents<S: AsRef<str>>(&self, events: &[S]) -> Result<usize, StoreError> {
        let invalid = |index, field: &str, reason: String| StoreError::InvalidCdEvent {
            index,
            source: crate::validation::CdEventError {
                field: field.into(),
                reason,
            },
        };
        let mut parsed = Vec::with_capacity(events.len());
        for (index, text) in events.iter().enumerate() {
            let text = text.as_ref();
            let event: Value = serde_json::from_str(text)
                .map_err(|err| invalid(index, "/", format!("is not JSON: {err}")))?;
            validate_cdevent(&event).map_err(|source| StoreError::InvalidCdEvent { index, source })?;
            let field = |pointer: &str| event.pointer(pointer).and_then(Value::as_str).map(str::to_owned);
            let timestamp = field("/context/timestamp")
                .and_then(|time| DateTime::parse_from_rfc3339(&time).ok())
                .map(|time| time.with_timezone(&Utc))
                .ok_or_else(|| invalid(index, "/context/timestamp", "is not an RFC 3339 time".into()))?;
            // The schema requires id and type, so both are there once validated.
            parsed.push((
                field("/context/id").unwrap_or_default(),
                field("/context/chainId"),
                field("/context/type").unwrap_or_default(),
                timestamp,
                text,
            ));
        }
        let rows: Vec<NewEvent<'_>> = parsed
            .iter()
            .map(|(id, chain_id, kind, timestamp, json)| NewEvent {
                id,
                chain_id: chain_id.as_deref(),
                kind: kind.clone(),
                timestamp: *timestamp,
                json: (*json).to_owned(),
            })
            .collect();
        if rows.is_empty() {
            return Ok(0);
        }
        let mut tx = self.db.begin().await?;
        let stored = tx.insert_events(&rows).await?;
        tx.commit().await?;
        Ok(usize::try_from(stored).unwrap_or(usize::MAX))
    }

    /// Finds runs still `running` whose owning process on this host is gone (it crashed or was
    /// killed) and records them `interrupted`, with their unfinished tasks; returns their ids.
    ///
    /// Runs owned by live processes or by other hosts are left alone. Call it on every start.
    pub async fn recover_interrupted(&self) -> Result<Vec<String>, StoreError> {
        let running = self.db.running_runs().await?;
        let mut recovered = Vec::new();
        for row in running {
            let Some(owner) = row.owner() else { continue };
            if owner.liveness(&self.host) != Liveness::Gone {
                continue;
            }
            let event = RunEvent {
                id: uuid::Uuid::now_v7().to_string(),
                run_id: RunId(row.id.clone()),
                at: Utc::now(),
                kind: RunEventKind::RunFinished {
                    result: RunResult::Interrupted,
                },
            };
            self.record_heard(std::slice::from_ref(&event), None).await?;
            recovered.push(row.id);
        }
        Ok(recovered)
    }

    /// Runs matching `filter`, newest first.
    pub async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<RunSummary>, StoreError> {
        let rows = self.db.list_runs(filter).await?;
        rows.iter().map(RunRow::summary).collect()
    }

    /// The run named by `query`: a run id, a unique prefix of one, or `APP#BUILD`.
    ///
    /// `Ok(None)` when nothing matches; an error listing candidates when several do.
    pub async fn find_run(&self, query: &str) -> Result<Option<RunDetail>, StoreError> {
        let Some(row) = self.resolve_run(query).await? else {
            return Ok(None);
        };
        let id = row.id.as_str();
        let (pipeline, stages, tasks, artifacts) = (
            self.db.pipeline(id).await?,
            self.db.stages(id).await?,
            self.db.tasks(id).await?,
            self.db.artifacts(id).await?,
        );
        let artifacts = artifacts
            .into_iter()
            .map(|artifact| {
                Ok(ArtifactRecord {
                    path: self.artifacts.stored_at(&artifact.sha256)?,
                    size: crate::query::unsigned(artifact.size, "artifact size")?,
                    task_path: artifact.task_path,
                    name: artifact.name,
                    sha256: artifact.sha256,
                    recorded_at: artifact.at,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Some(RunDetail {
            summary: row.summary()?,
            owner: row.owner(),
            runner: row.runner(),
            last_contact_at: row.last_contact_at,
            pipeline,
            stages: stages
                .into_iter()
                .map(StageRecord::try_from)
                .collect::<Result<_, _>>()?,
            tasks: tasks
                .into_iter()
                .map(TaskRecord::try_from)
                .collect::<Result<_, _>>()?,
            artifacts,
        }))
    }

    async fn resolve_run(&self, query: &str) -> Result<Option<RunRow>, StoreError> {
        let query = query.trim();
        if query.is_empty() {
            return Ok(None);
        }
        if let Some((app, build)) = query.rsplit_once('#')
            && let Ok(build) = build.parse::<u64>()
        {
            let mut rows = self.db.runs_by_build(app, build).await?;
            // A job's lost attempts keep its number in their rows; the number names the
            // attempt that holds it.
            if rows.len() > 1 {
                rows.retain(|row| row.result != RunStatus::AgentLost.as_str());
            }
            return one_of(query, rows);
        }
        if let Some(row) = self.db.run(query).await? {
            return Ok(Some(row));
        }
        let rows = self.db.runs_by_prefix(query, MAX_CANDIDATES).await?;
        one_of(query, rows)
    }

    /// Up to `limit` lines of a task's log after line `after_seq` (0: from the start).
    pub async fn task_log(
        &self,
        run_id: &str,
        path: &str,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<LogLine>, StoreError> {
        let rows = self.db.task_log(run_id, path, after_seq, limit).await?;
        rows.into_iter()
            .map(|row| Ok(row.into_run_line()?.line))
            .collect()
    }

    /// Every log line of a run, task by task in the order they started.
    pub async fn run_log(&self, run_id: &str) -> Result<Vec<RunLogLine>, StoreError> {
        let rows = self.db.run_log(run_id).await?;
        rows.into_iter().map(LogRow::into_run_line).collect()
    }

    /// The CDEvents of a chain (for Gantry's runs, the run id), in time order.
    pub async fn events_for_chain(&self, chain_id: &str) -> Result<Vec<Value>, StoreError> {
        let texts = self.db.events_for_chain(chain_id).await?;
        texts
            .iter()
            .map(|text| {
                serde_json::from_str(text).map_err(|err| StoreError::Corrupt {
                    what: "event",
                    reason: err.to_string(),
                })
            })
            .collect()
    }

    /// How each attempt of a run's task ended, in order, read from its `taskrun.finished`
    /// CDEvents (which carry the attempt and its exit code): what separates the attempts of a
    /// retried task's log.
    pub async fn task_attempts(&self, run_id: &str, path: &str) -> Result<Vec<AttemptEnd>, StoreError> {
        let texts = self
            .db
            .events_for_chain_of_type(run_id, crate::cdevent::TASK_RUN_FINISHED)
            .await?;
        let mut attempts = Vec::new();
        for text in &texts {
            let event: Value = serde_json::from_str(text).map_err(|err| StoreError::Corrupt {
                what: "event",
                reason: err.to_string(),
            })?;
            let custom = &event["customData"];
            if custom["path"].as_str() != Some(path) {
                continue;
            }
            // A skipped task's event has no attempt.
            let Some(attempt) = custom["attempt"].as_u64().and_then(|n| u32::try_from(n).ok()) else {
                continue;
            };
            let outcome =
                serde_json::from_value(custom["outcome"].clone()).map_err(|err| StoreError::Corrupt {
                    what: "task outcome",
                    reason: err.to_string(),
                })?;
            attempts.push(AttemptEnd {
                attempt,
                outcome,
                exit_code: custom["exitCode"]
                    .as_i64()
                    .and_then(|code| i32::try_from(code).ok()),
            });
        }
        attempts.sort_by_key(|end| end.attempt);
        attempts.dedup_by_key(|end| end.attempt);
        Ok(attempts)
    }

    /// Every app that has runs, by name, with its newest run.
    pub async fn apps(&self) -> Result<Vec<AppSummary>, StoreError> {
        let rows = self.db.apps().await?;
        rows.into_iter()
            .map(|row| {
                Ok(AppSummary {
                    name: row.run.app.clone(),
                    runs: crate::query::unsigned(row.total, "run count")?,
                    last_run: row.run.summary()?,
                })
            })
            .collect()
    }

    /// Where artifacts are kept: uploads, downloads and sizes go through it.
    pub fn artifacts(&self) -> &ArtifactStore {
        &self.artifacts
    }

    /// The open database, for the modules that add operations of their own (`token`).
    pub(crate) fn db(&self) -> &Db {
        &self.db
    }
}

/// The only row, `None` for none, an error listing them for several.
fn one_of(query: &str, mut rows: Vec<RunRow>) -> Result<Option<RunRow>, StoreError> {
    match rows.len() {
        0 => Ok(None),
        1 => Ok(rows.pop()),
        _ => Err(StoreError::AmbiguousRun {
            query: query.to_owned(),
            candidates: rows.into_iter().map(|row| row.id).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compiles only if every future is `Send`: the server spawns store calls on a
    /// multi-threaded runtime.
    #[allow(dead_code)]
    fn futures_are_send(store: &Store) {
        fn send<T: Send>(_: T) {}
        send(Store::open(""));
        send(store.allocate_build(""));
        send(store.record(&[]));
        send(store.record_cdevents::<&str>(&[]));
        send(store.recover_interrupted());
        send(store.record_contact("", Utc::now()));
        send(store.interrupt_expired_runs(Utc::now()));
        send(store.record_held("", &[], "", None, chrono::Duration::zero(), Utc::now()));
        send(store.acquire_lease("", "", chrono::Duration::zero(), Utc::now()));
        send(store.list_runs(&RunFilter::default()));
        send(store.find_run(""));
        send(store.task_log("", "", 0, 0));
        send(store.run_log(""));
        send(store.events_for_chain(""));
        send(store.apps());
        send(store.close());
    }
}
