//! The OpenAPI schemas describe what the types really serialize to: real values, of the API's
//! types and of the model's events, validate against the schemas derived for them.

use chrono::{TimeZone, Utc};
use gantry_api::{RunDocument, RunEventBatch, RunStatus, RunSummary};
use gantry_model::event::RunInfo;
use gantry_model::{
    LogStream, Pipeline, RunEvent, RunEventKind, RunId, RunResult, Runner, Selection, Stage, Task,
    TaskOutcome, TaskPath, Traceability,
};
use serde_json::{Value, json};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(components(schemas(RunEventBatch, RunDocument, gantry_api::LogLine)))]
struct Schemas;

/// A validator for the component `name`, resolving `$ref`s within the components.
fn validator(name: &str) -> jsonschema::Validator {
    let document = serde_json::to_value(Schemas::openapi()).unwrap();
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": document["components"],
        "$ref": format!("#/components/schemas/{name}"),
    });
    jsonschema::validator_for(&schema).unwrap()
}

fn check(name: &str, value: &Value) {
    let validator = validator(name);
    let problems: Vec<String> = validator
        .iter_errors(value)
        .map(|error| format!("{}: {error}", error.instance_path))
        .collect();
    assert!(problems.is_empty(), "{name}: {problems:#?}\nin {value:#}");
}

fn events() -> Vec<RunEvent> {
    let at = Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap();
    let path = TaskPath("build/compile".into());
    let pipeline = Pipeline {
        app: "hello".into(),
        version: "1.0.{build}".into(),
        env: indexmap::IndexMap::new(),
        secrets: Vec::new(),
        traceable: Traceability::Optional,
        setup: Vec::new(),
        stages: vec![Stage {
            name: "build".into(),
            parallel: false,
            when: None,
            tasks: vec![Task::script("compile", "make")],
        }],
        finally: Vec::new(),
    };
    let kinds = vec![
        RunEventKind::RunQueued(Box::new(RunInfo {
            app: "hello".into(),
            version: "1.0.1".into(),
            build: 1,
            revision: Some("abc".into()),
            branch: None,
            traceable: false,
            untraceable_reason: Some("dirty".into()),
            pipeline,
            mock: false,
            selection: Selection::Only("build".into()),
            runner: Some(Runner {
                host: "ci-1".into(),
                pid: 42,
            }),
        })),
        RunEventKind::RunStarted,
        RunEventKind::StageStarted {
            stage: "build".into(),
        },
        RunEventKind::TaskStarted {
            path: path.clone(),
            attempt: 1,
        },
        RunEventKind::TaskOutput {
            path: path.clone(),
            stream: LogStream::Stderr,
            lines: vec!["warning".into()],
        },
        RunEventKind::TaskFinished {
            path: path.clone(),
            attempt: 1,
            outcome: TaskOutcome::TimedOut,
            exit_code: None,
            will_retry: false,
            allowed_failure: true,
        },
        RunEventKind::TaskSkipped {
            path: path.clone(),
            reason: "when".into(),
        },
        RunEventKind::ArtifactPackaged {
            path,
            name: "out.bin".into(),
            source: "/tmp/out.bin".into(),
            size: 3,
            sha256: "0".repeat(64),
        },
        RunEventKind::StageFinished {
            stage: "build".into(),
            outcome: TaskOutcome::Success,
        },
        RunEventKind::RunFinished {
            result: RunResult::Interrupted,
        },
    ];
    kinds
        .into_iter()
        .enumerate()
        .map(|(index, kind)| RunEvent {
            id: format!("event-{index}"),
            run_id: RunId("run-1".into()),
            at,
            kind,
        })
        .collect()
}

#[test]
fn every_run_event_matches_its_schema() {
    let batch = serde_json::to_value(RunEventBatch::new(events())).unwrap();
    check("RunEventBatch", &batch);
    // And the schema is no blanket: an unknown event, or a missing field, is refused.
    let mut unknown = batch.clone();
    unknown["events"][1]["event"] = json!("run_paused");
    assert!(!validator("RunEventBatch").is_valid(&unknown));
    let mut missing = batch;
    missing["events"][3].as_object_mut().unwrap().remove("attempt");
    assert!(!validator("RunEventBatch").is_valid(&missing));
}

#[test]
fn a_run_document_matches_its_schema() {
    let at = Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap();
    let summary = RunSummary {
        id: "run-1".into(),
        app: "hello".into(),
        version: "1.0.1".into(),
        build: 1,
        revision: None,
        branch: Some("main".into()),
        traceable: true,
        untraceable_reason: None,
        result: RunStatus::Failure,
        mock: false,
        queued_at: at,
        started_at: Some(at),
        finished_at: None,
        duration_ms: None,
        selection: Selection::To("build".into()),
    };
    let document = RunDocument {
        summary,
        runner: None,
        last_contact_at: Some(at),
        pipeline: json!({"app": "hello"}),
        stages: vec![gantry_api::Stage {
            name: "build".into(),
            status: gantry_api::TaskStatus::TimedOut,
            started_at: Some(at),
            finished_at: None,
        }],
        tasks: Vec::new(),
        artifacts: vec![gantry_api::Artifact {
            task_path: "build/compile".into(),
            name: "out.bin".into(),
            size: 3,
            sha256: "a".repeat(64),
            recorded_at: at,
            download: gantry_api::Artifact::download_path(&"a".repeat(64)),
        }],
        events: vec![json!({
            "context": {"specversion": "0.5.1", "id": "e1", "source": "gantry", "type": "dev.cdevents.pipelinerun.queued.0.3.0", "timestamp": "2025-06-01T12:00:00Z", "chainId": "run-1"},
            "subject": {"id": "run-1", "content": {"pipelineName": "hello"}},
        })],
    };
    let value = serde_json::to_value(&document).unwrap();
    // The document reads flat: the summary's fields beside the rest, as clients have read it.
    assert_eq!(value["result"], "failure");
    assert_eq!(value["selection"], json!({"to": "build"}));
    assert_eq!(value["stages"][0]["status"], "timed_out");
    check("RunDocument", &value);
    let back: RunDocument = serde_json::from_value(value).unwrap();
    assert_eq!(back, document);
}
