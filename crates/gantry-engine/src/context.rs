//! [`Context`]: variables that tasks hand to the tasks after them.
//!
//! A task writes `KEY=VALUE` lines to the file named by `GANTRY_CONTEXT`; once it succeeds, each
//! pair becomes an environment variable of every later task. Parallel branches start from a
//! [`Context::fork`] of the stage's context and their additions are merged back in declaration
//! order with [`Context::absorb`], so the result never depends on which branch finished first.

use std::path::PathBuf;

use indexmap::IndexMap;
use tempfile::TempDir;

/// Names that tasks cannot set: the engine's own variables.
const RESERVED_PREFIX: &str = "GANTRY_";

/// The variables passed on so far, and which of them this branch added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    vars: IndexMap<String, String>,
    /// What was set since this context was forked: what a branch hands back to its stage.
    added: IndexMap<String, String>,
}

impl Context {
    /// A copy of the variables, with nothing added yet.
    pub fn fork(&self) -> Self {
        Self {
            vars: self.vars.clone(),
            added: IndexMap::new(),
        }
    }

    pub fn set(&mut self, key: String, value: String) {
        self.vars.insert(key.clone(), value.clone());
        self.added.insert(key, value);
    }

    /// Applies what `branch` added since it was forked; a later call wins on the same key.
    pub fn absorb(&mut self, branch: Context) {
        for (key, value) in branch.added {
            self.set(key, value);
        }
    }

    /// The variables, in the order they were first set.
    pub fn vars(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
    }
}

/// Where tasks' context files are created: a fresh empty file for every attempt, in a directory
/// of the run's own that is removed with it.
#[derive(Debug, Default)]
pub(crate) struct ContextFiles {
    /// Created on first use, so a mock run touches no file system.
    dir: Option<Result<TempDir, String>>,
    created: u64,
}

impl ContextFiles {
    /// The path of the next context file, or why there is none.
    pub(crate) fn next(&mut self) -> Result<PathBuf, String> {
        let dir = self.dir.get_or_insert_with(|| {
            tempfile::Builder::new()
                .prefix("gantry-context-")
                .tempdir()
                .map_err(|err| format!("failed to create a directory for context files: {err}"))
        });
        let dir = dir.as_ref().map_err(Clone::clone)?;
        self.created += 1;
        Ok(dir.path().join(format!("{}.env", self.created)))
    }
}

/// A line of a context file that is not `KEY=VALUE`, a blank line or a `#` comment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContextLineError {
    #[error("ignored line {line} of the context file: expected `KEY=VALUE`")]
    NotAssignment { line: usize },
    #[error("ignored line {line} of the context file: `{key}` is not a variable name (letters, digits, `_`)")]
    InvalidName { line: usize, key: String },
    #[error("ignored line {line} of the context file: `{key}` is reserved for gantry's own variables")]
    Reserved { line: usize, key: String },
}

/// The pairs of a context file, in order, and the lines that were ignored.
pub fn parse(text: &str) -> (Vec<(String, String)>, Vec<ContextLineError>) {
    let mut pairs = Vec::new();
    let mut errors = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line_number = index + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            errors.push(ContextLineError::NotAssignment { line: line_number });
            continue;
        };
        if !is_name(key) {
            errors.push(ContextLineError::InvalidName {
                line: line_number,
                key: key.to_owned(),
            });
        } else if key.starts_with(RESERVED_PREFIX) {
            errors.push(ContextLineError::Reserved {
                line: line_number,
                key: key.to_owned(),
            });
        } else {
            pairs.push((key.to_owned(), value.to_owned()));
        }
    }
    (pairs, errors)
}

/// Whether `key` can be an environment variable name in a shell: `[A-Za-z_][A-Za-z0-9_]*`.
fn is_name(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        let check = |text: &str, pairs: &[(&str, &str)], errors: &[&str]| {
            let (got_pairs, got_errors) = parse(text);
            let got_pairs: Vec<(&str, &str)> =
                got_pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            assert_eq!(got_pairs, pairs, "{text:?}");
            let got_errors: Vec<String> = got_errors.iter().map(ToString::to_string).collect();
            assert_eq!(got_errors.len(), errors.len(), "{text:?}: {got_errors:?}");
            for (got, fragment) in got_errors.iter().zip(errors) {
                assert!(got.contains(fragment), "{text:?}: {got}");
            }
        };
        check("", &[], &[]);
        check("A=1\nB=two words\n", &[("A", "1"), ("B", "two words")], &[]);
        check("\n  \n# comment\n  # indented comment\nA=1", &[("A", "1")], &[]);
        check("URL=https://x?a=b\r\n", &[("URL", "https://x?a=b")], &[]);
        check("EMPTY=", &[("EMPTY", "")], &[]);
        check("_under_1=x", &[("_under_1", "x")], &[]);
        check(
            "just text\nA=1",
            &[("A", "1")],
            &["line 1 of the context file: expected `KEY=VALUE`"],
        );
        check("1A=x\nA B=x\n=x", &[], &["`1A`", "`A B`", "``"]);
        check("GANTRY_RESULT=success", &[], &["reserved"]);
    }

    #[test]
    fn forks_and_absorbs_in_order() {
        let mut stage = Context::default();
        stage.set("SHARED".into(), "before".into());
        let mut first = stage.fork();
        let mut second = stage.fork();
        second.set("SHARED".into(), "second".into());
        second.set("ONLY_SECOND".into(), "2".into());
        first.set("SHARED".into(), "first".into());
        assert_eq!(
            first.vars().find(|(k, _)| *k == "SHARED"),
            Some(("SHARED", "first"))
        );
        stage.absorb(first);
        stage.absorb(second);
        let vars: Vec<(&str, &str)> = stage.vars().collect();
        assert_eq!(vars, [("SHARED", "second"), ("ONLY_SECOND", "2")]);
    }
}
