//! The files as written: [`RawPipeline`], [`RawStage`], [`RawTask`], [`RawTemplate`].
//!
//! The first phase of loading. Every key that was present is here with its [`Span`], whether or
//! not its value makes sense yet; shapes are checked (a list is a list), meaning is not (names,
//! durations, globs, references are checked by validation). `ref`, `uses` and `type` are still
//! names here.
//!
//! These types also describe the file for editors: the JSON Schema in `schema/` is derived from
//! them, and their doc comments become its descriptions.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use crate::source::Span;

/// A value and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Span) -> Self {
        Self { value, span }
    }
}

/// The span of the key `name` among `keys`, if it was written.
pub(crate) fn key_span(keys: &[Spanned<String>], name: &str) -> Option<Span> {
    keys.iter().find(|key| key.value == name).map(|key| key.span)
}

/// In the schema, a spanned value is just the value.
impl<T: JsonSchema> JsonSchema for Spanned<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }

    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }

    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

/// A scalar as written (`info`, `8080`, `true`); used where any scalar reads as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawScalar {
    pub text: String,
    /// `Some` for an unquoted `true` or `false`.
    pub boolean: Option<bool>,
}

impl JsonSchema for RawScalar {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Scalar".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": ["string", "number", "boolean"] })
    }
}

/// A mapping from names to values, in the order written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawMap<V>(pub Vec<(Spanned<String>, V)>);

impl<V> Default for RawMap<V> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<V: JsonSchema> JsonSchema for RawMap<V> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        format!("Map_of_{}", V::schema_name()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "object", "additionalProperties": generator.subschema_for::<V>() })
    }
}

/// One or more branch globs: `main`, or `[main, "release/*"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawGlobs(pub Vec<Spanned<String>>);

impl JsonSchema for RawGlobs {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Globs".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "anyOf": [
                { "type": "string" },
                { "type": "array", "items": { "type": "string" }, "minItems": 1 }
            ]
        })
    }
}

/// A Gantry pipeline file: `gantry.yml` in an app's repository, or a prefab pipeline in the
/// library's `pipelines/` directory.
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(title = "Gantry pipeline", deny_unknown_fields)]
pub(crate) struct RawPipeline {
    /// The JSON Schema this file follows; read by editors, ignored by Gantry.
    #[schemars(rename = "$schema")]
    #[expect(
        dead_code,
        reason = "kept so that the schema lists the key; loading ignores it"
    )]
    pub schema: Option<Spanned<String>>,
    /// The app this pipeline delivers. Required, here or in the prefab named by `uses`.
    pub app: Option<Spanned<String>>,
    /// The version template, with `{build}`, `{sha}` and `{branch}` placeholders. Default:
    /// `"{build}"`.
    pub version: Option<Spanned<String>>,
    /// Environment variables for every task; numbers and booleans are taken as written.
    pub env: Option<Spanned<RawMap<RawScalar>>>,
    /// Names of secrets every task gets as environment variables.
    pub secrets: Option<Spanned<Vec<Spanned<String>>>>,
    /// Whether a run must be traceable to a pushed, clean revision. Default: `optional`.
    pub traceable: Option<Spanned<RawTraceability>>,
    /// The name of a prefab pipeline in the library (`pipelines/NAME.yml`) that this file fills
    /// in. A file with `uses` sets no `setup`, `stages` or `finally`.
    pub uses: Option<Spanned<String>>,
    /// Tasks that run before the stages; every one runs, and a failure skips the stages.
    pub setup: Option<Spanned<Vec<RawTaskItem>>>,
    /// The stages, run one after another.
    pub stages: Option<Spanned<Vec<RawStageItem>>>,
    /// Tasks that always run last, after success, failure or cancellation.
    pub finally: Option<Spanned<Vec<RawTaskItem>>>,
    /// Every key written, with its position, whether or not its value could be read.
    #[schemars(skip)]
    pub keys: Vec<Spanned<String>>,
    /// Where the file's mapping starts.
    #[schemars(skip)]
    pub span: Span,
}

/// `traceable`: whether an untraceable run may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, JsonSchema)]
#[schemars(rename = "Traceability", rename_all = "lowercase")]
pub(crate) enum RawTraceability {
    /// Untraceable runs start, and are marked as such.
    Optional,
    /// Untraceable runs refuse to start.
    Required,
}

/// An item of a list of stages: a stage, or a fragment that holds stages.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(rename = "StageItem", untagged)]
pub(crate) enum RawStageItem {
    Stage(RawStage),
    Ref(RawRef),
}

/// An item of a list of tasks: a task, or a fragment that holds tasks.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(rename = "TaskItem", untagged)]
pub(crate) enum RawTaskItem {
    Task(Box<RawTask>),
    Ref(RawRef),
}

/// `{ ref: NAME }`: the items of the fragment `fragments/NAME.yml` of the library, in place.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(rename = "Ref", deny_unknown_fields)]
pub(crate) struct RawRef {
    /// The fragment's name.
    #[schemars(rename = "ref")]
    pub name: Spanned<String>,
}

/// A named step of the pipeline.
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(rename = "Stage", deny_unknown_fields)]
pub(crate) struct RawStage {
    /// Unique among the stages; not `setup` or `finally`, no `/`.
    #[schemars(required)]
    pub name: Option<Spanned<String>>,
    /// The stage's tasks; at least one.
    #[schemars(required, extend("minItems" = 1))]
    pub tasks: Option<Spanned<Vec<RawTaskItem>>>,
    /// Run the tasks concurrently instead of one after another. Default: `false`.
    pub parallel: Option<Spanned<bool>>,
    /// Run the stage only when this holds.
    pub when: Option<Spanned<RawWhen>>,
}

/// One unit of work: exactly one of `run`, `tasks` or `type`.
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(
    rename = "Task",
    deny_unknown_fields,
    extend("oneOf" = [
        { "required": ["run"] },
        { "required": ["tasks"] },
        { "required": ["type"] }
    ]),
    extend("dependentRequired" = { "with": ["type"] })
)]
pub(crate) struct RawTask {
    /// Unique within its stage, group, `setup` or `finally`; no `/`.
    #[schemars(required)]
    pub name: Option<Spanned<String>>,
    /// A bash script, run with `bash -eo pipefail`.
    pub run: Option<Spanned<String>>,
    /// A serial group: these tasks run one after another.
    #[schemars(extend("minItems" = 1))]
    pub tasks: Option<Spanned<Vec<RawTaskItem>>>,
    /// A task template from the library (`tasks/NAME.yml`).
    #[schemars(rename = "type")]
    pub kind: Option<Spanned<String>>,
    /// Values for the template's params.
    pub with: Option<Spanned<RawMap<RawScalar>>>,
    /// Environment variables for this task, over the pipeline's.
    pub env: Option<Spanned<RawMap<RawScalar>>>,
    /// How long an attempt may take: `500ms`, `30s`, `10m`, `1h`, `1h30m`.
    pub timeout: Option<Spanned<String>>,
    /// How many times a failed attempt is tried again. Default: 0.
    pub retry: Option<Spanned<u32>>,
    /// A failure of this task does not fail the run. Default: `false`.
    pub allow_failure: Option<Spanned<bool>>,
    /// Run the task only when this holds.
    pub when: Option<Spanned<RawWhen>>,
    /// Files to keep after success: paths or globs, relative to `workdir`.
    pub artifacts: Option<Spanned<Vec<Spanned<String>>>>,
    /// The working directory, relative to the repository root.
    pub workdir: Option<Spanned<String>>,
    /// Every key written, with its position, whether or not its value could be read.
    #[schemars(skip)]
    pub keys: Vec<Spanned<String>>,
    #[schemars(skip)]
    pub span: Span,
}

/// A condition on the run.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(rename = "When", deny_unknown_fields)]
pub(crate) struct RawWhen {
    /// Branch globs; the condition holds when the run's branch matches one.
    #[schemars(required)]
    pub branch: Option<Spanned<RawGlobs>>,
}

/// A task template: the library's `tasks/NAME.yml`, used by a task's `type: NAME`.
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(title = "Gantry task template", deny_unknown_fields)]
pub(crate) struct RawTemplate {
    /// What the task does, for people.
    #[expect(
        dead_code,
        reason = "kept so that the schema lists the key; loading ignores it"
    )]
    pub description: Option<Spanned<String>>,
    /// The values a using task may or must give in `with`.
    pub params: Option<Spanned<RawMap<RawParam>>>,
    /// The script, with `{{ with.NAME }}` placeholders (`MiniJinja` syntax).
    #[schemars(required)]
    pub run: Option<Spanned<String>>,
    /// Environment variables; the using task's `env` wins.
    pub env: Option<Spanned<RawMap<RawScalar>>>,
    /// The default timeout; the using task's `timeout` wins.
    pub timeout: Option<Spanned<String>>,
}

/// A param of a task template.
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(rename = "Param", deny_unknown_fields)]
pub(crate) struct RawParam {
    /// What the value is for, for people.
    pub description: Option<Spanned<String>>,
    /// Whether every using task must give a value. Default: `false`.
    pub required: Option<Spanned<bool>>,
    /// The value when a task gives none.
    pub default: Option<Spanned<RawScalar>>,
}
