//! The YAML tree to the raw types: [`pipeline`], [`stage_list`], [`task_list`], [`template`].
//!
//! A hand-written walk rather than serde, so that one pass reports every unknown key, every
//! missing key and every value of the wrong type, each at its own position, and keeps going.
//! What cannot be read is left out of the raw value (and reported); the caller decides, from
//! the diagnostics, whether the load as a whole failed.

use crate::diagnostic::Collector;
use crate::raw::{
    RawGlobs, RawMap, RawParam, RawPipeline, RawRef, RawScalar, RawStage, RawStageItem, RawTask, RawTaskItem,
    RawTemplate, RawTraceability, RawWhen, Spanned,
};
use crate::source::Span;
use crate::suggest;
use crate::yaml::{Entry, Node, ScalarKind, Value};

/// The keys of each kind of mapping; the schema test checks that the raw types agree.
pub(crate) const PIPELINE_KEYS: &[&str] = &[
    "$schema",
    "app",
    "version",
    "env",
    "secrets",
    "traceable",
    "uses",
    "setup",
    "stages",
    "finally",
];
pub(crate) const STAGE_KEYS: &[&str] = &["name", "tasks", "parallel", "when"];
pub(crate) const TASK_KEYS: &[&str] = &[
    "name",
    "run",
    "tasks",
    "type",
    "with",
    "env",
    "timeout",
    "retry",
    "allow_failure",
    "when",
    "artifacts",
    "workdir",
];
pub(crate) const REF_KEYS: &[&str] = &["ref"];
pub(crate) const WHEN_KEYS: &[&str] = &["branch"];
pub(crate) const TEMPLATE_KEYS: &[&str] = &["description", "params", "run", "env", "timeout"];
pub(crate) const PARAM_KEYS: &[&str] = &["description", "required", "default"];

/// Keys other CI systems use, and what Gantry calls them; suggested only where that key is valid.
const FOREIGN_KEYS: &[(&str, &str)] = &[
    ("script", "run"),
    ("command", "run"),
    ("commands", "run"),
    ("cmd", "run"),
    ("shell", "run"),
    ("steps", "tasks"),
    ("jobs", "stages"),
    ("jobs", "tasks"),
    ("variables", "env"),
    ("environment", "env"),
    ("if", "when"),
    ("only", "when"),
    ("rules", "when"),
    ("branches", "when"),
    ("retries", "retry"),
    ("continue_on_error", "allow_failure"),
    ("continue-on-error", "allow_failure"),
    ("working_directory", "workdir"),
    ("working-directory", "workdir"),
    ("cwd", "workdir"),
    ("timeout_minutes", "timeout"),
    ("include", "ref"),
    ("extends", "uses"),
    ("template", "type"),
    ("uses", "type"),
    ("inputs", "with"),
    ("parameters", "params"),
];

/// The valid key an unknown `key` was probably meant to be, among `allowed`.
pub(crate) fn intended_key<'a>(key: &str, allowed: &[&'a str]) -> Option<&'a str> {
    if allowed.contains(&key) {
        return None;
    }
    suggest::nearest(key, allowed.iter().copied()).or_else(|| foreign_key(key, allowed))
}

fn foreign_key<'a>(key: &str, allowed: &[&'a str]) -> Option<&'a str> {
    FOREIGN_KEYS
        .iter()
        .find(|(foreign, ours)| *foreign == key && allowed.contains(ours))
        .and_then(|(_, ours)| allowed.iter().copied().find(|allowed| allowed == ours))
}

fn context_keys(context: &str) -> &'static [&'static str] {
    match context {
        "stage" => STAGE_KEYS,
        "task" => TASK_KEYS,
        "`when`" => WHEN_KEYS,
        "task template" => TEMPLATE_KEYS,
        _ => &[],
    }
}

/// A whole pipeline file. `None` when the document is not a mapping (reported).
pub(crate) fn pipeline(node: &Node, out: &mut Collector) -> Option<RawPipeline> {
    Decoder { out }.pipeline(node)
}

/// A fragment file used where stages go: a list of stages (or refs).
pub(crate) fn stage_list(node: &Node, out: &mut Collector) -> Vec<RawStageItem> {
    Decoder { out }
        .stage_items(node)
        .map(|items| items.value)
        .unwrap_or_default()
}

/// A fragment file used where tasks go: a list of tasks (or refs).
pub(crate) fn task_list(node: &Node, out: &mut Collector) -> Vec<RawTaskItem> {
    Decoder { out }
        .task_items(node)
        .map(|items| items.value)
        .unwrap_or_default()
}

/// A task template file. `None` when the document is not a mapping (reported).
pub(crate) fn template(node: &Node, out: &mut Collector) -> Option<RawTemplate> {
    Decoder { out }.template(node)
}

struct Decoder<'a> {
    out: &'a mut Collector,
}

/// The entries of one mapping, checked against the keys its context allows.
struct Fields<'n> {
    entries: &'n [Entry],
    span: Span,
}

impl<'n> Fields<'n> {
    fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|entry| entry.key == key)
            .map(|entry| &entry.value)
    }

    fn key_span(&self, key: &str) -> Option<Span> {
        self.entries
            .iter()
            .find(|entry| entry.key == key)
            .map(|entry| entry.key_span)
    }

    fn keys(&self) -> Vec<Spanned<String>> {
        self.entries
            .iter()
            .map(|entry| Spanned::new(entry.key.clone(), entry.key_span))
            .collect()
    }
}

impl Decoder<'_> {
    fn pipeline(&mut self, node: &Node) -> Option<RawPipeline> {
        let fields = self.fields(
            node,
            "a pipeline (a mapping with `app` and `stages`)",
            "pipeline",
            PIPELINE_KEYS,
        )?;
        Some(RawPipeline {
            schema: fields
                .get("$schema")
                .and_then(|node| self.string(node, "a string")),
            app: fields
                .get("app")
                .and_then(|node| self.string(node, "the app's name")),
            version: fields
                .get("version")
                .and_then(|node| self.string(node, "a version template such as `1.4.{build}`")),
            env: fields.get("env").and_then(|node| self.env(node)),
            secrets: fields
                .get("secrets")
                .and_then(|node| self.strings(node, "a list of secret names", "a secret name")),
            traceable: fields.get("traceable").and_then(|node| self.traceable(node)),
            uses: fields
                .get("uses")
                .and_then(|node| self.string(node, "the name of a prefab pipeline")),
            setup: fields.get("setup").and_then(|node| self.task_items(node)),
            stages: fields.get("stages").and_then(|node| self.stage_items(node)),
            finally: fields.get("finally").and_then(|node| self.task_items(node)),
            keys: fields.keys(),
            span: fields.span,
        })
    }

    fn stage_items(&mut self, node: &Node) -> Option<Spanned<Vec<RawStageItem>>> {
        let items = self.list(node, "a list of stages")?;
        let items = items
            .iter()
            .filter_map(|item| {
                if Self::is_ref(item) {
                    self.reference(item).map(RawStageItem::Ref)
                } else {
                    self.stage(item).map(RawStageItem::Stage)
                }
            })
            .collect();
        Some(Spanned::new(items, node.span))
    }

    fn stage(&mut self, node: &Node) -> Option<RawStage> {
        let fields = self.fields(
            node,
            "a stage (a mapping with `name` and `tasks`)",
            "stage",
            STAGE_KEYS,
        )?;
        let stage = RawStage {
            name: fields
                .get("name")
                .and_then(|node| self.string(node, "a stage name")),
            tasks: fields.get("tasks").and_then(|node| self.task_items(node)),
            parallel: fields.get("parallel").and_then(|node| self.boolean(node)),
            when: fields.get("when").and_then(|node| self.when(node)),
        };
        self.require(&fields, "stage", &["name", "tasks"]);
        Some(stage)
    }

    fn task_items(&mut self, node: &Node) -> Option<Spanned<Vec<RawTaskItem>>> {
        let items = self.list(node, "a list of tasks")?;
        let items = items
            .iter()
            .filter_map(|item| {
                if Self::is_ref(item) {
                    self.reference(item).map(RawTaskItem::Ref)
                } else {
                    self.task(item).map(|task| RawTaskItem::Task(Box::new(task)))
                }
            })
            .collect();
        Some(Spanned::new(items, node.span))
    }

    fn task(&mut self, node: &Node) -> Option<RawTask> {
        let fields = self.fields(
            node,
            "a task (a mapping with `name` and `run`, `tasks` or `type`)",
            "task",
            TASK_KEYS,
        )?;
        let task = RawTask {
            name: fields
                .get("name")
                .and_then(|node| self.string(node, "a task name")),
            run: fields.get("run").and_then(|node| self.string(node, "a script")),
            tasks: fields.get("tasks").and_then(|node| self.task_items(node)),
            kind: fields
                .get("type")
                .and_then(|node| self.string(node, "the name of a task template")),
            with: fields
                .get("with")
                .and_then(|node| self.scalar_map(node, "a mapping of param values")),
            env: fields.get("env").and_then(|node| self.env(node)),
            timeout: fields
                .get("timeout")
                .and_then(|node| self.string(node, "a duration such as `30s` or `10m`")),
            retry: fields.get("retry").and_then(|node| self.count(node)),
            allow_failure: fields.get("allow_failure").and_then(|node| self.boolean(node)),
            when: fields.get("when").and_then(|node| self.when(node)),
            artifacts: fields
                .get("artifacts")
                .and_then(|node| self.strings(node, "a list of paths or globs", "a path or glob")),
            workdir: fields
                .get("workdir")
                .and_then(|node| self.string(node, "a relative path")),
            keys: fields.keys(),
            span: fields.span,
        };
        self.require(&fields, "task", &["name"]);
        Some(task)
    }

    fn is_ref(node: &Node) -> bool {
        matches!(&node.value, Value::Mapping(entries) if entries.iter().any(|entry| entry.key == "ref"))
    }

    fn reference(&mut self, node: &Node) -> Option<RawRef> {
        let Value::Mapping(entries) = &node.value else {
            return None;
        };
        for entry in entries
            .iter()
            .filter(|entry| !REF_KEYS.contains(&entry.key.as_str()))
        {
            self.out.error_with_hint(
                entry.key_span,
                format!("unknown key `{}` in a `ref` item", entry.key),
                "a `ref` item is replaced by the fragment's items, and takes no other keys",
            );
        }
        let name = entries.iter().find(|entry| entry.key == "ref")?;
        let name = self.string(&name.value, "the name of a fragment")?;
        Some(RawRef { name })
    }

    fn when(&mut self, node: &Node) -> Option<Spanned<RawWhen>> {
        let fields = self.fields(
            node,
            "a condition such as `{ branch: [main] }`",
            "`when`",
            WHEN_KEYS,
        )?;
        let branch = fields.get("branch").and_then(|node| self.globs(node));
        self.require(&fields, "`when`", &["branch"]);
        Some(Spanned::new(RawWhen { branch }, fields.span))
    }

    fn globs(&mut self, node: &Node) -> Option<Spanned<RawGlobs>> {
        if let Value::Sequence(_) = node.value {
            let globs = self.strings(node, "a branch glob or a list of them", "a branch glob")?;
            return Some(Spanned::new(RawGlobs(globs.value), globs.span));
        }
        let glob = self.string(node, "a branch glob or a list of them")?;
        Some(Spanned::new(RawGlobs(vec![glob]), node.span))
    }

    fn template(&mut self, node: &Node) -> Option<RawTemplate> {
        let fields = self.fields(
            node,
            "a task template (a mapping with `run` and `params`)",
            "task template",
            TEMPLATE_KEYS,
        )?;
        let template = RawTemplate {
            description: fields
                .get("description")
                .and_then(|node| self.string(node, "a description")),
            params: fields.get("params").and_then(|node| self.params(node)),
            run: fields.get("run").and_then(|node| self.string(node, "a script")),
            env: fields.get("env").and_then(|node| self.env(node)),
            timeout: fields
                .get("timeout")
                .and_then(|node| self.string(node, "a duration such as `30s` or `10m`")),
        };
        self.require(&fields, "task template", &["run"]);
        Some(template)
    }

    fn params(&mut self, node: &Node) -> Option<Spanned<RawMap<RawParam>>> {
        let entries = self.mapping(node, "a mapping of params")?;
        let params = entries
            .iter()
            .filter_map(|entry| {
                let context = format!("param `{}`", entry.key);
                let fields = if entry.value.is_null() {
                    // `name:` alone declares an optional param with no default.
                    Fields {
                        entries: &[],
                        span: entry.key_span,
                    }
                } else {
                    self.fields(
                        &entry.value,
                        "a param (a mapping with `description`, `required`, `default`)",
                        &context,
                        PARAM_KEYS,
                    )?
                };
                let param = RawParam {
                    description: fields
                        .get("description")
                        .and_then(|node| self.string(node, "a description")),
                    required: fields.get("required").and_then(|node| self.boolean(node)),
                    default: fields
                        .get("default")
                        .and_then(|node| self.scalar(node, "a default value")),
                };
                Some((Spanned::new(entry.key.clone(), entry.key_span), param))
            })
            .collect();
        Some(Spanned::new(RawMap(params), node.span))
    }

    // Shapes.

    /// The entries of a mapping that may only hold `allowed` keys; each other key is reported.
    fn fields<'n>(
        &mut self,
        node: &'n Node,
        expected: &str,
        context: &str,
        allowed: &[&str],
    ) -> Option<Fields<'n>> {
        let entries = self.mapping(node, expected)?;
        for entry in entries
            .iter()
            .filter(|entry| !allowed.contains(&entry.key.as_str()))
        {
            let hint = Self::unknown_key_hint(&entry.key, context, allowed);
            self.out.push(
                entry.key_span,
                format!("unknown key `{}` in {context}", entry.key),
                Some(hint),
            );
        }
        Some(Fields {
            entries,
            span: node.span,
        })
    }

    fn unknown_key_hint(key: &str, context: &str, allowed: &[&str]) -> String {
        if let Some(hint) = suggest::did_you_mean(key, allowed.iter().copied()) {
            return hint;
        }
        if let Some(ours) = foreign_key(key, allowed) {
            return format!("Gantry calls this `{ours}`");
        }
        if context == "stage" && TASK_KEYS.contains(&key) {
            return format!("`{key}` belongs to a task; a stage lists its tasks under `tasks`");
        }
        if context == "task" && key == "parallel" {
            return "`parallel` belongs to a stage; a group's tasks run one after another".to_owned();
        }
        format!(
            "expected one of {}",
            suggest::list(allowed.iter().copied(), allowed.len())
        )
    }

    /// Reports each of `keys` that is missing, unless an unknown key was meant to be it (that
    /// key is reported already, with the fix).
    fn require(&mut self, fields: &Fields<'_>, context: &str, keys: &[&str]) {
        let written: Vec<&str> = fields.entries.iter().map(|entry| entry.key.as_str()).collect();
        for key in keys {
            let meant = written
                .iter()
                .any(|written| intended_key(written, context_keys(context)) == Some(key));
            if fields.key_span(key).is_none() && !meant {
                self.out
                    .error(fields.span, format!("missing required key `{key}` in {context}"));
            }
        }
    }

    fn mapping<'n>(&mut self, node: &'n Node, expected: &str) -> Option<&'n [Entry]> {
        let Value::Mapping(entries) = &node.value else {
            self.mismatch(node, expected);
            return None;
        };
        Some(entries)
    }

    fn list<'n>(&mut self, node: &'n Node, expected: &str) -> Option<&'n [Node]> {
        let Value::Sequence(items) = &node.value else {
            self.mismatch(node, expected);
            return None;
        };
        Some(items)
    }

    fn mismatch(&mut self, node: &Node, expected: &str) {
        self.out.error(
            node.span,
            format!("expected {expected}, found {}", node.describe()),
        );
    }

    // Scalars.

    /// Any scalar but null, as written: `name: 1.10` is the name `1.10`.
    fn string(&mut self, node: &Node, expected: &str) -> Option<Spanned<String>> {
        match node.as_scalar() {
            Some(scalar) if scalar.kind() != ScalarKind::Null => {
                Some(Spanned::new(scalar.text.clone(), node.span))
            }
            _ => {
                self.mismatch(node, expected);
                None
            }
        }
    }

    fn scalar(&mut self, node: &Node, expected: &str) -> Option<Spanned<RawScalar>> {
        let Some(scalar) = node
            .as_scalar()
            .filter(|scalar| scalar.kind() != ScalarKind::Null)
        else {
            if node.is_null() {
                self.out.error_with_hint(
                    node.span,
                    format!("expected {expected}, found nothing"),
                    "write `\"\"` for an empty value",
                );
            } else {
                self.mismatch(node, &format!("{expected} (a string, number or boolean)"));
            }
            return None;
        };
        let boolean = match scalar.kind() {
            ScalarKind::Bool(value) => Some(value),
            _ => None,
        };
        Some(Spanned::new(
            RawScalar {
                text: scalar.text.clone(),
                boolean,
            },
            node.span,
        ))
    }

    fn strings(&mut self, node: &Node, expected: &str, item: &str) -> Option<Spanned<Vec<Spanned<String>>>> {
        let items = self.list(node, expected)?;
        let strings = items
            .iter()
            .filter_map(|item_node| self.string(item_node, item))
            .collect();
        Some(Spanned::new(strings, node.span))
    }

    fn scalar_map(&mut self, node: &Node, expected: &str) -> Option<Spanned<RawMap<RawScalar>>> {
        let entries = self.mapping(node, expected)?;
        let values = entries
            .iter()
            .filter_map(|entry| {
                let value = self.scalar(&entry.value, &format!("a value for `{}`", entry.key))?;
                Some((Spanned::new(entry.key.clone(), entry.key_span), value.value))
            })
            .collect();
        Some(Spanned::new(RawMap(values), node.span))
    }

    fn env(&mut self, node: &Node) -> Option<Spanned<RawMap<RawScalar>>> {
        self.scalar_map(node, "a mapping of environment variables")
    }

    fn boolean(&mut self, node: &Node) -> Option<Spanned<bool>> {
        let scalar = node.as_scalar();
        if let Some(ScalarKind::Bool(value)) = scalar.map(crate::yaml::Scalar::kind) {
            return Some(Spanned::new(value, node.span));
        }
        let message = format!("expected `true` or `false`, found {}", node.describe());
        let hint = scalar.and_then(|scalar| {
            let lowered = scalar.text.to_lowercase();
            if scalar.quoted && matches!(lowered.as_str(), "true" | "false") {
                Some(format!("remove the quotes around `{}`", scalar.text))
            } else if matches!(lowered.as_str(), "yes" | "no" | "on" | "off" | "y" | "n") {
                Some(format!(
                    "YAML 1.2 reads `{}` as a string; write `true` or `false`",
                    scalar.text
                ))
            } else {
                None
            }
        });
        self.out.push(node.span, message, hint);
        None
    }

    fn count(&mut self, node: &Node) -> Option<Spanned<u32>> {
        let expected = "a number of retries (a whole number, 0 or more)";
        let Some(scalar) = node
            .as_scalar()
            .filter(|scalar| scalar.kind() == ScalarKind::Integer)
        else {
            match node
                .as_scalar()
                .filter(|scalar| scalar.kind() != ScalarKind::Null)
            {
                Some(scalar) => self
                    .out
                    .error(node.span, format!("expected {expected}, found `{}`", scalar.text)),
                None => self.mismatch(node, expected),
            }
            return None;
        };
        let text = scalar.text.as_str();
        let parsed = if let Some(hex) = text.strip_prefix("0x") {
            i128::from_str_radix(hex, 16)
        } else if let Some(octal) = text.strip_prefix("0o") {
            i128::from_str_radix(octal, 8)
        } else {
            text.parse::<i128>()
        };
        match parsed.map(u32::try_from) {
            Ok(Ok(count)) => Some(Spanned::new(count, node.span)),
            Ok(Err(_)) if text.starts_with('-') => {
                self.out
                    .error(node.span, format!("expected {expected}, found `{text}`"));
                None
            }
            Ok(Err(_)) | Err(_) => {
                self.out.error(
                    node.span,
                    format!("`{text}` is too many retries; at most {}", u32::MAX),
                );
                None
            }
        }
    }

    fn traceable(&mut self, node: &Node) -> Option<Spanned<RawTraceability>> {
        let expected = "`optional` or `required`";
        let text = self.string(node, expected)?;
        match text.value.as_str() {
            "optional" => Some(Spanned::new(RawTraceability::Optional, node.span)),
            "required" => Some(Spanned::new(RawTraceability::Required, node.span)),
            other => {
                let hint = suggest::did_you_mean(other, ["optional", "required"]);
                self.out
                    .push(node.span, format!("expected {expected}, found `{other}`"), hint);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{self, Parsed};

    /// The diagnostics of decoding `text` as a pipeline, as `line:column: message (hint)`.
    fn problems(text: &str) -> Vec<String> {
        let mut out = Collector::default();
        let file = out.add_file("gantry.yml", text);
        if let Parsed::Document(node) = yaml::parse(text, file, &mut out) {
            pipeline(&node, &mut out);
        }
        out.into_diagnostics()
            .0
            .into_iter()
            .map(|d| match d.hint {
                Some(hint) => format!("{}:{}: {} ({hint})", d.line, d.column, d.message),
                None => format!("{}:{}: {}", d.line, d.column, d.message),
            })
            .collect()
    }

    #[test]
    fn reports_every_shape_problem() {
        let check = |text: &str, expect: &[&str]| assert_eq!(problems(text), expect, "{text}");
        check("app: x\nstages: []\n", &[]);
        check(
            "- a\n",
            &["1:1: expected a pipeline (a mapping with `app` and `stages`), found a list"],
        );
        check(
            "app: x\nstages:\n  - name: b\n    parralel: true\n    tasks: []\n",
            &["4:5: unknown key `parralel` in stage (did you mean `parallel`?)"],
        );
        check(
            "app: x\nstages:\n  - name: b\n    tasks: echo\n",
            &["4:12: expected a list of tasks, found a string"],
        );
        check(
            "app: x\nstages:\n  - tasks: []\n  - name: c\n",
            &[
                "3:5: missing required key `name` in stage",
                "4:5: missing required key `tasks` in stage",
            ],
        );
        check(
            "app: x\nsetup:\n  - name: a\n    script: make\n    retry: -1\n    allow_failure: yes\n",
            &[
                "4:5: unknown key `script` in task (Gantry calls this `run`)",
                "5:12: expected a number of retries (a whole number, 0 or more), found `-1`",
                "6:20: expected `true` or `false`, found a string (YAML 1.2 reads `yes` as a string; write `true` or `false`)",
            ],
        );
        check(
            "app: x\nsetup:\n  - { name: a, run: b, retry: 99999999999999999999999 }\n",
            &["3:31: `99999999999999999999999` is too many retries; at most 4294967295"],
        );
        check(
            "app: x\nsetup:\n  - { ref: a, name: b }\n  - 3\n",
            &[
                "3:15: unknown key `name` in a `ref` item (a `ref` item is replaced by the fragment's items, and takes no other keys)",
                "4:5: expected a task (a mapping with `name` and `run`, `tasks` or `type`), found a number",
            ],
        );
        check(
            "app: x\nenv: { A: 1, B: , C: [x] }\ntraceable: requird\n",
            &[
                "2:15: expected a value for `B`, found nothing (write `\"\"` for an empty value)",
                "2:22: expected a value for `C` (a string, number or boolean), found a list",
                "3:12: expected `optional` or `required`, found `requird` (did you mean `required`?)",
            ],
        );
        check(
            "app: x\nstages:\n  - name: s\n    run: make\n    tasks: []\n",
            &[
                "4:5: unknown key `run` in stage (`run` belongs to a task; a stage lists its tasks under `tasks`)",
            ],
        );
        check(
            "app: x\nstages:\n  - name: s\n    when: { branch: [main, [x]], if: y }\n    tasks: []\n",
            &[
                "4:28: expected a branch glob, found a list",
                "4:34: unknown key `if` in `when` (expected one of `branch`)",
            ],
        );
    }

    #[test]
    fn keeps_values_and_spans() {
        let mut out = Collector::default();
        let text = "app: hello\nenv: { A: 1, B: true }\nstages:\n  - name: 1.10\n    parallel: true\n    when: { branch: main }\n    tasks:\n      - { name: a, run: x, retry: 0x10 }\n      - ref: more\n";
        let file = out.add_file("gantry.yml", text);
        let Parsed::Document(node) = yaml::parse(text, file, &mut out) else {
            panic!()
        };
        let raw = pipeline(&node, &mut out).unwrap();
        assert!(out.is_empty(), "{:?}", out.into_diagnostics());
        assert_eq!(raw.app.unwrap().value, "hello");
        let env = raw.env.unwrap().value.0;
        assert_eq!((env[0].1.text.as_str(), env[0].1.boolean), ("1", None));
        assert_eq!((env[1].1.text.as_str(), env[1].1.boolean), ("true", Some(true)));
        let stages = raw.stages.unwrap().value;
        let RawStageItem::Stage(stage) = &stages[0] else {
            panic!()
        };
        assert_eq!(stage.name.as_ref().unwrap().value, "1.10");
        assert_eq!(
            stage
                .when
                .as_ref()
                .unwrap()
                .value
                .branch
                .as_ref()
                .unwrap()
                .value
                .0[0]
                .value,
            "main"
        );
        let tasks = &stage.tasks.as_ref().unwrap().value;
        let RawTaskItem::Task(task) = &tasks[0] else {
            panic!()
        };
        assert_eq!(task.retry.as_ref().unwrap().value, 16);
        let RawTaskItem::Ref(reference) = &tasks[1] else {
            panic!()
        };
        assert_eq!(reference.name.value, "more");
        assert_eq!(reference.name.span, Span::new(file, 9, 14).with_width(4));
    }
}
