//! How Gantry's [`RunEvent`]s are told as CDEvents 0.5.1.
//!
//! | run event | CDEvent type |
//! | --- | --- |
//! | `run_queued` | `dev.cdevents.pipelinerun.queued.0.3.0` |
//! | `run_started` | `dev.cdevents.pipelinerun.started.0.3.0` |
//! | `run_finished` | `dev.cdevents.pipelinerun.finished.0.3.0` (outcome `success`, `failure`, `cancel`, `error` for interrupted) |
//! | `task_started` | `dev.cdevents.taskrun.started.0.3.0` |
//! | `task_finished`, `task_skipped` | `dev.cdevents.taskrun.finished.0.3.0` |
//! | `artifact_packaged` | `dev.cdevents.artifact.packaged.0.3.0` |
//!
//! Stages have no CDEvent type; their start and finish live in the `stages` table only. Task
//! output is not an event either: it is the task's log.
//!
//! Every event carries `context.id` = the run event's id, `context.chainId` = the run id,
//! `source` = `/gantry/APP`; the pipeline run's subject id is the run id, a task run's is
//! `RUNID/PATH`, an artifact's a purl `pkg:generic/APP/NAME@VERSION?checksum=sha256:HEX`.
//! Gantry's own data goes in `customData` (camelCase keys), enough to rebuild the run's rows.

use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};
use gantry_model::event::RunInfo;
use gantry_model::{RunEvent, RunEventKind, RunResult, TaskOutcome, TaskPath};
use serde_json::{Map, Value, json};

/// The CDEvents specification version of every event Gantry writes.
pub const SPEC_VERSION: &str = "0.5.1";

pub const PIPELINE_RUN_QUEUED: &str = "dev.cdevents.pipelinerun.queued.0.3.0";
pub const PIPELINE_RUN_STARTED: &str = "dev.cdevents.pipelinerun.started.0.3.0";
pub const PIPELINE_RUN_FINISHED: &str = "dev.cdevents.pipelinerun.finished.0.3.0";
pub const TASK_RUN_STARTED: &str = "dev.cdevents.taskrun.started.0.3.0";
pub const TASK_RUN_FINISHED: &str = "dev.cdevents.taskrun.finished.0.3.0";
pub const ARTIFACT_PACKAGED: &str = "dev.cdevents.artifact.packaged.0.3.0";

/// What a run is, as needed to describe any of its events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunContext {
    pub app: String,
    pub version: String,
    pub build: u64,
    pub revision: Option<String>,
    pub branch: Option<String>,
}

impl From<&RunInfo> for RunContext {
    fn from(info: &RunInfo) -> Self {
        Self {
            app: info.app.clone(),
            version: info.version.clone(),
            build: info.build,
            revision: info.revision.clone(),
            branch: info.branch.clone(),
        }
    }
}

/// The CDEvent for `event`, or `None` for events that have no CDEvent (stages, task output).
pub fn to_cdevent(event: &RunEvent, run: &RunContext) -> Option<Value> {
    let run_id = event.run_id.0.as_str();
    let mut custom = Map::new();
    custom.insert("app".into(), json!(run.app));
    custom.insert("version".into(), json!(run.version));
    custom.insert("build".into(), json!(run.build));
    custom.insert("revision".into(), json!(run.revision));
    custom.insert("branch".into(), json!(run.branch));
    let (kind, subject) = match &event.kind {
        RunEventKind::RunQueued(info) => {
            custom.insert("traceable".into(), json!(info.traceable));
            custom.insert("untraceableReason".into(), json!(info.untraceable_reason));
            custom.insert("mock".into(), json!(info.mock));
            if !info.selection.is_all() {
                custom.insert("selection".into(), json!(info.selection));
            }
            custom.insert(
                "pipeline".into(),
                serde_json::to_value(&info.pipeline).unwrap_or(Value::Null),
            );
            (PIPELINE_RUN_QUEUED, pipeline_run_subject(run_id, run, Map::new()))
        }
        RunEventKind::RunStarted => (
            PIPELINE_RUN_STARTED,
            pipeline_run_subject(run_id, run, Map::new()),
        ),
        RunEventKind::RunFinished { result } => {
            custom.insert("result".into(), json!(result.as_str()));
            let mut content = Map::new();
            content.insert("outcome".into(), json!(run_outcome(*result)));
            if let Some(errors) = run_errors(*result) {
                content.insert("errors".into(), json!(errors));
            }
            (PIPELINE_RUN_FINISHED, pipeline_run_subject(run_id, run, content))
        }
        RunEventKind::TaskStarted { path, attempt } => {
            custom.insert("path".into(), json!(path));
            custom.insert("stage".into(), json!(stage_of(path)));
            custom.insert("attempt".into(), json!(attempt));
            (TASK_RUN_STARTED, task_run_subject(run_id, path, run, Map::new()))
        }
        RunEventKind::TaskFinished {
            path,
            attempt,
            outcome,
            exit_code,
            will_retry,
            allowed_failure,
        } => {
            custom.insert("path".into(), json!(path));
            custom.insert("stage".into(), json!(stage_of(path)));
            custom.insert("attempt".into(), json!(attempt));
            custom.insert("outcome".into(), json!(outcome.as_str()));
            custom.insert("exitCode".into(), json!(exit_code));
            custom.insert("willRetry".into(), json!(will_retry));
            custom.insert("allowedFailure".into(), json!(allowed_failure));
            let mut content = Map::new();
            content.insert("outcome".into(), json!(task_outcome(*outcome)));
            if let Some(errors) = task_errors(*outcome, *exit_code) {
                content.insert("errors".into(), json!(errors));
            }
            (TASK_RUN_FINISHED, task_run_subject(run_id, path, run, content))
        }
        RunEventKind::TaskSkipped { path, reason } => {
            custom.insert("path".into(), json!(path));
            custom.insert("stage".into(), json!(stage_of(path)));
            custom.insert("outcome".into(), json!(TaskOutcome::Skipped.as_str()));
            custom.insert("skipReason".into(), json!(reason));
            let mut content = Map::new();
            content.insert("outcome".into(), json!(task_outcome(TaskOutcome::Skipped)));
            content.insert("errors".into(), json!(format!("skipped: {reason}")));
            (TASK_RUN_FINISHED, task_run_subject(run_id, path, run, content))
        }
        RunEventKind::ArtifactPackaged {
            path,
            name,
            size,
            sha256,
            ..
        } => {
            custom.insert("path".into(), json!(path));
            custom.insert("name".into(), json!(name));
            custom.insert("size".into(), json!(size));
            custom.insert("sha256".into(), json!(sha256.to_ascii_lowercase()));
            let subject = json!({
                "id": artifact_purl(run, name, sha256),
                "source": source(&run.app),
                "content": {
                    "change": {
                        "id": run.revision.clone().unwrap_or_else(|| "unknown".to_owned()),
                        "source": source(&run.app),
                    },
                },
            });
            (ARTIFACT_PACKAGED, subject)
        }
        RunEventKind::StageStarted { .. }
        | RunEventKind::StageFinished { .. }
        | RunEventKind::TaskOutput { .. } => {
            return None;
        }
    };
    Some(json!({
        "context": {
            "specversion": SPEC_VERSION,
            "id": event.id,
            "source": source(&run.app),
            "type": kind,
            "timestamp": timestamp(event.at),
            "chainId": run_id,
        },
        "subject": subject,
        "customDataContentType": "application/json",
        "customData": Value::Object(custom),
    }))
}

/// The CDEvents outcome of a finished run (the schema allows `success`, `failure`, `cancel`,
/// `error`): Gantry dying mid-run is an error of the system, not a failure of the pipeline.
pub fn run_outcome(result: RunResult) -> &'static str {
    match result {
        RunResult::Success => "success",
        RunResult::Failure => "failure",
        RunResult::Cancelled => "cancel",
        RunResult::Interrupted | RunResult::AgentLost => "error",
    }
}

/// The CDEvents outcome of a task run. The taskrun schema leaves it free; we keep to the values
/// the pipelinerun schema allows, and put Gantry's exact outcome in `customData`.
pub fn task_outcome(outcome: TaskOutcome) -> &'static str {
    match outcome {
        TaskOutcome::Success => "success",
        TaskOutcome::Failure | TaskOutcome::TimedOut => "failure",
        TaskOutcome::Cancelled | TaskOutcome::Skipped => "cancel",
    }
}

fn run_errors(result: RunResult) -> Option<&'static str> {
    match result {
        RunResult::Success | RunResult::Cancelled => None,
        RunResult::Failure => Some("a task failed"),
        RunResult::Interrupted => Some("the process running the pipeline stopped before the run finished"),
        RunResult::AgentLost => {
            Some("the agent running the pipeline stopped answering; its job was queued again")
        }
    }
}

fn task_errors(outcome: TaskOutcome, exit_code: Option<i32>) -> Option<String> {
    match (outcome, exit_code) {
        (TaskOutcome::Failure, Some(code)) => Some(format!("exited with code {code}")),
        (TaskOutcome::Failure, None) => Some("failed".to_owned()),
        (TaskOutcome::TimedOut, _) => Some("timed out".to_owned()),
        _ => None,
    }
}

fn pipeline_run_subject(run_id: &str, run: &RunContext, mut content: Map<String, Value>) -> Value {
    content.insert("pipelineName".into(), json!(run.app));
    content.insert("uri".into(), json!(run_uri(run_id)));
    json!({ "id": run_id, "source": source(&run.app), "content": content })
}

fn task_run_subject(
    run_id: &str,
    path: &TaskPath,
    run: &RunContext,
    mut content: Map<String, Value>,
) -> Value {
    content.insert("taskName".into(), json!(path.as_str()));
    content.insert(
        "uri".into(),
        json!(format!("{}/{}", run_uri(run_id), path_uri(path.as_str()))),
    );
    content.insert(
        "pipelineRun".into(),
        json!({ "id": run_id, "source": source(&run.app) }),
    );
    json!({ "id": format!("{run_id}/{path}"), "source": source(&run.app), "content": content })
}

/// `/gantry/APP`, the `source` of every event of an app's runs.
pub fn source(app: &str) -> String {
    format!("/gantry/{}", percent_encode(app))
}

/// A URI naming the run (`urn:gantry:run:RUNID`): the schema requires an absolute URI, and a
/// run has no web address until a server shows it.
pub fn run_uri(run_id: &str) -> String {
    format!("urn:gantry:run:{}", percent_encode(run_id))
}

/// `pkg:generic/APP/NAME@VERSION?checksum=sha256:HEX`, the artifact's package URL.
pub fn artifact_purl(run: &RunContext, name: &str, sha256: &str) -> String {
    format!(
        "pkg:generic/{}/{}@{}?checksum=sha256:{}",
        percent_encode(&run.app),
        percent_encode(name),
        percent_encode(&run.version),
        percent_encode(&sha256.to_ascii_lowercase()),
    )
}

/// The stage a task belongs to: the first segment of its path (`setup` and `finally` included).
pub fn stage_of(path: &TaskPath) -> &str {
    path.as_str().split('/').next().unwrap_or_default()
}

/// RFC 3339 in UTC with microseconds, the precision both databases keep.
pub(crate) fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// A task path as URI path segments: each segment encoded, the slashes kept.
fn path_uri(path: &str) -> String {
    path.split('/').map(percent_encode).collect::<Vec<_>>().join("/")
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_names_into_uris() {
        let check = |text: &str, expect: &str| assert_eq!(percent_encode(text), expect, "{text}");
        check("hello", "hello");
        check("my app", "my%20app");
        check("target/release/hello", "target%2Frelease%2Fhello");
        check("é", "%C3%A9");
        assert_eq!(path_uri("test/acceptance/check it"), "test/acceptance/check%20it");
    }

    #[test]
    fn artifact_subject_is_a_purl() {
        let run = RunContext {
            app: "hello".into(),
            version: "1.4.2".into(),
            build: 2,
            revision: None,
            branch: None,
        };
        assert_eq!(
            artifact_purl(&run, "target/release/hello", "AB"),
            "pkg:generic/hello/target%2Frelease%2Fhello@1.4.2?checksum=sha256:ab"
        );
    }
}
