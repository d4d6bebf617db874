//! The runs the benchmarks store and the CDEvents they send: shaped like real ones (a setup
//! task and three stages, ten tasks in all, a few log lines, some failures), deterministic for
//! a given seed so that two runs of a benchmark store the same data.

use chrono::{DateTime, Duration, Utc};
use gantry_model::event::RunInfo;
use gantry_model::{
    LogStream, Pipeline, RunEvent, RunEventKind, RunId, RunResult, Stage, Task, TaskOutcome, TaskPath,
    Traceability,
};
use gantry_store::{RunContext, to_cdevent};
use indexmap::IndexMap;
use serde_json::Value;

/// The stages of every run and their tasks; `setup` runs first, as the engine's setup does.
const STAGES: &[(&str, &[&str])] = &[
    ("setup", &["tools"]),
    ("build", &["compile", "package"]),
    ("test", &["unit", "integration", "lint", "audit"]),
    ("deploy", &["staging", "smoke", "production"]),
];

/// A small deterministic generator (xorshift64*): the same seed gives the same runs.
#[derive(Debug, Clone)]
pub struct Dice(u64);

impl Dice {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..bound`.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    pub fn hex(&mut self, digits: usize) -> String {
        let mut text = String::with_capacity(digits + 16);
        while text.len() < digits {
            text.push_str(&format!("{:016x}", self.next()));
        }
        text.truncate(digits);
        text
    }
}

/// The pipeline definition recorded with each run of `app`.
pub fn pipeline(app: &str) -> Pipeline {
    let task = |name: &str| Task::script(name, format!("./ci/{name}.sh"));
    let stages = STAGES[1..]
        .iter()
        .map(|(name, tasks)| Stage {
            name: (*name).into(),
            parallel: *name == "test",
            when: None,
            tasks: tasks.iter().map(|name| task(name)).collect(),
        })
        .collect();
    Pipeline {
        app: app.into(),
        version: "2.3.{build}".into(),
        env: IndexMap::new(),
        secrets: Vec::new(),
        traceable: Traceability::Optional,
        setup: STAGES[0].1.iter().map(|name| task(name)).collect(),
        stages,
        finally: Vec::new(),
    }
}

/// What one run is, before its events are made.
#[derive(Debug, Clone)]
pub struct RunSpec {
    pub app: String,
    pub build: u64,
    pub branch: String,
    pub queued_at: DateTime<Utc>,
    /// How it ends: most succeed; failures fail a test task and skip the rest.
    pub result: RunResult,
}

impl RunSpec {
    /// A run of `app` queued at `queued_at`, its branch and result drawn from `dice`: 85%
    /// success, 10% failure, 3% cancelled, 2% interrupted; 80% on `main`.
    pub fn draw(dice: &mut Dice, app: &str, build: u64, queued_at: DateTime<Utc>) -> Self {
        let result = match dice.below(100) {
            0..85 => RunResult::Success,
            85..95 => RunResult::Failure,
            95..98 => RunResult::Cancelled,
            _ => RunResult::Interrupted,
        };
        let branch = if dice.below(10) < 8 {
            "main".to_owned()
        } else {
            format!("feature/change-{}", dice.below(50))
        };
        Self {
            app: app.to_owned(),
            build,
            branch,
            queued_at,
            result,
        }
    }

    /// Every event of the run, in order, a second apart: queued, started, each stage and task
    /// (with a few log lines), finished: 35 events, 23 of them with a CDEvent, for a success.
    pub fn events(&self, dice: &mut Dice) -> Vec<RunEvent> {
        let run_id = RunId(uuid::Uuid::now_v7().to_string());
        let mut at = self.queued_at;
        let mut events = Vec::with_capacity(40);
        let mut push = |kind: RunEventKind| {
            events.push(RunEvent {
                id: uuid::Uuid::now_v7().to_string(),
                run_id: run_id.clone(),
                at,
                kind,
            });
            at += Duration::seconds(1);
        };
        push(RunEventKind::RunQueued(Box::new(RunInfo {
            app: self.app.clone(),
            version: format!("2.3.{}", self.build),
            build: self.build,
            revision: Some(dice.hex(40)),
            branch: Some(self.branch.clone()),
            traceable: true,
            untraceable_reason: None,
            pipeline: pipeline(&self.app),
            mock: false,
            selection: gantry_model::Selection::All,
            runner: None,
        })));
        push(RunEventKind::RunStarted);
        // Where the run stops: failures fail `test/unit`, cancellations and interruptions stop
        // during `test/integration`.
        let stop = match self.result {
            RunResult::Success => None,
            RunResult::Failure => Some("test/unit"),
            RunResult::Cancelled | RunResult::Interrupted | RunResult::AgentLost => Some("test/integration"),
        };
        let mut stopped = false;
        for (stage, tasks) in STAGES {
            if stopped {
                for task in *tasks {
                    push(RunEventKind::TaskSkipped {
                        path: TaskPath(format!("{stage}/{task}")),
                        reason: "an earlier task failed".into(),
                    });
                }
                continue;
            }
            push(RunEventKind::StageStarted {
                stage: (*stage).into(),
            });
            let mut outcome = TaskOutcome::Success;
            for task in *tasks {
                let path = TaskPath(format!("{stage}/{task}"));
                if stopped {
                    push(RunEventKind::TaskSkipped {
                        path,
                        reason: "an earlier task failed".into(),
                    });
                    continue;
                }
                push(RunEventKind::TaskStarted {
                    path: path.clone(),
                    attempt: 1,
                });
                if matches!(*task, "compile" | "unit") {
                    for line in [
                        format!("{task}: starting"),
                        format!("{task}: {} ok", dice.below(500)),
                    ] {
                        push(RunEventKind::TaskOutput {
                            path: path.clone(),
                            stream: LogStream::Stdout,
                            lines: vec![line],
                        });
                    }
                }
                if stop == Some(path.as_str()) {
                    stopped = true;
                    outcome = match self.result {
                        RunResult::Cancelled => TaskOutcome::Cancelled,
                        _ => TaskOutcome::Failure,
                    };
                    if self.result == RunResult::Interrupted {
                        // The process died: nothing more was said about this task or stage.
                        break;
                    }
                    push(RunEventKind::TaskFinished {
                        path,
                        attempt: 1,
                        outcome,
                        exit_code: Some(1),
                        will_retry: false,
                        allowed_failure: false,
                    });
                } else {
                    push(RunEventKind::TaskFinished {
                        path,
                        attempt: 1,
                        outcome: TaskOutcome::Success,
                        exit_code: Some(0),
                        will_retry: false,
                        allowed_failure: false,
                    });
                }
            }
            if !(stopped && self.result == RunResult::Interrupted) {
                push(RunEventKind::StageFinished {
                    stage: (*stage).into(),
                    outcome,
                });
            }
            if stopped && self.result == RunResult::Interrupted {
                break;
            }
        }
        push(RunEventKind::RunFinished { result: self.result });
        events
    }

    pub fn context(&self) -> RunContext {
        RunContext {
            app: self.app.clone(),
            version: format!("2.3.{}", self.build),
            build: self.build,
            revision: None,
            branch: Some(self.branch.clone()),
        }
    }
}

/// `count` CDEvents as tools send them: those of whole runs (pipeline and task runs), each with
/// a new id. `salt` makes the corpora of different rounds differ.
pub fn cdevents(count: usize, salt: u64) -> Vec<Value> {
    let mut dice = Dice::new(0x5eed ^ salt);
    let start = DateTime::parse_from_rfc3339("2025-06-01T00:00:00Z")
        .map(|time| time.with_timezone(&Utc))
        .unwrap_or_default();
    let mut out = Vec::with_capacity(count);
    let mut build = 0;
    while out.len() < count {
        build += 1;
        let queued_at = start + Duration::minutes(i64::try_from(build).unwrap_or(0));
        let spec = RunSpec::draw(&mut dice, "ingest", build, queued_at);
        let context = spec.context();
        for event in spec.events(&mut dice) {
            if out.len() == count {
                break;
            }
            if let Some(cdevent) = to_cdevent(&event, &context) {
                out.push(cdevent);
            }
        }
    }
    out
}
