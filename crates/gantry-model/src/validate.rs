//! The raw types to the validated [`Pipeline`]: the [`Validator`].
//!
//! Fragments (`ref`) are inlined and task templates (`type`) rendered on the way, so the result
//! refers to nothing outside itself. Every check reports and goes on with a stand-in value; the
//! pipeline built is only handed out when nothing at all was reported.

use std::collections::HashMap;
use std::time::Duration;

use indexmap::IndexMap;

use crate::diagnostic::Collector;
use crate::duration::parse_duration;
use crate::library::Kind;
use crate::parse;
use crate::pipeline::{Pipeline, Stage, Task, TaskKind, Traceability, When};
use crate::raw::{
    RawMap, RawPipeline, RawRef, RawScalar, RawStage, RawStageItem, RawTask, RawTaskItem, RawTraceability,
    RawWhen, Spanned, key_span,
};
use crate::resolve::Resolver;
use crate::source::Span;
use crate::suggest;
use crate::version::VERSION_PLACEHOLDERS;

/// The keys that give a task its body; a task has exactly one.
const BODIES: [&str; 3] = ["run", "tasks", "type"];

/// Stage names taken by the pipeline's own sections (task paths such as `setup/tools`).
const RESERVED_STAGE_NAMES: &[&str] = &["setup", "finally"];

pub(crate) struct Validator<'r, 'l> {
    resolver: &'r mut Resolver<'l>,
    out: &'r mut Collector,
}

/// The names already used in one scope, and where.
struct Names {
    /// `stage` or `task`.
    noun: &'static str,
    /// Where the scope is, for messages: `` in stage `test` ``; empty for the stages.
    scope: String,
    seen: HashMap<String, Span>,
}

impl Names {
    fn new(noun: &'static str, scope: String) -> Self {
        Self {
            noun,
            scope,
            seen: HashMap::new(),
        }
    }
}

impl<'r, 'l> Validator<'r, 'l> {
    pub fn new(resolver: &'r mut Resolver<'l>, out: &'r mut Collector) -> Self {
        Self { resolver, out }
    }

    /// The pipeline `raw` describes, with `uses` already applied (still set: the prefab could
    /// not be used, which is reported).
    pub fn pipeline(&mut self, raw: &RawPipeline) -> Pipeline {
        let app = if let Some(app) = &raw.app {
            self.check_name(app, "app");
            app.value.clone()
        } else {
            // Not when it is written but unreadable, misspelt, or expected from an unusable
            // prefab: each of those is reported already.
            let written = key_span(&raw.keys, "app").is_some();
            let misspelt = raw
                .keys
                .iter()
                .any(|key| parse::intended_key(&key.value, parse::PIPELINE_KEYS) == Some("app"));
            if !written && !misspelt && raw.uses.is_none() {
                self.out.error_with_hint(
                    raw.span,
                    "missing required key `app`",
                    "name the app this pipeline delivers, as in `app: hello`",
                );
            }
            String::new()
        };
        let version = match &raw.version {
            Some(version) => {
                self.check_version(version);
                version.value.clone()
            }
            None => "{build}".to_owned(),
        };
        let env = env(raw.env.as_ref(), self.out);
        let secrets = self.secrets(raw.secrets.as_ref());
        let traceable = match raw.traceable.as_ref().map(|traceable| traceable.value) {
            Some(RawTraceability::Required) => Traceability::Required,
            Some(RawTraceability::Optional) | None => Traceability::Optional,
        };

        let mut setup = Vec::new();
        if let Some(items) = &raw.setup {
            self.task_items(
                &items.value,
                &mut Names::new("task", "in `setup`".into()),
                &mut setup,
            );
        }
        let mut stages = Vec::new();
        if let Some(items) = &raw.stages {
            self.stage_items(&items.value, &mut Names::new("stage", String::new()), &mut stages);
        }
        let mut finally = Vec::new();
        if let Some(items) = &raw.finally {
            self.task_items(
                &items.value,
                &mut Names::new("task", "in `finally`".into()),
                &mut finally,
            );
        }
        Pipeline {
            app,
            version,
            env,
            secrets,
            traceable,
            setup,
            stages,
            finally,
        }
    }

    fn stage_items(&mut self, items: &[RawStageItem], names: &mut Names, stages: &mut Vec<Stage>) {
        for item in items {
            match item {
                RawStageItem::Stage(raw) => stages.push(self.stage(raw, names)),
                RawStageItem::Ref(reference) => {
                    self.inline(reference, |validator, node| {
                        let items = parse::stage_list(node, validator.out);
                        validator.stage_items(&items, names, stages);
                    });
                }
            }
        }
    }

    fn task_items(&mut self, items: &[RawTaskItem], names: &mut Names, tasks: &mut Vec<Task>) {
        for item in items {
            match item {
                RawTaskItem::Task(raw) => tasks.push(self.task(raw, names)),
                RawTaskItem::Ref(reference) => {
                    self.inline(reference, |validator, node| {
                        let items = parse::task_list(node, validator.out);
                        validator.task_items(&items, names, tasks);
                    });
                }
            }
        }
    }

    /// Runs `expand` on the fragment `reference` names, if it can be expanded.
    fn inline(&mut self, reference: &RawRef, expand: impl FnOnce(&mut Self, &crate::yaml::Node)) {
        if let Some(node) = self.resolver.enter(Kind::Fragment, &reference.name, self.out) {
            expand(self, &node);
            self.resolver.leave(Kind::Fragment);
        }
    }

    fn stage(&mut self, raw: &RawStage, names: &mut Names) -> Stage {
        let name = self.unique_name(raw.name.as_ref(), names);
        if let Some(name) = &raw.name
            && RESERVED_STAGE_NAMES.contains(&name.value.as_str())
        {
            self.out.error_with_hint(
                name.span,
                format!("the stage name `{}` is reserved", name.value),
                "`setup` and `finally` are sections of the pipeline; put such tasks there, or pick another name",
            );
        }
        let mut tasks = Vec::new();
        if let Some(items) = &raw.tasks {
            let mut task_names = Names::new("task", format!("in stage `{name}`"));
            let reported = self.out.len();
            self.task_items(&items.value, &mut task_names, &mut tasks);
            if tasks.is_empty() && self.out.len() == reported {
                self.out.error(items.span, format!("stage `{name}` has no tasks"));
            }
        }
        Stage {
            name,
            parallel: raw.parallel.as_ref().is_some_and(|parallel| parallel.value),
            when: raw.when.as_ref().and_then(|when| self.when(when)),
            tasks,
        }
    }

    fn task(&mut self, raw: &RawTask, names: &mut Names) -> Task {
        let name = self.unique_name(raw.name.as_ref(), names);
        let mut env = env(raw.env.as_ref(), self.out);
        let mut timeout = timeout(raw.timeout.as_ref(), self.out);

        let bodies: Vec<(&str, Span)> = BODIES
            .into_iter()
            .filter_map(|key| Some((key, key_span(&raw.keys, key)?)))
            .collect();
        // A misspelt body (`rn: make`) is reported as an unknown key, with the fix.
        let misspelt = raw.keys.iter().any(|key| {
            parse::intended_key(&key.value, parse::TASK_KEYS).is_some_and(|meant| BODIES.contains(&meant))
        });
        let label = if name.is_empty() {
            "the task".to_owned()
        } else {
            format!("task `{name}`")
        };
        match bodies.as_slice() {
            [] if misspelt => {}
            [] => self.out.error_with_hint(
                raw.span,
                format!("{label} has nothing to do"),
                "give it one of `run` (a script), `tasks` (a serial group) or `type` (a library task)",
            ),
            [_] => {}
            [(first, _), rest @ ..] => {
                for (key, span) in rest {
                    self.out.error_with_hint(
                        *span,
                        format!("{label} has both `{first}` and `{key}`"),
                        "a task has exactly one of `run`, `tasks` or `type`; split it into two tasks, or drop one",
                    );
                }
            }
        }
        if let (Some(with), None) = (&raw.with, key_span(&raw.keys, "type")) {
            self.out.error_with_hint(
                with.span,
                format!("{label} has `with` but no `type`"),
                "`with` gives values to the params of a library task named by `type`",
            );
        }

        let kind = if let Some(items) = &raw.tasks {
            let mut group = Vec::new();
            let reported = self.out.len();
            self.task_items(
                &items.value,
                &mut Names::new("task", format!("in group `{name}`")),
                &mut group,
            );
            if group.is_empty() && self.out.len() == reported {
                self.out.error(items.span, format!("group `{name}` has no tasks"));
            }
            TaskKind::Group { tasks: group }
        } else if let Some(kind) = &raw.kind {
            let mut script = None;
            if let Some(template) = self.resolver.template(kind, self.out) {
                // The task's own settings win over the template's.
                let mut merged = template.env.clone();
                merged.extend(std::mem::take(&mut env));
                env = merged;
                timeout = timeout.or(template.timeout);
                script = template.render(raw.with.as_ref(), kind.span, self.out);
            }
            TaskKind::Run {
                script: script.unwrap_or_default(),
            }
        } else {
            let script = raw.run.as_ref().map(|run| run.value.clone()).unwrap_or_default();
            if let Some(run) = raw.run.as_ref().filter(|run| run.value.trim().is_empty()) {
                self.out
                    .error(run.span, format!("{label} has an empty `run` script"));
            }
            TaskKind::Run { script }
        };

        let artifacts = raw.artifacts.as_ref().map_or_else(Vec::new, |artifacts| {
            artifacts
                .value
                .iter()
                .for_each(|artifact| self.check_artifact(artifact));
            artifacts
                .value
                .iter()
                .map(|artifact| artifact.value.clone())
                .collect()
        });
        let workdir = raw.workdir.as_ref().map(|workdir| {
            if let Err(reason) = relative_path(&workdir.value) {
                self.out.error(
                    workdir.span,
                    format!("invalid `workdir` `{}`: {reason}", workdir.value),
                );
            }
            workdir.value.clone()
        });
        Task {
            name,
            kind,
            env,
            timeout,
            retry: raw.retry.as_ref().map_or(0, |retry| retry.value),
            allow_failure: raw.allow_failure.as_ref().is_some_and(|allow| allow.value),
            when: raw.when.as_ref().and_then(|when| self.when(when)),
            artifacts,
            workdir,
        }
    }

    /// The name, checked and claimed in `names`; empty when missing (already reported).
    fn unique_name(&mut self, name: Option<&Spanned<String>>, names: &mut Names) -> String {
        let Some(name) = name else { return String::new() };
        if self.check_name(name, names.noun) {
            if let Some(first) = names.seen.get(&name.value) {
                let first = self.out.locate(*first, name.span);
                let scope = if names.scope.is_empty() {
                    String::new()
                } else {
                    format!(" {}", names.scope)
                };
                self.out.error_with_hint(
                    name.span,
                    format!(
                        "duplicate {} name `{}`{scope}; the first is at {first}",
                        names.noun, name.value
                    ),
                    format!(
                        "{} names are unique{}",
                        names.noun,
                        if scope.is_empty() {
                            " in a pipeline"
                        } else {
                            &scope
                        }
                    ),
                );
            } else {
                names.seen.insert(name.value.clone(), name.span);
            }
        }
        name.value.clone()
    }

    /// Whether `name` is a usable name: not empty, no `/`.
    fn check_name(&mut self, name: &Spanned<String>, noun: &str) -> bool {
        if name.value.trim().is_empty() {
            self.out.error(name.span, format!("the {noun} name is empty"));
            false
        } else if name.value.contains('/') {
            self.out.error_with_hint(
                name.span,
                format!("the {noun} name `{}` contains `/`", name.value),
                "`/` separates the parts of a task path such as `build/compile`",
            );
            false
        } else {
            true
        }
    }

    fn check_version(&mut self, version: &Spanned<String>) {
        for (message, hint) in version_problems(&version.value) {
            self.out.push(version.span, message, hint);
        }
    }

    fn secrets(&mut self, secrets: Option<&Spanned<Vec<Spanned<String>>>>) -> Vec<String> {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        let Some(secrets) = secrets else { return Vec::new() };
        for secret in &secrets.value {
            if !is_variable_name(&secret.value) {
                self.out.error_with_hint(
                    secret.span,
                    format!("`{}` is not a valid secret name", secret.value),
                    "a secret becomes an environment variable: letters, digits and `_`, not starting with a digit",
                );
            } else if let Some(first) = seen.get(secret.value.as_str()) {
                let first = self.out.locate(*first, secret.span);
                self.out.error(
                    secret.span,
                    format!("duplicate secret `{}`; the first is at {first}", secret.value),
                );
            } else {
                seen.insert(&secret.value, secret.span);
            }
        }
        let mut unique: Vec<String> = Vec::new();
        for secret in &secrets.value {
            if !unique.contains(&secret.value) {
                unique.push(secret.value.clone());
            }
        }
        unique
    }

    fn when(&mut self, when: &Spanned<RawWhen>) -> Option<When> {
        let branch = when.value.branch.as_ref()?;
        if branch.value.0.is_empty() {
            self.out.error_with_hint(
                branch.span,
                "`branch` lists no branches, so this would never run",
                "list at least one branch glob, as in `branch: [main]`",
            );
        }
        for glob in &branch.value.0 {
            let built = globset::GlobBuilder::new(&glob.value)
                .literal_separator(false)
                .build();
            if let Err(error) = built {
                self.out.error(
                    glob.span,
                    format!("invalid branch glob `{}`: {}", glob.value, error.kind()),
                );
            }
        }
        Some(When {
            branch: branch.value.0.iter().map(|glob| glob.value.clone()).collect(),
        })
    }

    /// Reports `artifact` unless it is a usable relative path or glob.
    fn check_artifact(&mut self, artifact: &Spanned<String>) {
        let text = &artifact.value;
        let problem = if text.trim().is_empty() {
            Some("the path is empty".to_owned())
        } else if is_absolute(text) {
            Some("it must be relative to the task's working directory".to_owned())
        } else {
            globset::Glob::new(text)
                .err()
                .map(|error| error.kind().to_string())
        };
        if let Some(problem) = problem {
            self.out
                .error(artifact.span, format!("invalid artifact `{text}`: {problem}"));
        }
    }
}

/// Environment variables, values as strings; each bad name reported.
pub(crate) fn env(raw: Option<&Spanned<RawMap<RawScalar>>>, out: &mut Collector) -> IndexMap<String, String> {
    let mut env = IndexMap::new();
    for (name, value) in raw.map_or(&[][..], |raw| &raw.value.0) {
        if !is_variable_name(&name.value) {
            out.error_with_hint(
                name.span,
                format!("`{}` is not a valid environment variable name", name.value),
                "use letters, digits and `_`, not starting with a digit",
            );
        }
        env.insert(name.value.clone(), value.text.clone());
    }
    env
}

/// A timeout, parsed; reported if it is not a duration.
pub(crate) fn timeout(raw: Option<&Spanned<String>>, out: &mut Collector) -> Option<Duration> {
    let raw = raw?;
    match parse_duration(&raw.value) {
        Ok(duration) => Some(duration),
        Err(reason) => {
            out.error_with_hint(
                raw.span,
                format!("invalid duration `{}`: {reason}", raw.value),
                "write a number and a unit, as in `500ms`, `30s`, `10m`, `1h` or `1h30m`",
            );
            None
        }
    }
}

fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_absolute(path: &str) -> bool {
    let bytes = path.as_bytes();
    path.starts_with('/')
        || path.starts_with('\\')
        || path.starts_with('~')
        || (bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':')
}

/// Whether `path` stays inside the directory it is relative to.
fn relative_path(path: &str) -> Result<(), &'static str> {
    if path.trim().is_empty() {
        return Err("the path is empty");
    }
    if is_absolute(path) {
        return Err("it must be relative to the repository root");
    }
    let mut depth: usize = 0;
    for part in path.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => depth = depth.checked_sub(1).ok_or("`..` leads out of the repository")?,
            _ => depth += 1,
        }
    }
    Ok(())
}

/// What is wrong with a version template: unknown placeholders, unbalanced braces.
fn version_problems(template: &str) -> Vec<(String, Option<String>)> {
    let mut problems = Vec::new();
    if template.trim().is_empty() {
        problems.push((
            "the version template is empty".to_owned(),
            Some("the default is `\"{build}\"`".to_owned()),
        ));
        return problems;
    }
    let mut rest = template;
    while let Some(at) = rest.find(['{', '}']) {
        if rest[at..].starts_with('}') {
            problems.push((
                "unmatched `}` in `version`".to_owned(),
                Some("placeholders are written `{build}`, `{sha}` or `{branch}`".to_owned()),
            ));
            rest = &rest[at + 1..];
            continue;
        }
        let after = &rest[at + 1..];
        let Some(end) = after.find('}') else {
            problems.push((
                "unclosed `{` in `version`".to_owned(),
                Some("close it, as in `{build}`".to_owned()),
            ));
            break;
        };
        let placeholder = &after[..end];
        if !VERSION_PLACEHOLDERS.contains(&placeholder) {
            let hint = suggest::nearest(placeholder, VERSION_PLACEHOLDERS.iter().copied()).map_or_else(
                || "use `{build}`, `{sha}` or `{branch}`".to_owned(),
                |nearest| format!("did you mean `{{{nearest}}}`?"),
            );
            problems.push((
                format!("unknown placeholder `{{{placeholder}}}` in `version`"),
                Some(hint),
            ));
        }
        rest = &after[end + 1..];
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_version_templates() {
        let check = |template: &str, expect: &[&str]| {
            let got: Vec<String> = version_problems(template)
                .into_iter()
                .map(|(message, hint)| format!("{message} ({})", hint.unwrap_or_default()))
                .collect();
            assert_eq!(got, expect, "{template}");
        };
        check("{build}", &[]);
        check("1.4.{build}-{sha}+{branch}", &[]);
        check(
            "",
            &["the version template is empty (the default is `\"{build}\"`)"],
        );
        check(
            "1.{biuld}",
            &["unknown placeholder `{biuld}` in `version` (did you mean `{build}`?)"],
        );
        check(
            "{date}.{x",
            &[
                "unknown placeholder `{date}` in `version` (use `{build}`, `{sha}` or `{branch}`)",
                "unclosed `{` in `version` (close it, as in `{build}`)",
            ],
        );
        check(
            "1}",
            &["unmatched `}` in `version` (placeholders are written `{build}`, `{sha}` or `{branch}`)"],
        );
    }

    #[test]
    fn checks_relative_paths() {
        let check = |path: &str, expect: Result<(), &str>| assert_eq!(relative_path(path), expect, "{path}");
        check("web", Ok(()));
        check("./web/app", Ok(()));
        check("web/../api", Ok(()));
        check("", Err("the path is empty"));
        check("/srv", Err("it must be relative to the repository root"));
        check("C:\\x", Err("it must be relative to the repository root"));
        check("~/x", Err("it must be relative to the repository root"));
        check("..", Err("`..` leads out of the repository"));
        check("web/../../x", Err("`..` leads out of the repository"));
    }

    #[test]
    fn checks_variable_names() {
        for name in ["A", "_x", "RUST_LOG", "a1"] {
            assert!(is_variable_name(name), "{name}");
        }
        for name in ["", "1A", "A-B", "A B", "A=B", "ä"] {
            assert!(!is_variable_name(name), "{name}");
        }
    }
}
