//! Task templates: a library's `tasks/NAME.yml`, checked once ([`check`]), then rendered for
//! each task that uses it with `type: NAME` ([`Template::render`]).
//!
//! The `run` script is a `MiniJinja` template that sees one variable, `with`: the task's values,
//! then the params' defaults, then an empty string for an optional param with no default.
//! Undefined values are errors, so a misspelt `{{ with.taget }}` never renders as nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use indexmap::IndexMap;
use minijinja::{Environment, UndefinedBehavior, Value};

use crate::diagnostic::Collector;
use crate::raw::{RawMap, RawScalar, RawTemplate, Spanned};
use crate::source::Span;
use crate::suggest;
use crate::validate;

/// Rendering steps allowed for one script: far more than any script needs, and a bound on a
/// template that loops for ever.
const FUEL: u64 = 1_000_000;

/// A task template whose own file is known to be sound.
#[derive(Debug)]
pub(crate) struct Template {
    name: String,
    /// The template file's path, for hints.
    path: String,
    run: String,
    params: Vec<Param>,
    pub env: IndexMap<String, String>,
    pub timeout: Option<Duration>,
}

#[derive(Debug)]
struct Param {
    name: String,
    description: Option<String>,
    required: bool,
    default: Option<RawScalar>,
}

fn environment() -> Environment<'static> {
    let mut environment = Environment::new();
    environment.set_undefined_behavior(UndefinedBehavior::Strict);
    environment.set_fuel(Some(FUEL));
    // Scripts keep their last newline, as written.
    if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
        .keep_trailing_newline(true)
        .build()
    {
        environment.set_syntax(syntax);
    }
    environment
}

/// `MiniJinja`'s message without its made-up file name.
fn describe(error: &minijinja::Error) -> String {
    match error.detail() {
        Some(detail) => format!("{}: {detail}", error.kind()),
        None => error.kind().to_string(),
    }
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Checks the template file `name`; `None` when it cannot be used at all (reported).
pub(crate) fn check(name: &str, raw: RawTemplate, out: &mut Collector) -> Option<Template> {
    let mut params = Vec::new();
    for (param_name, param) in raw.params.map(|params| params.value.0).unwrap_or_default() {
        if !is_identifier(&param_name.value) {
            out.error_with_hint(
                param_name.span,
                format!("param name `{}` cannot be used in a template", param_name.value),
                "use letters, digits and `_`, starting with a letter, so that `{{ with.NAME }}` can reach it",
            );
        }
        let required = param.required.is_some_and(|required| required.value);
        if let (true, Some(default)) = (required, &param.default) {
            out.error_with_hint(
                default.span,
                format!(
                    "param `{}` is required, so its default is never used",
                    param_name.value
                ),
                "drop `default`, or drop `required: true`",
            );
        }
        params.push(Param {
            name: param_name.value,
            description: param.description.map(|description| description.value),
            required,
            default: param.default.map(|default| default.value),
        });
    }
    let env = validate::env(raw.env.as_ref(), out);
    let timeout = validate::timeout(raw.timeout.as_ref(), out);
    let run = raw.run?;

    let environment = environment();
    let compiled = match environment.template_from_str(&run.value) {
        Ok(compiled) => compiled,
        Err(error) => {
            // A block scalar starts on its first line of content, so template lines map onto it.
            let line = run.span.line + error.line().unwrap_or(1).saturating_sub(1);
            out.error(
                Span { line, ..run.span },
                format!("invalid template in `run`: {}", describe(&error)),
            );
            return None;
        }
    };
    let mut used: Vec<String> = compiled.undeclared_variables(true).into_iter().collect();
    used.sort();
    let mut sound = true;
    for variable in used {
        let Some(key) = variable.strip_prefix("with.") else {
            continue;
        };
        if params.iter().all(|param| param.name != key) {
            let hint = suggest::did_you_mean(key, params.iter().map(|param| param.name.as_str()))
                .unwrap_or_else(|| format!("declare `{key}` under `params`"));
            out.error_with_hint(
                run.span,
                format!("`run` uses `with.{key}`, which is not a param"),
                hint,
            );
            sound = false;
        }
    }
    if !sound {
        return None;
    }
    let path = out.path(run.span.file).to_owned();
    Some(Template {
        name: name.to_owned(),
        path,
        run: run.value,
        params,
        env,
        timeout,
    })
}

impl Template {
    /// The script for a task with `type: NAME` at `type_span` and these `with` values; `None`
    /// when a value is unknown, missing, or the template fails on them (reported).
    pub fn render(
        &self,
        with: Option<&Spanned<RawMap<RawScalar>>>,
        type_span: Span,
        out: &mut Collector,
    ) -> Option<String> {
        let given: &[(Spanned<String>, RawScalar)] = with.map_or(&[], |with| &with.value.0);
        let mut sound = true;
        for (key, _) in given {
            if self.params.iter().all(|param| param.name != key.value) {
                sound = false;
                let names = self.params.iter().map(|param| param.name.as_str());
                let hint = if self.params.is_empty() {
                    format!("task type `{}` takes no params", self.name)
                } else {
                    suggest::did_you_mean(&key.value, names.clone()).unwrap_or_else(|| {
                        format!("its params are {}", suggest::list(names, self.params.len()))
                    })
                };
                out.error_with_hint(
                    key.span,
                    format!("unknown param `{}` for task type `{}`", key.value, self.name),
                    hint,
                );
            }
        }
        for param in self.params.iter().filter(|param| param.required) {
            if given.iter().all(|(key, _)| key.value != param.name) {
                sound = false;
                out.error_with_hint(
                    type_span,
                    format!("task type `{}` needs param `{}`", self.name, param.name),
                    match &param.description {
                        Some(description) => {
                            format!(
                                "give it under `with`, as in `with: {{ {}: ... }}` ({description})",
                                param.name
                            )
                        }
                        None => format!("give it under `with`, as in `with: {{ {}: ... }}`", param.name),
                    },
                );
            }
        }
        if !sound {
            return None;
        }

        let value = |scalar: &RawScalar| match scalar.boolean {
            Some(boolean) => Value::from(boolean),
            None => Value::from(scalar.text.clone()),
        };
        let values: BTreeMap<String, Value> = self
            .params
            .iter()
            .map(|param| {
                let given = given
                    .iter()
                    .find(|(key, _)| key.value == param.name)
                    .map(|(_, scalar)| scalar);
                let chosen = given
                    .or(param.default.as_ref())
                    .map_or_else(|| Value::from(""), value);
                (param.name.clone(), chosen)
            })
            .collect();
        let context: BTreeMap<&str, Value> = BTreeMap::from([("with", Value::from(values))]);
        match environment().render_str(&self.run, context) {
            Ok(script) => Some(script),
            Err(error) => {
                out.error_with_hint(
                    type_span,
                    format!("cannot render task type `{}`: {}", self.name, describe(&error)),
                    format!("the template is `{}`", self.path),
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;
    use crate::yaml::{self, Parsed};

    /// Checks `template` and renders it with `with` (a flow mapping), returning the script or
    /// the messages.
    fn render(template: &str, with: &str) -> Result<String, Vec<String>> {
        let mut out = Collector::default();
        let file = out.add_file("tasks/t.yml", template);
        let Parsed::Document(node) = yaml::parse(template, file, &mut out) else {
            panic!("{template}")
        };
        let checked = parse::template(&node, &mut out).and_then(|raw| check("t", raw, &mut out));
        let task = out.add_file("gantry.yml", with);
        let Parsed::Document(with) = yaml::parse(with, task, &mut out) else {
            panic!("{with}")
        };
        let script = checked
            .and_then(|template| template.render(Some(&with_values(&with)), Span::start_of(task), &mut out));
        let messages: Vec<String> = out.into_diagnostics().0.into_iter().map(|d| d.message).collect();
        match script {
            Some(script) if messages.is_empty() => Ok(script),
            _ => Err(messages),
        }
    }

    fn with_values(node: &yaml::Node) -> Spanned<RawMap<RawScalar>> {
        let yaml::Value::Mapping(entries) = &node.value else {
            panic!("not a mapping")
        };
        let values = entries
            .iter()
            .map(|entry| {
                let scalar = entry.value.as_scalar().expect("scalar values");
                let boolean = match scalar.kind() {
                    yaml::ScalarKind::Bool(value) => Some(value),
                    _ => None,
                };
                (
                    Spanned::new(entry.key.clone(), entry.key_span),
                    RawScalar {
                        text: scalar.text.clone(),
                        boolean,
                    },
                )
            })
            .collect();
        Spanned::new(RawMap(values), node.span)
    }

    const DEPLOY: &str = "params:\n  target: { required: true }\n  port: { default: 8080 }\n  verbose: { default: false }\n  note:\nrun: |\n  deploy {{ with.target }}:{{ with.port }}{% if with.verbose %} -v{% endif %}{{ with.note }}\n";

    #[test]
    fn renders_with_values_and_defaults() {
        let check = |with: &str, expect: Result<&str, &[&str]>| {
            let got = render(DEPLOY, with);
            match expect {
                Ok(script) => assert_eq!(got, Ok(script.to_owned()), "{with}"),
                Err(messages) => assert_eq!(
                    got,
                    Err(messages.iter().map(|m| (*m).to_owned()).collect()),
                    "{with}"
                ),
            }
        };
        check("{ target: prod }", Ok("deploy prod:8080\n"));
        check(
            "{ target: prod, port: 9, verbose: true, note: \" #1\" }",
            Ok("deploy prod:9 -v #1\n"),
        );
        check(
            "{ taget: prod }",
            Err(&[
                "task type `t` needs param `target`",
                "unknown param `taget` for task type `t`",
            ]),
        );
    }

    #[test]
    fn checks_the_template_itself() {
        let check = |template: &str, expect: &[&str]| {
            assert_eq!(
                render(template, "{}"),
                Err(expect.iter().map(|m| (*m).to_owned()).collect()),
                "{template}"
            );
        };
        check(
            "run: echo {{ with.missing }}\n",
            &["`run` uses `with.missing`, which is not a param"],
        );
        check(
            "run: echo {{ with.x\n",
            &[
                "invalid template in `run`: syntax error: unexpected end of input, expected end of variable block",
            ],
        );
        check(
            "params:\n  a-b: {}\n  c: { required: true, default: 1 }\nrun: x\n",
            &[
                "param name `a-b` cannot be used in a template",
                "param `c` is required, so its default is never used",
                "task type `t` needs param `c`",
            ],
        );
        check(
            "description: d\n",
            &["missing required key `run` in task template"],
        );
    }

    /// Templates are library code, but still input: deep nesting and endless loops end in a
    /// diagnostic, not a crash or a hang.
    #[test]
    fn hostile_templates_are_reported() {
        let deep = format!("run: \"{{{{ {}1{} }}}}\"\n", "(".repeat(5000), ")".repeat(5000));
        let blocks = format!(
            "run: \"{}x{}\"\n",
            "{% if true %}".repeat(3000),
            "{% endif %}".repeat(3000)
        );
        let endless =
            "run: \"{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}\"\n";
        for text in [deep.as_str(), blocks.as_str(), endless] {
            let mut out = Collector::default();
            let file = out.add_file("tasks/t.yml", text);
            let Parsed::Document(node) = yaml::parse(text, file, &mut out) else {
                panic!()
            };
            let template = parse::template(&node, &mut out).and_then(|raw| check("t", raw, &mut out));
            if let Some(template) = template {
                assert!(template.render(None, Span::start_of(file), &mut out).is_none());
            }
            assert!(!out.is_empty());
        }
    }
}
