//! What is wrong with a pipeline, said to its author: [`Diagnostic`], and all of them at once,
//! [`Diagnostics`].
//!
//! Loading never stops at the first problem: every phase reports into one [`Collector`], and the
//! user sees everything there is to fix in one go, sorted by file and position.

use std::collections::HashSet;
use std::fmt;

use serde::Serialize;

use crate::source::{FileId, Span};

/// One problem, at one place in one file.
///
/// Displays as `gantry.yml:12:7: error: unknown key `parralel` in stage`, followed by an
/// indented `hint:` line when there is an obvious next step.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Diagnostic {
    /// The path of the file the problem is in, as given in its `Source`.
    pub path: String,
    /// Counted from 1.
    pub line: usize,
    /// Counted from 1, in characters.
    pub column: usize,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: error: {}",
            self.path, self.line, self.column, self.message
        )?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// Every problem found in a pipeline and the library files it uses; never empty when returned
/// by `load`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl std::error::Error for Diagnostics {}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, diagnostic) in self.0.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{diagnostic}")?;
        }
        Ok(())
    }
}

/// Gathers the diagnostics of every phase, and knows the path of every file they point into.
#[derive(Debug, Default)]
pub(crate) struct Collector {
    paths: Vec<String>,
    found: Vec<(FileId, Diagnostic)>,
}

impl Collector {
    /// Registers a file about to be read; spans into it carry the returned id.
    pub fn add_file(&mut self, path: &str) -> FileId {
        self.paths.push(path.to_owned());
        FileId(self.paths.len() - 1)
    }

    pub fn path(&self, file: FileId) -> &str {
        self.paths.get(file.0).map_or("", String::as_str)
    }

    pub fn error(&mut self, span: Span, message: impl Into<String>) {
        self.push(span, message.into(), None);
    }

    pub fn error_with_hint(&mut self, span: Span, message: impl Into<String>, hint: impl Into<String>) {
        self.push(span, message.into(), Some(hint.into()));
    }

    pub fn push(&mut self, span: Span, message: String, hint: Option<String>) {
        let diagnostic = Diagnostic {
            path: self.path(span.file).to_owned(),
            line: span.line,
            column: span.column,
            message,
            hint,
        };
        self.found.push((span.file, diagnostic));
    }

    pub fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// How many diagnostics so far; comparing two counts tells whether a step reported any.
    pub fn len(&self) -> usize {
        self.found.len()
    }

    /// Where `earlier` is, as seen from a diagnostic at `here`: `line 4` in the same file,
    /// `line 4, column 9` on the same line, `fragments/checks.yml:4` in another file.
    pub fn locate(&self, earlier: Span, here: Span) -> String {
        if earlier.file == here.file && earlier.line == here.line {
            format!("line {}, column {}", earlier.line, earlier.column)
        } else if earlier.file == here.file {
            format!("line {}", earlier.line)
        } else {
            format!("{}:{}", self.path(earlier.file), earlier.line)
        }
    }

    /// The diagnostics in file order (the order files were read, so the loaded file comes
    /// first), then by position. A fragment used twice reports its problems once.
    pub fn into_diagnostics(self) -> Diagnostics {
        let mut found = self.found;
        found.sort_by_key(|(file, diagnostic)| (*file, diagnostic.line, diagnostic.column));
        let mut seen = HashSet::new();
        let unique = found
            .into_iter()
            .map(|(_, diagnostic)| diagnostic)
            .filter(|diagnostic| seen.insert(diagnostic.clone()))
            .collect();
        Diagnostics(unique)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diagnostic(line: usize, message: &str, hint: Option<&str>) -> Diagnostic {
        Diagnostic {
            path: "gantry.yml".into(),
            line,
            column: 7,
            message: message.into(),
            hint: hint.map(Into::into),
        }
    }

    #[test]
    fn displays_one_block_each() {
        let check = |diagnostics: Vec<Diagnostic>, expect: &str| {
            assert_eq!(Diagnostics(diagnostics).to_string(), expect);
        };
        check(
            vec![diagnostic(
                12,
                "unknown key `parralel` in stage",
                Some("did you mean `parallel`?"),
            )],
            "gantry.yml:12:7: error: unknown key `parralel` in stage\n  hint: did you mean `parallel`?",
        );
        check(
            vec![diagnostic(1, "a", None), diagnostic(2, "b", Some("c"))],
            "gantry.yml:1:7: error: a\ngantry.yml:2:7: error: b\n  hint: c",
        );
    }

    #[test]
    fn sorts_by_file_then_position_and_drops_repeats() {
        let mut collector = Collector::default();
        let main = collector.add_file("gantry.yml");
        let fragment = collector.add_file("fragments/a.yml");
        collector.error(Span::new(fragment, 2, 1), "in fragment");
        collector.error(Span::new(main, 9, 1), "late");
        collector.error(Span::new(main, 3, 5), "early");
        collector.error(Span::new(fragment, 2, 1), "in fragment");
        let messages: Vec<String> = collector
            .into_diagnostics()
            .0
            .into_iter()
            .map(|d| format!("{}:{}", d.path, d.message))
            .collect();
        assert_eq!(
            messages,
            [
                "gantry.yml:early",
                "gantry.yml:late",
                "fragments/a.yml:in fragment"
            ]
        );
    }

    #[test]
    fn locates_earlier_spans() {
        let mut collector = Collector::default();
        let main = collector.add_file("gantry.yml");
        let fragment = collector.add_file("fragments/a.yml");
        assert_eq!(
            collector.locate(Span::new(main, 4, 3), Span::new(main, 9, 3)),
            "line 4"
        );
        assert_eq!(
            collector.locate(Span::new(main, 4, 3), Span::new(main, 4, 9)),
            "line 4, column 3"
        );
        assert_eq!(
            collector.locate(Span::new(fragment, 4, 3), Span::new(main, 9, 3)),
            "fragments/a.yml:4"
        );
    }
}
