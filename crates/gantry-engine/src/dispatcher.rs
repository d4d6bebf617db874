//! [`Dispatcher`]: owns the state of a run, decides what runs next, and sends every event.
//!
//! The run goes through phases: `setup`, each stage, `finally`. A phase is a set of [`Lane`]s
//! that run side by side; the dispatcher starts the next task of each idle lane, then waits for
//! whichever comes first: a message from a running [`Executor`] or the end of one. Because only
//! the dispatcher sends events, and it handles one thing at a time, the event stream is always
//! in an order that happened: a task starts only after the dispatcher has sent the end of the
//! task before it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use gantry_model::event::RunInfo;
use gantry_model::{Plan, PlanNode, RunEvent, RunEventKind, RunId, RunResult, TaskOutcome, TaskPath};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::{JoinError, JoinSet};
use tokio_util::sync::CancellationToken;

use crate::Stop;
use crate::context::{self, Context, ContextFiles};
use crate::executor::{Ending, Executor, ExecutorMessage, ExecutorReport, LaneId, ProcessSpec, Work};
use crate::lane::{self, Lane, Running, Step};
use crate::mask::Masker;
use crate::mock::StandIn;
use crate::request::{MockSettings, RunRequest};

/// How many executor messages may wait for the dispatcher; beyond that, task output waits in
/// the task's pipe, and the task itself waits when the pipe is full.
const MESSAGE_BUFFER: usize = 256;

/// The skip reason for tasks that cancellation kept from running.
const CANCELLED: &str = "cancelled";

/// Owns a run from its first event to its last.
pub(crate) struct Dispatcher {
    run_id: RunId,
    info: RunInfo,
    root: PathBuf,
    secrets: Vec<(String, String)>,
    mock: Option<MockSettings>,
    grace: Duration,
    /// Hides secrets in the engine's own lines; shared with the executors, whose readers mask
    /// the tasks' output before it reaches the dispatcher.
    masker: Arc<Masker>,
    /// The run's only output. Bounded, so a slow consumer slows the run down instead of events
    /// piling up; every send is awaited, so no event is ever dropped.
    events: mpsc::Sender<RunEvent>,
    /// Output lines and artifacts from every running executor, in the order they were sent:
    /// one queue, so the dispatcher sees them one at a time.
    messages: mpsc::Receiver<ExecutorMessage>,
    /// Cloned into each executor; kept here so `messages` never closes during the run.
    message_sender: mpsc::Sender<ExecutorMessage>,
    /// The run's job slots: at most `jobs` task processes at once, whichever stage or branch
    /// they belong to. Only the dispatcher takes slots, lane by lane in declaration order, so
    /// with few slots the tasks of a parallel stage start in the order they are written; a
    /// slot goes back only after the end of its task was sent, so no task is ever seen to start
    /// in a slot before the task that held it finished.
    permits: Arc<Semaphore>,
    /// Cancels the run: a child of the caller's cancel token, which the dispatcher also cancels
    /// when nobody receives its events any more (a run that cannot be recorded must not go on).
    stop: CancellationToken,
    /// Stops `finally` too: a child of the caller's force token (whose cancel token is its
    /// child, so `stop` is cancelled with it).
    force: CancellationToken,
    /// Whether cancellation stopped or kept from running any task: the run was cancelled.
    cancelled: bool,
    /// The result so far; what `finally` tasks see as `GANTRY_RESULT`.
    result: RunResult,
    /// The variables tasks passed on, after the last finished phase.
    context: Context,
    context_files: ContextFiles,
}

/// Where in the run a phase is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PhaseKind {
    Setup,
    Stage,
    Finally,
}

/// A phase: what `GANTRY_STAGE` says, and which rules apply.
#[derive(Debug, Clone, Copy)]
struct Phase<'a> {
    kind: PhaseKind,
    name: &'a str,
}

impl Phase<'_> {
    /// `finally` runs to its end after cancellation; only forcing stops it.
    fn cancellable(self) -> bool {
        self.kind != PhaseKind::Finally
    }
}

/// How a phase went.
#[derive(Debug)]
struct PhaseReport {
    /// The first task that failed, in lane order.
    failed: Option<TaskPath>,
    cancelled: bool,
    ran: bool,
}

/// The running executors, each known by its lane, so that even one that panicked is seen to
/// end.
#[derive(Default)]
struct Executors {
    /// Their ends: a report, or the panic that stopped one.
    set: JoinSet<ExecutorReport>,
    owners: HashMap<tokio::task::Id, LaneId>,
}

impl Executors {
    fn spawn(&mut self, lane: LaneId, executor: Executor, work: Work) {
        let handle = self.set.spawn(executor.run(work));
        self.owners.insert(handle.id(), lane);
    }

    fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// The next executor to end and its lane (`None` in the lane only if the bookkeeping broke).
    async fn next(&mut self) -> Option<(Option<LaneId>, Result<ExecutorReport, JoinError>)> {
        let joined = self.set.join_next_with_id().await?;
        let id = match &joined {
            Ok((id, _)) => *id,
            Err(err) => err.id(),
        };
        Some((self.owners.remove(&id), joined.map(|(_, report)| report)))
    }
}

/// What the dispatcher waits for.
enum Next {
    Message(ExecutorMessage),
    Ended(Option<LaneId>, Result<ExecutorReport, JoinError>),
}

impl Dispatcher {
    pub(crate) fn new(request: RunRequest, events: mpsc::Sender<RunEvent>, stop: &Stop) -> (Self, Plan) {
        let (message_sender, messages) = mpsc::channel(MESSAGE_BUFFER);
        let dispatcher = Self {
            run_id: request.run_id,
            info: request.info,
            // Artifact sources are reported as absolute paths, whatever the caller passed.
            root: std::path::absolute(&request.root).unwrap_or(request.root),
            masker: Arc::new(Masker::new(&request.secrets)),
            secrets: request.secrets,
            mock: request.mock,
            grace: request.grace,
            events,
            messages,
            message_sender,
            permits: Arc::new(Semaphore::new(request.jobs.clamp(1, Semaphore::MAX_PERMITS))),
            stop: stop.cancel.child_token(),
            force: stop.force.child_token(),
            cancelled: false,
            result: RunResult::Success,
            context: Context::default(),
            context_files: ContextFiles::default(),
        };
        (dispatcher, request.plan)
    }

    /// Runs the plan to its end and returns the result, which the last event also carries.
    pub(crate) async fn run(mut self, plan: Plan) -> RunResult {
        self.emit(RunEventKind::RunQueued(Box::new(self.info.clone())))
            .await;
        self.emit(RunEventKind::RunStarted).await;
        let branch = self.info.branch.clone();
        let branch = branch.as_deref();

        let setup = Phase {
            kind: PhaseKind::Setup,
            name: "setup",
        };
        let report = self
            .run_phase(setup, Lane::every_task(&plan.setup, branch, &self.context))
            .await;
        let mut failed = report.failed.is_some();
        let mut blocked = report.failed.map(|_| "setup failed".to_owned());

        for stage in &plan.stages {
            self.emit(RunEventKind::StageStarted {
                stage: stage.name.clone(),
            })
            .await;
            let skip = if blocked.is_some() {
                blocked.clone()
            } else if self.stop.is_cancelled() {
                self.cancelled = true;
                Some(CANCELLED.to_owned())
            } else {
                stage.skipped.clone()
            };
            let outcome = if let Some(reason) = skip {
                self.skip_nodes(&stage.nodes, &reason).await;
                TaskOutcome::Skipped
            } else {
                let phase = Phase {
                    kind: PhaseKind::Stage,
                    name: &stage.name,
                };
                let report = self
                    .run_phase(phase, Lane::stage(stage, branch, &self.context))
                    .await;
                if report.failed.is_some() {
                    failed = true;
                    blocked = Some(format!("stage `{}` failed", stage.name));
                }
                if report.cancelled {
                    TaskOutcome::Cancelled
                } else if report.failed.is_some() {
                    TaskOutcome::Failure
                } else if report.ran {
                    TaskOutcome::Success
                } else {
                    TaskOutcome::Skipped
                }
            };
            self.emit(RunEventKind::StageFinished {
                stage: stage.name.clone(),
                outcome,
            })
            .await;
        }

        self.result = if self.cancelled {
            RunResult::Cancelled
        } else if failed {
            RunResult::Failure
        } else {
            RunResult::Success
        };
        let finally = Phase {
            kind: PhaseKind::Finally,
            name: "finally",
        };
        self.run_phase(finally, Lane::every_task(&plan.finally, branch, &self.context))
            .await;
        if self.cancelled {
            // `finally` was forced to stop.
            self.result = RunResult::Cancelled;
        }

        let result = self.result;
        self.emit(RunEventKind::RunFinished { result }).await;
        result
    }

    /// What stops the tasks of `phase`: cancelling for setup and stages, forcing for `finally`.
    fn stop_of(&self, phase: Phase<'_>) -> &CancellationToken {
        if phase.cancellable() {
            &self.stop
        } else {
            &self.force
        }
    }

    /// Runs the lanes of one phase side by side until each is done, then merges what their
    /// tasks passed on into the run's context, in lane order.
    async fn run_phase(&mut self, phase: Phase<'_>, mut lanes: Vec<Lane>) -> PhaseReport {
        let mut executors = Executors::default();
        loop {
            for (id, lane) in lanes.iter_mut().enumerate() {
                if lane.running.is_none() {
                    self.advance(phase, lane, id, &mut executors).await;
                }
            }
            if executors.is_empty() {
                break;
            }
            let next = tokio::select! {
                Some(message) = self.messages.recv() => Next::Message(message),
                Some((lane, ended)) = executors.next() => Next::Ended(lane, ended),
                else => break,
            };
            match next {
                Next::Message(message) => self.on_message(&mut lanes, message).await,
                Next::Ended(lane, ended) => {
                    // Everything the executor sent went out before it ended: handle it first.
                    while let Ok(message) = self.messages.try_recv() {
                        self.on_message(&mut lanes, message).await;
                    }
                    if let Some(id) = lane
                        && let Some(lane) = lanes.get_mut(id)
                    {
                        self.on_end(phase, lane, id, ended, &mut executors).await;
                    }
                }
            }
        }
        let report = PhaseReport {
            failed: lanes.iter().find_map(|lane| lane.failed.clone()),
            cancelled: lanes.iter().any(|lane| lane.cancelled),
            ran: lanes.iter().any(|lane| lane.ran),
        };
        for lane in lanes {
            self.context.absorb(lane.context);
        }
        report
    }

    /// Skips what the lane cannot run, up to the next task it can start, and starts that task
    /// if a job slot is free; otherwise the lane waits for the next slot that comes back.
    async fn advance(&mut self, phase: Phase<'_>, lane: &mut Lane, id: LaneId, executors: &mut Executors) {
        while let Some(step) = lane.peek() {
            let skip = if let Some(reason) = &step.skipped {
                reason.clone()
            } else if self.stop_of(phase).is_cancelled() {
                self.cancelled = true;
                lane.cancelled = true;
                CANCELLED.to_owned()
            } else {
                let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() else {
                    return;
                };
                if let Some(step) = lane.next() {
                    self.start(
                        phase,
                        lane,
                        id,
                        Running {
                            step,
                            attempt: 1,
                            permit,
                        },
                        executors,
                    )
                    .await;
                }
                return;
            };
            if let Some(step) = lane.next() {
                self.emit(RunEventKind::TaskSkipped {
                    path: step.path,
                    reason: skip,
                })
                .await;
            }
        }
    }

    /// Hands an attempt to a new executor; the lane's task runs until the executor ends.
    async fn start(
        &mut self,
        phase: Phase<'_>,
        lane: &mut Lane,
        id: LaneId,
        running: Running,
        executors: &mut Executors,
    ) {
        let step = &running.step;
        self.emit(RunEventKind::TaskStarted {
            path: step.path.clone(),
            attempt: running.attempt,
        })
        .await;
        let work = if let Some(mock) = &self.mock {
            Work::StandIn(StandIn::new(&step.script, mock.fails(&step.path)))
        } else {
            let context_file = self.context_files.next();
            let env = self.environment(phase, step, &lane.context, context_file.as_ref().ok());
            Work::Process(ProcessSpec {
                script: step.script.clone(),
                workdir: step
                    .task
                    .workdir
                    .as_ref()
                    .map_or_else(|| self.root.clone(), |dir| self.root.join(dir)),
                env,
                unset: if phase.kind == PhaseKind::Finally {
                    Vec::new()
                } else {
                    vec!["GANTRY_RESULT"]
                },
                timeout: step.task.timeout,
                artifacts: step.task.artifacts.clone(),
                context_file,
            })
        };
        let executor = Executor {
            lane: id,
            messages: self.message_sender.clone(),
            cancel: self.stop_of(phase).clone(),
            grace: self.grace,
            masker: Arc::clone(&self.masker),
        };
        executors.spawn(id, executor, work);
        lane.running = Some(running);
    }

    /// A task's environment, later entries winning: the pipeline's `env`, the task's `env`, the
    /// context, the built-in `GANTRY_*` variables, the secrets.
    fn environment(
        &self,
        phase: Phase<'_>,
        step: &Step,
        context: &Context,
        context_file: Option<&PathBuf>,
    ) -> Vec<(String, String)> {
        let info = &self.info;
        let mut env: Vec<(String, String)> = Vec::new();
        env.extend(
            info.pipeline
                .env
                .iter()
                .map(|(key, value)| (key.clone(), value.clone())),
        );
        env.extend(
            step.task
                .env
                .iter()
                .map(|(key, value)| (key.clone(), value.clone())),
        );
        env.extend(
            context
                .vars()
                .map(|(key, value)| (key.to_owned(), value.to_owned())),
        );
        let mut builtins = vec![
            ("GANTRY_APP", info.app.clone()),
            ("GANTRY_VERSION", info.version.clone()),
            ("GANTRY_BUILD", info.build.to_string()),
            ("GANTRY_RUN_ID", self.run_id.0.clone()),
            ("GANTRY_REVISION", info.revision.clone().unwrap_or_default()),
            ("GANTRY_BRANCH", info.branch.clone().unwrap_or_default()),
            ("GANTRY_STAGE", phase.name.to_owned()),
            ("GANTRY_TASK", step.task.name.clone()),
            (
                "GANTRY_CONTEXT",
                context_file
                    .map(|path| path.display().to_string())
                    .unwrap_or_default(),
            ),
        ];
        if phase.kind == PhaseKind::Finally {
            builtins.push(("GANTRY_RESULT", self.result.as_str().to_owned()));
        }
        env.extend(builtins.into_iter().map(|(key, value)| (key.to_owned(), value)));
        env.extend(self.secrets.iter().cloned());
        env
    }

    async fn on_message(&mut self, lanes: &mut [Lane], message: ExecutorMessage) {
        let lane = match &message {
            ExecutorMessage::Output { lane, .. } | ExecutorMessage::Artifact { lane, .. } => *lane,
        };
        let Some(running) = lanes.get(lane).and_then(|lane| lane.running.as_ref()) else {
            return;
        };
        let path = running.step.path.clone();
        let kind = match message {
            ExecutorMessage::Output { stream, lines, .. } => RunEventKind::TaskOutput { path, stream, lines },
            ExecutorMessage::Artifact { artifact, .. } => RunEventKind::ArtifactPackaged {
                path,
                name: artifact.name,
                source: artifact.source.display().to_string(),
                size: artifact.size,
                sha256: artifact.sha256,
            },
        };
        self.emit(kind).await;
    }

    /// Records the end of an attempt: retries it, or finishes the task and applies what its
    /// end means for the rest of the lane.
    async fn on_end(
        &mut self,
        phase: Phase<'_>,
        lane: &mut Lane,
        id: LaneId,
        ended: Result<ExecutorReport, JoinError>,
        executors: &mut Executors,
    ) {
        let Some(running) = lane.running.take() else {
            return;
        };
        let path = running.step.path.clone();
        let report = match ended {
            Ok(report) => report,
            Err(err) => {
                self.output_line(
                    &path,
                    &format!("gantry: internal error: the task's executor stopped: {err}"),
                )
                .await;
                ExecutorReport {
                    ending: Ending::Failure,
                    exit_code: None,
                    context: None,
                }
            }
        };
        let outcome = match report.ending {
            Ending::Success => TaskOutcome::Success,
            Ending::Failure => TaskOutcome::Failure,
            Ending::TimedOut => TaskOutcome::TimedOut,
            Ending::Cancelled => TaskOutcome::Cancelled,
        };
        if let (TaskOutcome::Success, Some(text)) = (outcome, &report.context) {
            let (pairs, errors) = context::parse(text);
            for error in errors {
                self.output_line(&path, &format!("gantry: {error}")).await;
            }
            for (key, value) in pairs {
                lane.context.set(key, value);
            }
        }
        let failed = matches!(outcome, TaskOutcome::Failure | TaskOutcome::TimedOut);
        let task = &running.step.task;
        let will_retry = failed && running.attempt <= task.retry && !self.stop_of(phase).is_cancelled();
        let allowed_failure = failed && !will_retry && task.allow_failure;
        self.emit(RunEventKind::TaskFinished {
            path: path.clone(),
            attempt: running.attempt,
            outcome,
            exit_code: report.exit_code,
            will_retry,
            allowed_failure,
        })
        .await;

        if will_retry {
            // The next attempt keeps the slot.
            let next = Running {
                attempt: running.attempt.saturating_add(1),
                ..running
            };
            self.start(phase, lane, id, next, executors).await;
            return;
        }
        // The end is sent: the slot may go to the next task.
        drop(running.permit);
        lane.ran = true;
        if outcome == TaskOutcome::Cancelled {
            self.cancelled = true;
            lane.cancelled = true;
        } else if failed && !allowed_failure {
            if phase.kind == PhaseKind::Finally && self.result == RunResult::Success {
                self.result = RunResult::Failure;
            }
            lane.failed.get_or_insert_with(|| path.clone());
            let reason = match outcome {
                TaskOutcome::TimedOut => format!("`{path}` timed out"),
                _ => format!("`{path}` failed"),
            };
            for step in lane.stopped_by(&running.step) {
                let reason = step.skipped.unwrap_or_else(|| reason.clone());
                self.emit(RunEventKind::TaskSkipped {
                    path: step.path,
                    reason,
                })
                .await;
            }
        }
    }

    /// Skips every task under `nodes`.
    async fn skip_nodes(&mut self, nodes: &[PlanNode], reason: &str) {
        for step in lane::steps(nodes, self.info.branch.as_deref()) {
            self.emit(RunEventKind::TaskSkipped {
                path: step.path,
                reason: reason.to_owned(),
            })
            .await;
        }
    }

    /// A line of the engine's own about a task, on its stderr, masked like any other.
    async fn output_line(&mut self, path: &TaskPath, line: &str) {
        let line = self.masker.mask(line);
        self.emit(RunEventKind::TaskOutput {
            path: path.clone(),
            stream: gantry_model::LogStream::Stderr,
            lines: vec![line],
        })
        .await;
    }

    async fn emit(&mut self, kind: RunEventKind) {
        let event = RunEvent {
            id: uuid::Uuid::new_v4().to_string(),
            run_id: self.run_id.clone(),
            at: Utc::now(),
            kind,
        };
        if self.events.send(event).await.is_err() && !self.stop.is_cancelled() {
            self.stop.cancel();
        }
    }
}
