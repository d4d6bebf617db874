//! What each [`RunEvent`] changes in the store, applied in a write transaction ([`Tx`]) through
//! the aggregates' statements.
//!
//! Every state change is applied at most once (its id is claimed first) and stored as its
//! CDEvent as well; task output appends its lines to the task's log, also at most once per
//! event id, numbered after the task's last line. A
//! run's first event must be its `run_queued`: any other event of a run the store does not know
//! fails the whole batch.
//!
//! State changes are applied one by one, in order; log lines and CDEvents, the bulk of a batch,
//! are gathered and written at the end with a few multi-row inserts, in the order they came.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use gantry_model::{RunEvent, RunEventKind, TaskPath};

use crate::aggregate::artifacts::NewArtifact;
use crate::aggregate::builds::build_taken;
use crate::aggregate::events::NewEvent;
use crate::aggregate::logs::{NewLogLine, stream_name};
use crate::aggregate::runs::NewRun;
use crate::aggregate::tasks::TaskEnd;
use crate::cdevent::{self, RunContext, stage_of};
use crate::db::Tx;
use crate::error::StoreError;
use crate::query::TaskStatus;
use crate::recovery::Owner;

/// Applies `events` in order inside `tx`, and notes that each of their runs was heard from at
/// `heard_at` (when the events come from the runs' processes); the caller commits.
pub(crate) async fn apply(
    tx: &mut Tx,
    events: &[RunEvent],
    owner: Option<&Owner>,
    heard_at: Option<DateTime<Utc>>,
) -> Result<(), StoreError> {
    let mut recorder = Recorder {
        tx,
        owner,
        heard_at,
        runs: HashMap::new(),
        tasks: HashMap::new(),
        attempts: HashMap::new(),
        lines: Vec::new(),
        last_seq: HashMap::new(),
        cdevents: Vec::new(),
    };
    for event in events {
        recorder.apply(event).await?;
    }
    recorder.tx.append_logs(&recorder.lines).await?;
    recorder.tx.insert_events(&recorder.cdevents).await?;
    Ok(())
}

struct Recorder<'t, 'e> {
    tx: &'t mut Tx,
    /// The process running the runs queued in this batch; `None` for runs that hold a lease
    /// instead (reported to a server).
    owner: Option<&'t Owner>,
    /// When the runs of this batch were heard from; `None` when they were not.
    heard_at: Option<DateTime<Utc>>,
    /// Runs seen in this batch, so that each is read from the database once.
    runs: HashMap<String, RunContext>,
    /// Task row ids by (run, path), so that log lines do not look their task up each time.
    tasks: HashMap<(String, String), i64>,
    /// The attempt each task is at, by (run, path), so that each log line records the attempt
    /// that wrote it: set by a `task_started` of this batch, else read with the task's id.
    attempts: HashMap<(String, String), u32>,
    /// The batch's log lines, numbered, to append at its end.
    lines: Vec<NewLogLine<'e>>,
    /// The number of each task's last line so far (by task row id), read once a batch.
    last_seq: HashMap<i64, i64>,
    /// The batch's CDEvents, to store at its end.
    cdevents: Vec<NewEvent<'e>>,
}

impl<'e> Recorder<'_, 'e> {
    async fn apply(&mut self, event: &'e RunEvent) -> Result<(), StoreError> {
        let run_id = event.run_id.0.as_str();
        if let RunEventKind::TaskOutput { path, stream, lines } = &event.kind {
            // A batch of lines is claimed like a state change: sent again, it appends nothing,
            // so a task's lines stay numbered 1, 2, 3, ... however batches repeat.
            self.known(run_id).await?;
            let (task_id, attempt) = self.task_id(run_id, path).await?;
            if !self.tx.claim(&event.id, run_id, "task_output", event.at).await? {
                return Ok(());
            }
            let mut seq = match self.last_seq.get(&task_id) {
                Some(seq) => *seq,
                None => self.tx.last_log_seq(task_id).await?,
            };
            let stream = stream_name(*stream);
            for (index, line) in lines.iter().enumerate() {
                seq += 1;
                self.lines.push(NewLogLine {
                    task_id,
                    seq,
                    event_id: format!("{}:{index}", event.id),
                    stream,
                    line,
                    at: event.at,
                    attempt,
                });
            }
            self.last_seq.insert(task_id, seq);
            return Ok(());
        }

        let context = match &event.kind {
            RunEventKind::RunQueued(info) => RunContext::from(info.as_ref()),
            _ => self.context(run_id).await?,
        };
        if !self
            .tx
            .claim(&event.id, run_id, kind_name(&event.kind), event.at)
            .await?
        {
            return Ok(());
        }
        let at = event.at;
        match &event.kind {
            RunEventKind::RunQueued(info) => {
                let pipeline_json =
                    serde_json::to_string(&info.pipeline).map_err(|err| StoreError::Corrupt {
                        what: "pipeline definition",
                        reason: err.to_string(),
                    })?;
                let run = NewRun {
                    id: run_id,
                    info,
                    pipeline_json: &pipeline_json,
                    queued_at: at,
                    owner: self.owner,
                };
                if info.mock {
                    return Err(StoreError::MockRun {
                        run_id: run_id.to_owned(),
                        app: info.app.clone(),
                    });
                }
                self.check_build(&run).await?;
                self.tx.insert_run(&run).await?;
                if let Some(heard_at) = self.heard_at {
                    self.tx.touch_run(run_id, heard_at).await?;
                }
                self.runs.insert(run_id.to_owned(), context.clone());
            }
            RunEventKind::RunStarted => self.tx.start_run(run_id, at).await?,
            RunEventKind::RunFinished { result } => {
                // A run finishes once; a later finish (say, recovery racing the owner) is dropped
                // whole, CDEvent included, so that events and tables agree.
                if !self.tx.finish_run(run_id, result.as_str(), at).await? {
                    return Ok(());
                }
            }
            RunEventKind::StageStarted { stage } => self.tx.start_stage(run_id, stage, at).await?,
            RunEventKind::StageFinished { stage, outcome } => {
                self.tx
                    .finish_stage(run_id, stage, TaskStatus::from(*outcome).as_str(), at)
                    .await?;
            }
            RunEventKind::TaskStarted { path, attempt } => {
                let stage = stage_of(path);
                self.tx
                    .ensure_stage(run_id, stage, TaskStatus::Running.as_str())
                    .await?;
                let id = self
                    .tx
                    .start_task(run_id, path.as_str(), stage, *attempt, at)
                    .await?;
                self.tasks.insert((run_id.to_owned(), path.0.clone()), id);
                self.attempts
                    .insert((run_id.to_owned(), path.0.clone()), *attempt);
            }
            RunEventKind::TaskFinished {
                path,
                attempt,
                outcome,
                exit_code,
                will_retry,
                allowed_failure,
            } => {
                let stage = stage_of(path);
                self.tx
                    .ensure_stage(run_id, stage, TaskStatus::Running.as_str())
                    .await?;
                let status = if *will_retry {
                    TaskStatus::Running
                } else {
                    TaskStatus::from(*outcome)
                };
                let end = TaskEnd {
                    attempt: *attempt,
                    status: status.as_str(),
                    exit_code: *exit_code,
                    allowed_failure: *allowed_failure,
                    finished_at: (!will_retry).then_some(at),
                };
                let id = self.tx.finish_task(run_id, path.as_str(), stage, &end).await?;
                self.tasks.insert((run_id.to_owned(), path.0.clone()), id);
            }
            RunEventKind::TaskSkipped { path, reason } => {
                let stage = stage_of(path);
                self.tx
                    .ensure_stage(run_id, stage, TaskStatus::Skipped.as_str())
                    .await?;
                let id = self
                    .tx
                    .skip_task(run_id, path.as_str(), stage, reason, at)
                    .await?;
                self.tasks.insert((run_id.to_owned(), path.0.clone()), id);
            }
            RunEventKind::ArtifactPackaged {
                path,
                name,
                size,
                sha256,
                ..
            } => {
                let sha256 = sha256.to_ascii_lowercase();
                self.tx
                    .insert_artifact(&NewArtifact {
                        run_id,
                        task_path: path.as_str(),
                        name,
                        size: *size,
                        sha256: &sha256,
                        at,
                    })
                    .await?;
            }
            RunEventKind::TaskOutput { .. } => {}
        }
        if let Some(json) = cdevent::to_cdevent(event, &context) {
            let kind = json
                .pointer("/context/type")
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_owned();
            self.cdevents.push(NewEvent {
                id: &event.id,
                chain_id: Some(run_id),
                kind,
                timestamp: at,
                json: json.to_string(),
            });
        }
        Ok(())
    }

    /// Refuses a build number the store never allocated for the run's app, or one another run
    /// of the app has: numbers are never reused, so `app#build` names one run.
    async fn check_build(&mut self, run: &NewRun<'_>) -> Result<(), StoreError> {
        let (app, build) = (run.info.app.as_str(), run.info.build);
        let refuse = |reason: String| StoreError::BuildRefused {
            run_id: run.id.to_owned(),
            app: app.to_owned(),
            build,
            reason,
        };
        // Numbers start at 1; 0 is a mock run's, and mock runs are never recorded.
        if build == 0 {
            return Err(refuse("build numbers start at 1".to_owned()));
        }
        match self.tx.last_build(app).await? {
            None => {
                return Err(refuse(format!("no build number was allocated for `{app}` yet")));
            }
            Some(last) if build > last => {
                return Err(refuse(format!(
                    "that number was never allocated (the last one allocated for `{app}` is {last})"
                )));
            }
            Some(_) => {}
        }
        match self.tx.build_holder(app, build).await? {
            Some(holder) if holder != run.id => Err(build_taken(run, &holder)),
            _ => Ok(()),
        }
    }

    /// Refuses a run the store does not know, like [`Recorder::context`], without copying
    /// its context.
    async fn known(&mut self, run_id: &str) -> Result<(), StoreError> {
        if !self.runs.contains_key(run_id) {
            self.context(run_id).await?;
        }
        Ok(())
    }

    /// The run's context, from this batch or the database; an unknown run is an error.
    async fn context(&mut self, run_id: &str) -> Result<RunContext, StoreError> {
        if let Some(context) = self.runs.get(run_id) {
            return Ok(context.clone());
        }
        let context = self
            .tx
            .run_context(run_id)
            .await?
            .ok_or_else(|| StoreError::UnknownRun {
                run_id: run_id.to_owned(),
            })?;
        // The run's row is written first in the transaction, before its tasks and stages: every
        // writer of a run (this one, a lease running out) takes that row's lock first, so none
        // of them waits for another in the opposite order.
        if let Some(heard_at) = self.heard_at {
            self.tx.touch_run(run_id, heard_at).await?;
        }
        self.runs.insert(run_id.to_owned(), context.clone());
        Ok(context)
    }

    /// The task's row id and the attempt it is at.
    async fn task_id(&mut self, run_id: &str, path: &TaskPath) -> Result<(i64, u32), StoreError> {
        let key = (run_id.to_owned(), path.0.clone());
        if let (Some(id), Some(attempt)) = (self.tasks.get(&key), self.attempts.get(&key)) {
            return Ok((*id, *attempt));
        }
        let stage = stage_of(path);
        self.tx
            .ensure_stage(run_id, stage, TaskStatus::Pending.as_str())
            .await?;
        let (id, attempt) = self.tx.task_id(run_id, path.as_str(), stage).await?;
        self.tasks.insert(key.clone(), id);
        let attempt = *self.attempts.entry(key).or_insert(attempt);
        Ok((id, attempt))
    }
}

/// The event's name as serialized (`run_queued`, ...), kept with each claimed id.
fn kind_name(kind: &RunEventKind) -> &'static str {
    match kind {
        RunEventKind::RunQueued(_) => "run_queued",
        RunEventKind::RunStarted => "run_started",
        RunEventKind::StageStarted { .. } => "stage_started",
        RunEventKind::StageFinished { .. } => "stage_finished",
        RunEventKind::TaskStarted { .. } => "task_started",
        RunEventKind::TaskOutput { .. } => "task_output",
        RunEventKind::TaskFinished { .. } => "task_finished",
        RunEventKind::TaskSkipped { .. } => "task_skipped",
        RunEventKind::ArtifactPackaged { .. } => "artifact_packaged",
        RunEventKind::RunFinished { .. } => "run_finished",
    }
}
