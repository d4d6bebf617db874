//! [`json_schema`]: the JSON Schema of the pipeline file, for editors and for users' tooling.
//!
//! Derived from the raw types, so it follows the file format by construction; the copy checked
//! in at `schema/gantry.schema.json` is compared with it by a test.

use schemars::Schema;
use schemars::generate::SchemaSettings;
use schemars::transform::RecursiveTransform;
use serde_json::Value;

use crate::raw::RawPipeline;

/// The JSON Schema (draft 2020-12) of a pipeline file.
pub fn json_schema() -> serde_json::Value {
    SchemaSettings::draft2020_12()
        .with_transform(RecursiveTransform(forbid_null))
        .into_generator()
        .into_root_schema_for::<RawPipeline>()
        .to_value()
}

/// A key left out is how the file says "not set"; `null` is never a valid value, although the
/// raw types hold optional values as `Option`.
fn forbid_null(schema: &mut Schema) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    if let Some(Value::Array(types)) = object.get_mut("type") {
        types.retain(|kind| kind != "null");
        if let [only] = types.as_slice() {
            let only = only.clone();
            object.insert("type".to_owned(), only);
        }
    }
    if let Some(Value::Array(branches)) = object.get("anyOf") {
        let null = serde_json::json!({ "type": "null" });
        let kept: Vec<Value> = branches
            .iter()
            .filter(|branch| **branch != null)
            .cloned()
            .collect();
        if let [Value::Object(only)] = kept.as_slice() {
            let only = only.clone();
            object.remove("anyOf");
            for (key, value) in only {
                object.entry(key).or_insert(value);
            }
        } else {
            object.insert("anyOf".to_owned(), Value::Array(kept));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;
    use crate::raw::RawTemplate;

    fn keys(schema: &Value, definition: Option<&str>) -> Vec<String> {
        let object = match definition {
            Some(name) => &schema["$defs"][name],
            None => schema,
        };
        object["properties"]
            .as_object()
            .expect("properties")
            .keys()
            .cloned()
            .collect()
    }

    /// The keys the loader reads and the keys the schema describes are the same, in order.
    #[test]
    fn schema_and_loader_agree_on_keys() {
        let schema = json_schema();
        let check = |definition: Option<&str>, expect: &[&str]| {
            assert_eq!(keys(&schema, definition), expect, "{definition:?}");
        };
        check(None, parse::PIPELINE_KEYS);
        check(Some("Stage"), parse::STAGE_KEYS);
        check(Some("Task"), parse::TASK_KEYS);
        check(Some("Ref"), parse::REF_KEYS);
        check(Some("When"), parse::WHEN_KEYS);

        let template = schemars::schema_for!(RawTemplate).to_value();
        assert_eq!(keys(&template, None), parse::TEMPLATE_KEYS);
        assert_eq!(keys(&template, Some("Param")), parse::PARAM_KEYS);
    }

    /// A YAML document as JSON, the way an editor's YAML language server sees it.
    fn to_json(node: &crate::yaml::Node) -> Value {
        use crate::yaml::{ScalarKind, Value as Yaml};
        match &node.value {
            Yaml::Scalar(scalar) => match scalar.kind() {
                ScalarKind::Null => Value::Null,
                ScalarKind::Bool(value) => Value::Bool(value),
                ScalarKind::Integer => scalar
                    .text
                    .parse::<i64>()
                    .map_or_else(|_| Value::from(scalar.text.clone()), Value::from),
                ScalarKind::Float => scalar
                    .text
                    .parse::<f64>()
                    .map_or_else(|_| Value::from(scalar.text.clone()), Value::from),
                ScalarKind::String => Value::from(scalar.text.clone()),
            },
            Yaml::Sequence(items) => Value::Array(items.iter().map(to_json).collect()),
            Yaml::Mapping(entries) => Value::Object(
                entries
                    .iter()
                    .map(|entry| (entry.key.clone(), to_json(&entry.value)))
                    .collect(),
            ),
        }
    }

    fn fixture_as_json(path: &str) -> Value {
        let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures")
            .join(path);
        let text = std::fs::read_to_string(&full).unwrap_or_else(|error| panic!("{path}: {error}"));
        let mut out = crate::diagnostic::Collector::default();
        let file = out.add_file(path, &text);
        let crate::yaml::Parsed::Document(node) = crate::yaml::parse(&text, file, &mut out) else {
            panic!("{path}")
        };
        to_json(&node)
    }

    /// What the loader accepts, the schema accepts; some of what it rejects, the schema rejects
    /// too, so editors flag it as the user types.
    #[test]
    fn schema_agrees_with_the_fixtures() {
        let validator = jsonschema::validator_for(&json_schema()).expect("a valid schema");
        let valid_dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/pipelines/valid");
        let mut valid: Vec<String> = std::fs::read_dir(valid_dir)
            .unwrap()
            .map(|entry| format!("pipelines/valid/{}", entry.unwrap().file_name().to_string_lossy()))
            .collect();
        valid.extend([
            "library/pipelines/service.yml".to_owned(),
            "library/pipelines/rust-service.yml".to_owned(),
        ]);
        for path in valid.iter().filter(|path| !path.ends_with("numbers-as-text.yml")) {
            let errors: Vec<String> = validator
                .iter_errors(&fixture_as_json(path))
                .map(|error| format!("{error} at {}", error.instance_path))
                .collect();
            assert!(errors.is_empty(), "{path}: {errors:#?}");
        }
        for path in [
            "pipelines/invalid/unknown-keys.yml",
            "pipelines/invalid/missing-keys.yml",
            "pipelines/invalid/wrong-types.yml",
            "pipelines/invalid/task-bodies.yml",
            "pipelines/invalid/empty-lists.yml",
            "library/pipelines/broken.yml",
        ] {
            assert!(
                !validator.is_valid(&fixture_as_json(path)),
                "{path} passes the schema"
            );
        }
    }

    #[test]
    fn never_allows_null() {
        let text = json_schema().to_string();
        assert!(!text.contains("\"null\""), "{text}");
    }
}
