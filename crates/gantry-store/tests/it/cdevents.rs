//! The CDEvents Gantry writes and accepts, checked against the official CDEvents 0.5.1 schemas
//! and conformance examples (a copy of the specification folder in `fixtures/cdevents`).

use std::collections::{BTreeSet, HashMap};
use std::error::Error;
use std::path::{Path, PathBuf};

use gantry_model::RunResult;
use gantry_store::{StoreError, validate_cdevent};
use gantry_test::{HELLO_SHA256, RecordAllocated, RunBuilder, TestStore, full_run};
use jsonschema::{Draft, Retrieve, Uri, Validator};
use serde_json::{Value, json};

fn spec_dir() -> PathBuf {
    // A copy of the official specification folder (Apache-2.0, the CDEvents project).
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/cdevents/spec-v0.5.1")
}

/// Resolves `https://cdevents.dev/0.5.1/schema/...` from the local schema folder.
struct LocalSchemas(PathBuf);

impl Retrieve for LocalSchemas {
    fn retrieve(&self, uri: &Uri<String>) -> Result<Value, Box<dyn Error + Send + Sync>> {
        let name = uri
            .as_str()
            .strip_prefix("https://cdevents.dev/0.5.1/schema/")
            .ok_or_else(|| format!("`{}` is not a CDEvents 0.5.1 schema", uri.as_str()))?;
        let text = std::fs::read_to_string(self.0.join(format!("{name}.json")))?;
        Ok(serde_json::from_str(&text)?)
    }
}

/// A validator per event type, compiled from the official schema files.
fn official_validators() -> HashMap<String, Validator> {
    let dir = spec_dir().join("schemas");
    let mut validators = HashMap::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|ext| ext != "json") {
            continue;
        }
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let kind = schema
            .pointer("/properties/context/properties/type/enum/0")
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned();
        let validator = jsonschema::options()
            .with_draft(Draft::Draft202012)
            .should_validate_formats(true)
            .with_retriever(LocalSchemas(dir.clone()))
            .build(&schema)
            .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        validators.insert(kind, validator);
    }
    validators
}

fn check_official(validators: &HashMap<String, Validator>, event: &Value) {
    let kind = event["context"]["type"].as_str().unwrap();
    let validator = validators
        .get(kind)
        .unwrap_or_else(|| panic!("no schema for `{kind}`"));
    let errors: Vec<String> = validator
        .iter_errors(event)
        .map(|err| format!("{}: {err}", err.instance_path))
        .collect();
    assert!(errors.is_empty(), "{kind}: {errors:#?}\n{event:#}");
}

async fn every_event_of_recorded_runs_is_valid(test: TestStore) {
    let artifact = test.file("hello", b"hello");
    let validators = official_validators();
    let mut kinds = BTreeSet::new();
    let mut outcomes = BTreeSet::new();
    for (build, result) in (1..).zip([
        RunResult::Success,
        RunResult::Failure,
        RunResult::Cancelled,
        RunResult::Interrupted,
    ]) {
        let mut run = RunBuilder::new("hello world", build);
        test.store
            .record_allocated(&full_run(&mut run, &artifact, HELLO_SHA256, result))
            .await
            .unwrap();
        for event in test.store.events_for_chain(&run.run_id.0).await.unwrap() {
            check_official(&validators, &event);
            validate_cdevent(&event).unwrap();
            assert_eq!(event["context"]["specversion"], "0.5.1");
            assert_eq!(event["context"]["chainId"], run.run_id.0.as_str());
            assert_eq!(event["context"]["source"], "/gantry/hello%20world");
            assert_eq!(event["customData"]["app"], "hello world");
            kinds.insert(event["context"]["type"].as_str().unwrap().to_owned());
            if let Some(outcome) = event.pointer("/subject/content/outcome") {
                outcomes.insert(outcome.as_str().unwrap().to_owned());
            }
        }
    }
    let expected: BTreeSet<String> = [
        "dev.cdevents.pipelinerun.queued.0.3.0",
        "dev.cdevents.pipelinerun.started.0.3.0",
        "dev.cdevents.pipelinerun.finished.0.3.0",
        "dev.cdevents.taskrun.started.0.3.0",
        "dev.cdevents.taskrun.finished.0.3.0",
        "dev.cdevents.artifact.packaged.0.3.0",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(kinds, expected);
    let outcomes: Vec<&str> = outcomes.iter().map(String::as_str).collect();
    assert_eq!(outcomes, ["cancel", "error", "failure", "success"]);
}

async fn events_carry_what_rebuilds_the_run(test: TestStore) {
    let artifact = test.file("hello", b"hello");
    let mut run = RunBuilder::new("hello", 3);
    let recorded = full_run(&mut run, &artifact, HELLO_SHA256, RunResult::Success);
    test.store.record_allocated(&recorded).await.unwrap();
    let events = test.store.events_for_chain(&run.run_id.0).await.unwrap();
    let id = run.run_id.0.as_str();
    let of_type = |kind: &str| -> Vec<&Value> {
        events
            .iter()
            .filter(|event| event["context"]["type"] == format!("dev.cdevents.{kind}"))
            .collect()
    };

    let queued = of_type("pipelinerun.queued.0.3.0")[0];
    assert_eq!(queued["context"]["id"], recorded[0].id.as_str());
    assert_eq!(queued["subject"]["id"], id);
    assert_eq!(queued["subject"]["content"]["pipelineName"], "hello");
    assert_eq!(
        queued["subject"]["content"]["uri"],
        format!("urn:gantry:run:{id}")
    );
    let custom = &queued["customData"];
    assert_eq!(
        (custom["version"].as_str(), custom["build"].as_u64()),
        (Some("1.4.3"), Some(3))
    );
    assert_eq!(custom["branch"], "main");
    assert_eq!(custom["traceable"], true);
    assert_eq!(custom["pipeline"]["stages"][0]["name"], "build");

    let finished = of_type("taskrun.finished.0.3.0");
    let unit: Vec<&&Value> = finished
        .iter()
        .filter(|event| event["subject"]["id"] == format!("{id}/test/unit"))
        .collect();
    assert_eq!(unit.len(), 2, "one per attempt");
    assert_eq!(unit[0]["subject"]["content"]["outcome"], "failure");
    assert_eq!(unit[0]["subject"]["content"]["errors"], "exited with code 1");
    assert_eq!(unit[0]["customData"]["willRetry"], true);
    assert_eq!(unit[1]["customData"]["attempt"], 2);
    assert_eq!(unit[1]["subject"]["content"]["pipelineRun"]["id"], id);
    let skipped = finished
        .iter()
        .find(|event| event["customData"]["outcome"] == "skipped")
        .unwrap();
    assert_eq!(skipped["subject"]["content"]["outcome"], "cancel");
    assert!(
        skipped["customData"]["skipReason"]
            .as_str()
            .unwrap()
            .contains("release/*")
    );
    let lint = finished
        .iter()
        .find(|event| event["customData"]["path"] == "test/lint")
        .unwrap();
    assert_eq!(lint["customData"]["outcome"], "timed_out");
    assert_eq!(lint["customData"]["allowedFailure"], true);

    let packaged = of_type("artifact.packaged.0.3.0")[0];
    assert_eq!(
        packaged["subject"]["id"],
        format!("pkg:generic/hello/target%2Frelease%2Fhello@1.4.3?checksum=sha256:{HELLO_SHA256}")
    );
    assert_eq!(
        packaged["subject"]["content"]["change"]["id"],
        "0123456789abcdef0123456789abcdef01234567"
    );
    assert_eq!(packaged["customData"]["sha256"], HELLO_SHA256);
    assert_eq!(packaged["customData"]["size"], 5);
}

#[test]
fn every_conformance_example_is_valid() {
    let validators = official_validators();
    let mut count = 0;
    for entry in std::fs::read_dir(spec_dir().join("conformance")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|ext| ext != "json") {
            continue;
        }
        let event: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        check_official(&validators, &event);
        validate_cdevent(&event).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        count += 1;
    }
    assert_eq!(count, validators.len(), "one example per event type");
}

/// The schemas compiled into the crate are the official ones, unchanged.
#[test]
fn compiled_in_schemas_match_the_specification() {
    let ours = Path::new(env!("CARGO_MANIFEST_DIR")).join("cdevents-schemas");
    let official = spec_dir().join("schemas");
    let mut compared = 0;
    for sub in ["", "links"] {
        for entry in std::fs::read_dir(official.join(sub)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|ext| ext != "json") {
                continue;
            }
            let name = path.file_name().unwrap();
            let copy =
                std::fs::read(ours.join(sub).join(name)).unwrap_or_else(|err| panic!("{name:?}: {err}"));
            assert_eq!(copy, std::fs::read(&path).unwrap(), "{name:?} differs");
            compared += 1;
        }
    }
    assert_eq!(compared, 45 + 8);
}

async fn stores_other_tools_events_once(test: TestStore) {
    let mut examples = Vec::new();
    for entry in std::fs::read_dir(spec_dir().join("conformance")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "json") {
            let mut event: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            // The examples all share one id; give each its own.
            event["context"]["id"] = json!(path.file_stem().unwrap().to_str().unwrap());
            examples.push(event);
        }
    }
    // Sent as text, pretty-printed as a tool might.
    let texts: Vec<String> = examples
        .iter()
        .map(|event| serde_json::to_string_pretty(event).unwrap())
        .collect();
    assert_eq!(test.store.record_cdevents(&texts).await.unwrap(), examples.len());
    assert_eq!(test.store.record_cdevents(&texts).await.unwrap(), 0);
    let chain = examples[0]["context"]["chainId"].as_str().unwrap();
    let in_chain = examples
        .iter()
        .filter(|event| event["context"]["chainId"] == chain)
        .count();
    let stored = test.store.events_for_chain(chain).await.unwrap();
    assert_eq!(stored.len(), in_chain);
    let ids: BTreeSet<&str> = stored
        .iter()
        .map(|event| event["context"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), in_chain);

    // One bad event refuses the batch, saying which and where.
    let mut good = examples[0].clone();
    good["context"]["id"] = json!("new-one");
    let mut bad = examples[1].clone();
    bad["context"]["id"] = json!("bad-one");
    bad["subject"]["content"] = json!("not an object");
    let err = test
        .store
        .record_cdevents(&[good.to_string(), bad.to_string()])
        .await
        .unwrap_err();
    let StoreError::InvalidCdEvent { index, source } = &err else {
        panic!("{err:?}")
    };
    assert_eq!((*index, source.field.as_str()), (1, "/subject/content"));
    let err = test
        .store
        .record_cdevents(&[good.to_string(), "{\"context\":".to_owned()])
        .await
        .unwrap_err();
    let StoreError::InvalidCdEvent { index, source } = &err else {
        panic!("{err:?}")
    };
    assert_eq!((*index, source.field.as_str()), (1, "/"), "{err}");
    assert_eq!(test.store.events_for_chain(chain).await.unwrap().len(), in_chain);

    // The same new event twice in one batch is stored once.
    let twice = [good.to_string(), good.to_string()];
    assert_eq!(test.store.record_cdevents(&twice).await.unwrap(), 1);
    assert_eq!(
        test.store.events_for_chain(chain).await.unwrap().len(),
        in_chain + 1
    );
}

gantry_test::on_both_backends!(
    every_event_of_recorded_runs_is_valid,
    events_carry_what_rebuilds_the_run,
    stores_other_tools_events_once,
);
