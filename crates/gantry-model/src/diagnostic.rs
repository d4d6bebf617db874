//! What is wrong with a pipeline, said to its author: [`Diagnostic`], and all of them at once,
//! [`Diagnostics`].
//!
//! Loading never stops at the first problem: every phase reports into one [`Collector`], and the
//! user sees everything there is to fix in one go, sorted by file and position. Each diagnostic
//! keeps the line it points into, so it renders as rustc's do (with `annotate-snippets`): the
//! message, `--> file:line:column`, the line with a caret under the span, and the hint. Whether
//! the rendering is coloured is the caller's choice ([`Diagnostics::render`]); `Display` is plain.

use std::collections::HashSet;
use std::fmt;

use annotate_snippets::{AnnotationKind, Group, Level, Origin, Renderer, Snippet};
use serde::Serialize;

use crate::source::{FileId, Span};

/// One problem, at one place in one file.
///
/// Displays as rustc's errors do:
///
/// ```text
/// error: unknown key `parralel` in stage
///  --> gantry.yml:12:7
///   |
/// 12 |       parralel: true
///   |       ^^^^^^^^
///   |
///   = hint: did you mean `parallel`?
/// ```
///
/// As JSON, it keeps its span: where it starts (`line`, `column`), where it ends (`end_line`,
/// `end_column`, exclusive) and the same as byte offsets into the file (`start`, `end`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Diagnostic {
    /// The path of the file the problem is in, as given in its `Source`.
    pub path: String,
    /// Counted from 1.
    pub line: usize,
    /// Counted from 1, in characters.
    pub column: usize,
    /// The line the span ends on, counted from 1.
    pub end_line: usize,
    /// The column just past the span, counted from 1, in characters.
    pub end_column: usize,
    /// The byte offset of the span's start in the file.
    pub start: usize,
    /// The byte offset just past the span's end in the file.
    pub end: usize,
    pub message: String,
    pub hint: Option<String>,
    /// The text of `line`, shown under the message; `None` when the file has no text to show
    /// (it is not UTF-8, say).
    #[serde(skip)]
    pub source_line: Option<String>,
}

impl Diagnostic {
    /// A problem with a file as a whole, which has no line to show.
    pub fn whole_file(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            line: 1,
            column: 1,
            end_line: 1,
            end_column: 1,
            start: 0,
            end: 0,
            message: message.into(),
            hint: None,
            source_line: None,
        }
    }

    /// The diagnostic as an `annotate-snippets` group: the title, the line with the span
    /// underlined, and the hint.
    fn group(&self) -> Group<'_> {
        let title = Level::ERROR.primary_title(self.message.as_str());
        let group = match &self.source_line {
            Some(text) => {
                let start = byte_index(text, self.column);
                let end = if self.end_line == self.line {
                    byte_index(text, self.end_column).max(start)
                } else {
                    text.len()
                };
                // A span at the very end of the line (a missing value) still gets its caret.
                let end = if end == start { start + 1 } else { end };
                title.element(
                    Snippet::source(text.as_str())
                        .line_start(self.line)
                        .path(self.path.as_str())
                        .annotation(AnnotationKind::Primary.span(start..end)),
                )
            }
            None => title.element(Origin::path(self.path.as_str())),
        };
        match &self.hint {
            Some(hint) => group.element(Level::HELP.with_name("hint").message(hint.as_str())),
            None => group,
        }
    }

    /// The diagnostic rendered, with colours (ANSI escapes) when `styled`.
    pub fn render(&self, styled: bool) -> String {
        renderer(styled).render(&[self.group()])
    }
}

/// The byte index of the character at `column` (counted from 1) in `text`, or its length.
fn byte_index(text: &str, column: usize) -> usize {
    text.char_indices()
        .nth(column.saturating_sub(1))
        .map_or(text.len(), |(index, _)| index)
}

fn renderer(styled: bool) -> Renderer {
    if styled {
        Renderer::styled()
    } else {
        Renderer::plain()
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

/// Every problem found in a pipeline and the library files it uses; never empty when returned
/// by `load`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Every diagnostic rendered, a blank line between two, with colours (ANSI escapes) when
    /// `styled`: the caller knows whether its output is a terminal that wants them.
    pub fn render(&self, styled: bool) -> String {
        self.0
            .iter()
            .map(|diagnostic| diagnostic.render(styled))
            .collect::<Vec<_>>()
            .join("\n\n")
    }
}

impl std::error::Error for Diagnostics {}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

/// Gathers the diagnostics of every phase, and knows the path and text of every file they
/// point into.
#[derive(Debug, Default)]
pub(crate) struct Collector {
    files: Vec<File>,
    found: Vec<(FileId, Diagnostic)>,
}

/// A file diagnostics point into.
#[derive(Debug)]
struct File {
    path: String,
    /// Without a byte order mark, as the YAML parser reads it (positions count from there).
    text: String,
    /// The length of the byte order mark the file started with, added back to byte offsets.
    bom: usize,
}

impl File {
    /// The text of `line` (counted from 1) without its line break, and its byte offset.
    fn line(&self, line: usize) -> Option<(usize, &str)> {
        let mut offset = 0;
        for (index, text) in self.text.split_inclusive('\n').enumerate() {
            if index + 1 == line {
                let text = text.strip_suffix('\n').unwrap_or(text);
                return Some((offset, text.strip_suffix('\r').unwrap_or(text)));
            }
            offset += text.len();
        }
        None
    }
}

impl Collector {
    /// Registers a file about to be read; spans into it carry the returned id.
    pub fn add_file(&mut self, path: &str, text: &str) -> FileId {
        let stripped = text.strip_prefix('\u{feff}').unwrap_or(text);
        self.files.push(File {
            path: path.to_owned(),
            text: stripped.to_owned(),
            bom: text.len() - stripped.len(),
        });
        FileId(self.files.len() - 1)
    }

    pub fn path(&self, file: FileId) -> &str {
        self.files.get(file.0).map_or("", |file| file.path.as_str())
    }

    pub fn error(&mut self, span: Span, message: impl Into<String>) {
        self.push(span, message.into(), None);
    }

    pub fn error_with_hint(&mut self, span: Span, message: impl Into<String>, hint: impl Into<String>) {
        self.push(span, message.into(), Some(hint.into()));
    }

    pub fn push(&mut self, span: Span, message: String, hint: Option<String>) {
        let file = self.files.get(span.file.0);
        let line = file.and_then(|file| Some((file.bom, file.line(span.line)?)));
        let (start, end, end_column, source_line) = match line {
            Some((bom, (offset, text))) => {
                // A span past the end of its line (the end of a file, say) points just past it.
                let length = text.chars().count();
                let column = span.column.min(length + 1);
                let end_column = (column + span.width).min(length + 1).max(column);
                let start = bom + offset + byte_index(text, column);
                let end = bom + offset + byte_index(text, end_column);
                (start, end, end_column, Some(text.to_owned()))
            }
            None => (0, 0, span.column + span.width, None),
        };
        let diagnostic = Diagnostic {
            path: self.path(span.file).to_owned(),
            line: span.line,
            column: span.column,
            end_line: span.line,
            end_column,
            start,
            end,
            message,
            hint,
            source_line,
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

    const FILE: &str = "app: x\nstages:\n  - name: b\n    parralel: true\n    tasks: []\n";

    #[test]
    fn renders_the_line_with_a_caret_under_the_span() {
        let mut collector = Collector::default();
        let file = collector.add_file("gantry.yml", FILE);
        collector.error_with_hint(
            Span::new(file, 4, 5).with_width(8),
            "unknown key `parralel` in stage",
            "did you mean `parallel`?",
        );
        collector.error(Span::new(file, 5, 12).with_width(2), "stage `b` has no tasks");
        let diagnostics = collector.into_diagnostics();
        assert_eq!(
            diagnostics.to_string(),
            "\
error: unknown key `parralel` in stage
 --> gantry.yml:4:5
  |
4 |     parralel: true
  |     ^^^^^^^^
  |
  = hint: did you mean `parallel`?

error: stage `b` has no tasks
 --> gantry.yml:5:12
  |
5 |     tasks: []
  |            ^^"
        );
        let styled = diagnostics.render(true);
        assert!(styled.contains("\u{1b}["), "{styled}");
        assert_eq!(
            serde_json::to_value(&diagnostics.0[0]).unwrap(),
            serde_json::json!({
                "path": "gantry.yml", "line": 4, "column": 5, "end_line": 4, "end_column": 13,
                "start": 31, "end": 39, "message": "unknown key `parralel` in stage",
                "hint": "did you mean `parallel`?",
            })
        );
    }

    #[test]
    fn clamps_spans_to_their_line_and_counts_a_byte_order_mark() {
        let mut collector = Collector::default();
        let file = collector.add_file("gantry.yml", "\u{feff}app: é\r\nx: 1");
        collector.error(Span::new(file, 1, 6).with_width(9), "past the end");
        collector.error(Span::new(file, 9, 1), "no such line");
        let diagnostics = collector.into_diagnostics().0;
        let first = &diagnostics[0];
        assert_eq!((first.column, first.end_column), (6, 7));
        assert_eq!((first.start, first.end), (8, 10), "{first:?}");
        assert_eq!(first.source_line.as_deref(), Some("app: é"));
        assert!(diagnostics[1].source_line.is_none());
        assert_eq!(
            Diagnostic::whole_file("gantry.yml", "the file is not UTF-8 text").to_string(),
            "error: the file is not UTF-8 text\n--> gantry.yml"
        );
    }

    #[test]
    fn sorts_by_file_then_position_and_drops_repeats() {
        let mut collector = Collector::default();
        let main = collector.add_file("gantry.yml", "");
        let fragment = collector.add_file("fragments/a.yml", "");
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
        let main = collector.add_file("gantry.yml", "");
        let fragment = collector.add_file("fragments/a.yml", "");
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
