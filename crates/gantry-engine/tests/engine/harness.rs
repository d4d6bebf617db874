//! A small builder for engine runs and a view of the events they produced.
//!
//! `Test::new().stage(..).run().await` executes a real run (real `bash` processes) in a fresh
//! temporary repository root and returns a [`Run`]: every event, checked for the invariants that
//! hold for any run, with accessors for what a test asserts on.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use gantry_engine::{MockSettings, RunRequest, Stop};
use gantry_model::event::RunInfo;
use gantry_model::{
    LogStream, Pipeline, Plan, RunEvent, RunEventKind, RunId, RunResult, Selection, Stage, Task, TaskOutcome,
};
use gantry_test::PipelineBuilder;
pub use gantry_test::pipeline::{group, task, when_branch};
use tokio::sync::mpsc;

/// How long any test run may take before it counts as hung.
const RUN_LIMIT: Duration = Duration::from_mins(1);

/// A pipeline with nothing in it.
pub fn empty_pipeline() -> Pipeline {
    PipelineBuilder::new("demo").build()
}

/// A run to execute.
pub struct Test {
    pipeline: PipelineBuilder,
    branch: Option<String>,
    secrets: Vec<(String, String)>,
    jobs: usize,
    mock: Option<MockSettings>,
    grace: Duration,
    root: tempfile::TempDir,
    stop: Stop,
}

impl Test {
    pub fn new() -> Self {
        Self {
            pipeline: PipelineBuilder::new("demo"),
            branch: None,
            secrets: Vec::new(),
            jobs: 4,
            mock: None,
            grace: Duration::from_millis(500),
            root: tempfile::tempdir().expect("a temporary directory"),
            stop: Stop::new(),
        }
    }

    pub fn setup(mut self, tasks: Vec<Task>) -> Self {
        self.pipeline = self.pipeline.setup(tasks);
        self
    }

    pub fn stage(mut self, name: &str, tasks: Vec<Task>) -> Self {
        self.pipeline = self.pipeline.stage(name, tasks);
        self
    }

    pub fn parallel(mut self, name: &str, tasks: Vec<Task>) -> Self {
        self.pipeline = self.pipeline.parallel(name, tasks);
        self
    }

    pub fn stage_value(mut self, stage: Stage) -> Self {
        self.pipeline = self.pipeline.stage_value(stage);
        self
    }

    pub fn finally(mut self, tasks: Vec<Task>) -> Self {
        self.pipeline = self.pipeline.finally(tasks);
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.pipeline = self.pipeline.env(key, value);
        self
    }

    pub fn secret(mut self, name: &str, value: &str) -> Self {
        self.pipeline = self.pipeline.secret(name);
        self.secrets.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn branch(mut self, branch: &str) -> Self {
        self.branch = Some(branch.to_owned());
        self
    }

    pub fn jobs(mut self, jobs: usize) -> Self {
        self.jobs = jobs;
        self
    }

    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    pub fn mock(mut self, fail: &[&str]) -> Self {
        self.mock = Some(MockSettings {
            fail: fail.iter().map(|name| (*name).to_owned()).collect(),
        });
        self
    }

    /// The repository root the run will use, to prepare files in.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// What stops the run, to cancel it before it starts.
    pub fn stop(&self) -> Stop {
        self.stop.clone()
    }

    pub async fn run(self) -> Run {
        self.run_cancelling_when(|_| false).await
    }

    /// Runs, cancelling the run as soon as `cancel_when` holds for an event.
    pub async fn run_cancelling_when(self, mut cancel_when: impl FnMut(&RunEvent) -> bool) -> Run {
        self.run_stopping(move |event, stop| {
            if cancel_when(event) {
                stop.cancel();
            }
        })
        .await
    }

    /// Runs, showing every event to `watch` as it comes, with what stops the run.
    pub async fn run_stopping(self, mut watch: impl FnMut(&RunEvent, &Stop)) -> Run {
        let pipeline = self.pipeline.build();
        let plan = Plan::new(&pipeline, self.branch.as_deref(), &Selection::All).expect("a valid plan");
        let run_id = RunId(uuid::Uuid::now_v7().to_string());
        let info = RunInfo {
            app: pipeline.app.clone(),
            version: "1.0.7".to_owned(),
            build: 7,
            revision: Some("0123abcd".to_owned()),
            branch: self.branch.clone(),
            traceable: true,
            untraceable_reason: None,
            pipeline: pipeline.clone(),
            mock: self.mock.is_some(),
            selection: gantry_model::Selection::All,
            runner: None,
        };
        let request = RunRequest {
            run_id: run_id.clone(),
            info: info.clone(),
            plan: plan.clone(),
            root: self.root.path().to_owned(),
            secrets: self.secrets.clone(),
            jobs: self.jobs,
            mock: self.mock.clone(),
            grace: self.grace,
        };
        // A small buffer, so that the engine really has to wait for this consumer.
        let (sender, mut receiver) = mpsc::channel(4);
        let engine = tokio::spawn(gantry_engine::execute(request, sender, self.stop.clone()));
        let collect = async {
            let mut events = Vec::new();
            while let Some(event) = receiver.recv().await {
                watch(&event, &self.stop);
                events.push(event);
            }
            events
        };
        let events = tokio::time::timeout(RUN_LIMIT, collect)
            .await
            .expect("the run to end in time");
        let result = engine.await.expect("the engine not to panic");
        let run = Run {
            result,
            events,
            root: self.root,
            plan,
        };
        run.check_invariants(&run_id, &info);
        run
    }
}

/// A finished run.
pub struct Run {
    pub result: RunResult,
    pub events: Vec<RunEvent>,
    pub root: tempfile::TempDir,
    pub plan: Plan,
}

/// How one attempt of a task finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub attempt: u32,
    pub outcome: TaskOutcome,
    pub exit_code: Option<i32>,
    pub will_retry: bool,
    pub allowed_failure: bool,
}

impl Run {
    /// Invariants of every run: the envelope of each event, the first and last events, one end
    /// for every planned task, and output only while a task runs.
    fn check_invariants(&self, run_id: &RunId, info: &RunInfo) {
        let events = &self.events;
        let ids: HashSet<&str> = events.iter().map(|event| event.id.as_str()).collect();
        assert_eq!(ids.len(), events.len(), "event ids are unique");
        for event in events {
            assert_eq!(&event.run_id, run_id);
            assert!(
                uuid::Uuid::parse_str(&event.id).is_ok_and(|id| id.get_version_num() == 4),
                "{}",
                event.id
            );
        }
        for pair in events.windows(2) {
            assert!(
                pair[0].at <= pair[1].at,
                "timestamps never go back: {:?} then {:?}",
                pair[0],
                pair[1]
            );
        }
        assert!(matches!(&events[0].kind, RunEventKind::RunQueued(queued) if **queued == *info));
        assert_eq!(events[1].kind, RunEventKind::RunStarted);
        assert_eq!(
            events.last().unwrap().kind,
            RunEventKind::RunFinished { result: self.result }
        );
        let finished = events
            .iter()
            .filter(|event| matches!(event.kind, RunEventKind::RunFinished { .. }));
        assert_eq!(finished.count(), 1);

        let mut running: HashMap<String, u32> = HashMap::new();
        let mut ended: HashMap<String, usize> = HashMap::new();
        for event in events {
            match &event.kind {
                RunEventKind::TaskStarted { path, attempt } => {
                    assert!(!running.contains_key(&path.0), "{path} started twice");
                    assert!(!ended.contains_key(&path.0), "{path} started after its end");
                    running.insert(path.0.clone(), *attempt);
                }
                RunEventKind::TaskOutput { path, .. } | RunEventKind::ArtifactPackaged { path, .. } => {
                    assert!(
                        running.contains_key(&path.0),
                        "{path} reported while not running: {event:?}"
                    );
                }
                RunEventKind::TaskFinished {
                    path,
                    attempt,
                    will_retry,
                    ..
                } => {
                    assert_eq!(
                        running.remove(&path.0),
                        Some(*attempt),
                        "{path} finished attempt {attempt}"
                    );
                    if !will_retry {
                        *ended.entry(path.0.clone()).or_default() += 1;
                    }
                }
                RunEventKind::TaskSkipped { path, .. } => {
                    assert!(!running.contains_key(&path.0), "{path} skipped while running");
                    *ended.entry(path.0.clone()).or_default() += 1;
                }
                _ => {}
            }
        }
        assert!(running.is_empty(), "tasks never finished: {running:?}");
        let planned: Vec<String> = self
            .plan
            .tasks()
            .into_iter()
            .map(|(path, _)| path.0.clone())
            .collect();
        for path in &planned {
            assert_eq!(ended.get(path), Some(&1), "{path} ends exactly once");
        }
        assert_eq!(ended.len(), planned.len(), "only planned tasks appear: {ended:?}");
    }

    /// When the first attempt of the task at `path` started.
    pub fn started(&self, path: &str) -> DateTime<Utc> {
        self.events
            .iter()
            .find(|event| matches!(&event.kind, RunEventKind::TaskStarted { path: p, .. } if p.0 == path))
            .unwrap_or_else(|| panic!("{path} never started"))
            .at
    }

    /// When the last attempt of the task at `path` finished.
    pub fn ended(&self, path: &str) -> DateTime<Utc> {
        self.events
            .iter()
            .rev()
            .find(|event| matches!(&event.kind, RunEventKind::TaskFinished { path: p, .. } if p.0 == path))
            .unwrap_or_else(|| panic!("{path} never finished"))
            .at
    }

    /// Every finished attempt of the task at `path`, in order.
    pub fn attempts(&self, path: &str) -> Vec<Finished> {
        self.events
            .iter()
            .filter_map(|event| match &event.kind {
                RunEventKind::TaskFinished {
                    path: p,
                    attempt,
                    outcome,
                    exit_code,
                    will_retry,
                    allowed_failure,
                } if p.0 == path => Some(Finished {
                    attempt: *attempt,
                    outcome: *outcome,
                    exit_code: *exit_code,
                    will_retry: *will_retry,
                    allowed_failure: *allowed_failure,
                }),
                _ => None,
            })
            .collect()
    }

    /// How the last attempt of the task at `path` finished.
    pub fn finished(&self, path: &str) -> Finished {
        self.attempts(path)
            .pop()
            .unwrap_or_else(|| panic!("{path} never finished: {:#?}", self.trace()))
    }

    pub fn outcome(&self, path: &str) -> TaskOutcome {
        self.finished(path).outcome
    }

    /// Why the task at `path` was skipped, if it was.
    pub fn skipped(&self, path: &str) -> Option<String> {
        self.events.iter().find_map(|event| match &event.kind {
            RunEventKind::TaskSkipped { path: p, reason } if p.0 == path => Some(reason.clone()),
            _ => None,
        })
    }

    /// Every output line of the task at `path`.
    pub fn output(&self, path: &str) -> Vec<String> {
        self.output_of(path, None)
    }

    pub fn output_of(&self, path: &str, stream: Option<LogStream>) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|event| match &event.kind {
                RunEventKind::TaskOutput {
                    path: p,
                    stream: s,
                    lines,
                } if p.0 == path && stream.is_none_or(|stream| stream == *s) => Some(lines.clone()),
                _ => None,
            })
            .flatten()
            .collect()
    }

    /// The value of `KEY=value` in the output of the task at `path`.
    pub fn printed(&self, path: &str, key: &str) -> String {
        let prefix = format!("{key}=");
        self.output(path)
            .iter()
            .find_map(|line| line.strip_prefix(&prefix).map(str::to_owned))
            .unwrap_or_else(|| panic!("{path} printed no `{key}=`: {:?}", self.output(path)))
    }

    pub fn stage_outcome(&self, stage: &str) -> TaskOutcome {
        self.events
            .iter()
            .find_map(|event| match &event.kind {
                RunEventKind::StageFinished { stage: s, outcome } if s == stage => Some(*outcome),
                _ => None,
            })
            .unwrap_or_else(|| panic!("stage {stage} never finished"))
    }

    /// The events in short form, without output lines: `task_started build/compile 1`.
    pub fn trace(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|event| match &event.kind {
                RunEventKind::RunQueued(_) => Some("run_queued".to_owned()),
                RunEventKind::RunStarted => Some("run_started".to_owned()),
                RunEventKind::StageStarted { stage } => Some(format!("stage_started {stage}")),
                RunEventKind::StageFinished { stage, outcome } => {
                    Some(format!("stage_finished {stage} {outcome}"))
                }
                RunEventKind::TaskStarted { path, attempt } => Some(format!("task_started {path} {attempt}")),
                RunEventKind::TaskOutput { .. } => None,
                RunEventKind::TaskFinished { path, outcome, .. } => {
                    Some(format!("task_finished {path} {outcome}"))
                }
                RunEventKind::TaskSkipped { path, .. } => Some(format!("task_skipped {path}")),
                RunEventKind::ArtifactPackaged { path, name, .. } => Some(format!("artifact {path} {name}")),
                RunEventKind::RunFinished { result } => Some(format!("run_finished {result}")),
            })
            .collect()
    }
}

/// Asserts that the tasks at `a` and `b` ran at the same time.
pub fn assert_overlap(run: &Run, a: &str, b: &str) {
    assert!(
        run.started(a) < run.ended(b) && run.started(b) < run.ended(a),
        "{a} and {b} should overlap: {:#?}",
        run.trace()
    );
}

/// Asserts that the task at `second` started only after the task at `first` finished.
pub fn assert_after(run: &Run, first: &str, second: &str) {
    assert!(
        run.ended(first) <= run.started(second),
        "{second} should start after {first} finished: {:#?}",
        run.trace()
    );
}

/// Whether process `pid` is running (a zombie is not).
pub fn is_running(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => false,
        Ok(stat) => {
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next());
            !matches!(state, Some('Z' | 'X'))
        }
    }
}

/// Waits (a bounded time) until process `pid` is gone; whether it went.
pub async fn is_gone_soon(pid: i32) -> bool {
    for _ in 0..250 {
        if !is_running(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// The pid a script wrote to `file` in the run's root.
pub fn pid_in(run: &Run, file: &str) -> i32 {
    let text = std::fs::read_to_string(run.root.path().join(file)).expect("the pid file");
    text.trim().parse().expect("a pid")
}
