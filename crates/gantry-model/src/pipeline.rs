//! The validated pipeline: what a `gantry.yml` means once `uses`, `ref` and `type` are resolved.
//!
//! Values of these types only come out of validation (or back out of the store, where they were
//! saved as JSON), so names are unique within their scope, every task has exactly one body, and
//! durations and globs are well formed.

use std::time::Duration;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// A whole pipeline, resolved: the definition that is recorded with every run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pipeline {
    pub app: String,
    /// The version template, with `{build}`, `{sha}` and `{branch}` placeholders.
    pub version: String,
    pub env: IndexMap<String, String>,
    /// Names of secrets; their values come from the process environment or a secrets file.
    pub secrets: Vec<String>,
    pub traceable: Traceability,
    pub setup: Vec<Task>,
    pub stages: Vec<Stage>,
    pub finally: Vec<Task>,
}

/// Whether a run must be traceable to a pushed, clean revision before it may start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Traceability {
    /// Untraceable runs start, and are marked as such.
    #[default]
    Optional,
    /// Untraceable runs refuse to start.
    Required,
}

/// A named step of the pipeline; its tasks run one after another, or concurrently if `parallel`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage {
    pub name: String,
    pub parallel: bool,
    pub when: Option<When>,
    pub tasks: Vec<Task>,
}

/// One unit of work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub name: String,
    pub kind: TaskKind,
    pub env: IndexMap<String, String>,
    #[serde(with = "duration_millis", default)]
    pub timeout: Option<Duration>,
    /// How many times a failed attempt is tried again (0: run once).
    pub retry: u32,
    pub allow_failure: bool,
    pub when: Option<When>,
    /// Paths or globs, relative to the task's working directory, collected after success.
    pub artifacts: Vec<String>,
    /// The working directory, relative to the repository root.
    pub workdir: Option<String>,
}

/// What a task does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// A bash script, run with `bash -eo pipefail`. Library tasks (`type`) arrive here rendered.
    Run { script: String },
    /// A serial group: its tasks run one after another.
    Group { tasks: Vec<Task> },
}

/// A condition on the run; an element whose condition is false is skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct When {
    /// Branch globs; the condition holds if the run's branch matches any of them.
    pub branch: Vec<String>,
}

impl When {
    /// Whether the condition holds for a run on `branch` (`None`: not on a branch).
    ///
    /// Patterns were checked during validation, so an invalid one cannot reach here; it would
    /// simply not match.
    pub fn matches(&self, branch: Option<&str>) -> bool {
        let Some(branch) = branch else { return false };
        self.branch.iter().any(|pattern| {
            globset::GlobBuilder::new(pattern)
                .literal_separator(false)
                .build()
                .is_ok_and(|glob| glob.compile_matcher().is_match(branch))
        })
    }
}

impl Task {
    /// A task with a `run` body and every option at its default.
    pub fn script(name: impl Into<String>, script: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            kind: TaskKind::Run {
                script: script.into(),
            },
            env: IndexMap::new(),
            timeout: None,
            retry: 0,
            allow_failure: false,
            when: None,
            artifacts: Vec::new(),
            workdir: None,
        }
    }
}

mod duration_millis {
    //! `Option<Duration>` as whole milliseconds, so the stored definition stays plain JSON.
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    #[allow(clippy::ref_option)] // serde's `with` hands us `&Option<_>`
    pub fn serialize<S: Serializer>(value: &Option<Duration>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(duration) => {
                serializer.serialize_some(&u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
            }
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(deserializer)?.map(Duration::from_millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_matches_branch_globs() {
        let when = When {
            branch: vec!["main".into(), "release/*".into()],
        };
        let check =
            |branch: Option<&str>, expect: bool| assert_eq!(when.matches(branch), expect, "{branch:?}");
        check(Some("main"), true);
        check(Some("release/1.2"), true);
        check(Some("feature/x"), false);
        check(None, false);
    }
}
