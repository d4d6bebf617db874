//! Validation of CDEvents against the official CDEvents 0.5.1 JSON schemas.
//!
//! The schemas are compiled into the binary (`cdevents-schemas/`, Apache-2.0, from the CDEvents
//! project); the shared `links/...` schemas they reference are registered as in-memory resources
//! under their `$id`, so validation never touches the network or the file system.

use std::collections::HashMap;
use std::sync::OnceLock;

use jsonschema::{Draft, Resource, Validator};
use serde::Serialize;
use serde_json::Value;

/// Why an event is not a valid CDEvent: where (a JSON pointer) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("at `{field}`: {reason}")]
pub struct CdEventError {
    /// A JSON pointer into the event, such as `/subject/content/outcome`; `/` for the whole.
    pub field: String,
    pub reason: String,
}

macro_rules! schemas {
    ($($file:literal),* $(,)?) => {
        &[$(($file, include_str!(concat!("../cdevents-schemas/", $file)))),*]
    };
}

/// Every event schema of the specification, by file name.
const EVENT_SCHEMAS: &[(&str, &str)] = schemas![
    "artifactdeleted.json",
    "artifactdownloaded.json",
    "artifactpackaged.json",
    "artifactpublished.json",
    "artifactsigned.json",
    "branchcreated.json",
    "branchdeleted.json",
    "buildfinished.json",
    "buildqueued.json",
    "buildstarted.json",
    "changeabandoned.json",
    "changecreated.json",
    "changemerged.json",
    "changereviewed.json",
    "changeupdated.json",
    "environmentcreated.json",
    "environmentdeleted.json",
    "environmentmodified.json",
    "incidentdetected.json",
    "incidentreported.json",
    "incidentresolved.json",
    "pipelinerunfinished.json",
    "pipelinerunqueued.json",
    "pipelinerunstarted.json",
    "repositorycreated.json",
    "repositorydeleted.json",
    "repositorymodified.json",
    "servicedeployed.json",
    "servicepublished.json",
    "serviceremoved.json",
    "servicerolledback.json",
    "serviceupgraded.json",
    "taskrunfinished.json",
    "taskrunstarted.json",
    "testcaserunfinished.json",
    "testcaserunqueued.json",
    "testcaserunskipped.json",
    "testcaserunstarted.json",
    "testoutputpublished.json",
    "testsuiterunfinished.json",
    "testsuiterunqueued.json",
    "testsuiterunstarted.json",
    "ticketclosed.json",
    "ticketcreated.json",
    "ticketupdated.json",
];

/// The schemas the event schemas reference through `links/...`.
const LINK_SCHEMAS: &[(&str, &str)] = schemas![
    "links/embeddedlinkend.json",
    "links/embeddedlinkpath.json",
    "links/embeddedlinkrelation.json",
    "links/embeddedlinksarray.json",
    "links/linkend.json",
    "links/linkpath.json",
    "links/linkrelation.json",
    "links/linkstart.json",
];

/// Validates `event` against the schema of its `context.type`.
///
/// Only the event types of CDEvents 0.5.1 are known; any other type is refused.
pub fn validate_cdevent(event: &Value) -> Result<(), CdEventError> {
    if !event.is_object() {
        return Err(error("/", "is not a JSON object"));
    }
    if !event.get("context").is_some_and(Value::is_object) {
        return Err(error("/context", "is missing or not an object"));
    }
    let kind = event
        .pointer("/context/type")
        .ok_or_else(|| error("/context/type", "is missing"))?
        .as_str()
        .ok_or_else(|| error("/context/type", "is not a string"))?;
    let validators = validators().map_err(|reason| error("/", &reason))?;
    let validator = validators.get(kind).ok_or_else(|| {
        error(
            "/context/type",
            &format!("`{kind}` is not an event type of CDEvents 0.5.1"),
        )
    })?;
    validator.validate(event).map_err(|err| {
        let field = err.instance_path.to_string();
        CdEventError {
            field: if field.is_empty() { "/".to_owned() } else { field },
            reason: err.to_string(),
        }
    })
}

/// The event types [`validate_cdevent`] knows, such as `dev.cdevents.pipelinerun.queued.0.3.0`.
pub fn known_cdevent_types() -> Vec<&'static str> {
    let mut kinds: Vec<&str> = validators()
        .map(|map| map.keys().map(String::as_str).collect())
        .unwrap_or_default();
    kinds.sort_unstable();
    kinds
}

fn error(field: &str, reason: &str) -> CdEventError {
    CdEventError {
        field: field.to_owned(),
        reason: reason.to_owned(),
    }
}

/// One compiled validator per event type, built once.
fn validators() -> Result<&'static HashMap<String, Validator>, String> {
    static VALIDATORS: OnceLock<Result<HashMap<String, Validator>, String>> = OnceLock::new();
    VALIDATORS.get_or_init(compile).as_ref().map_err(Clone::clone)
}

fn compile() -> Result<HashMap<String, Validator>, String> {
    let mut links = Vec::new();
    for (file, text) in LINK_SCHEMAS {
        let schema: Value = serde_json::from_str(text).map_err(|err| format!("schema `{file}`: {err}"))?;
        let id = schema_id(&schema, file)?;
        let resource = Resource::from_contents(schema).map_err(|err| format!("schema `{file}`: {err}"))?;
        links.push((id, resource));
    }
    let mut validators = HashMap::new();
    for (file, text) in EVENT_SCHEMAS {
        let schema: Value = serde_json::from_str(text).map_err(|err| format!("schema `{file}`: {err}"))?;
        let kind = schema
            .pointer("/properties/context/properties/type/enum/0")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("schema `{file}` names no event type"))?
            .to_owned();
        let validator = jsonschema::options()
            .with_draft(Draft::Draft202012)
            .should_validate_formats(true)
            .with_resources(links.iter().cloned())
            .build(&schema)
            .map_err(|err| format!("schema `{file}`: {err}"))?;
        validators.insert(kind, validator);
    }
    Ok(validators)
}

fn schema_id(schema: &Value, file: &str) -> Result<String, String> {
    schema
        .get("$id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| format!("schema `{file}` has no `$id`"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn knows_every_event_type_of_the_specification() {
        let kinds = known_cdevent_types();
        assert_eq!(kinds.len(), EVENT_SCHEMAS.len());
        assert!(kinds.contains(&"dev.cdevents.pipelinerun.finished.0.3.0"));
    }

    #[test]
    fn reports_where_an_event_is_wrong() {
        let check = |event: Value, field: &str| {
            let err = validate_cdevent(&event).unwrap_err();
            assert_eq!(err.field, field, "{err}");
        };
        let good = json!({
            "context": {
                "specversion": "0.5.1",
                "id": "1",
                "source": "/x",
                "type": "dev.cdevents.pipelinerun.finished.0.3.0",
                "timestamp": "2024-01-01T00:00:00Z",
            },
            "subject": { "id": "run", "content": { "outcome": "success" } },
        });
        validate_cdevent(&good).unwrap();

        let mut bad = good.clone();
        bad["subject"]["content"]["outcome"] = json!("skipped");
        check(bad, "/subject/content/outcome");
        let mut bad = good.clone();
        bad["context"]["timestamp"] = json!("yesterday");
        check(bad, "/context/timestamp");
        let mut bad = good.clone();
        bad["context"]["type"] = json!("dev.cdevents.pipelinerun.finished.0.1.0");
        check(bad, "/context/type");
        check(json!({ "context": {} }), "/context/type");
        check(json!([]), "/");
        check(json!({ "context": 5 }), "/context");
        check(json!({}), "/context");
    }
}
