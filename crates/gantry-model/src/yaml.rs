//! YAML text to a tree of [`Node`]s that remember where they start.
//!
//! The tree is built from the parser's events by hand, rather than through a YAML library's own
//! tree, so that everything a later phase needs is kept and nothing can panic:
//!
//! - every node and every mapping key has a [`Span`];
//! - a scalar keeps its text as written and whether it was quoted, so `"3"` stays a string and
//!   `3` a number, and a name such as `1.10` keeps its spelling;
//! - duplicate keys are reported (each one, not the first only) instead of silently replaced;
//! - anchors, aliases and `<<` merge keys work, with the size of the expanded tree and its depth
//!   bounded so that no input can exhaust memory or the stack;
//! - a second document, a tag other than `!!str`, or a syntax error become diagnostics.

use std::collections::{HashMap, HashSet};

use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::diagnostic::Collector;
use crate::source::{FileId, Span};
use crate::syntax_error;
use crate::token::{self, Token};

/// More nodes than any pipeline needs, few enough that a document of nested aliases cannot make
/// a load take long or much memory.
const MAX_NODES: usize = 100_000;

/// Deeper than any pipeline needs, shallow enough for the recursive phases after this one.
const MAX_DEPTH: usize = 100;

/// A value in the document, and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub span: Span,
    pub value: Value,
    /// Levels of nesting below and including this node; bounded by [`MAX_DEPTH`].
    height: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Scalar(Scalar),
    Sequence(Vec<Node>),
    /// In document order, without duplicate keys.
    Mapping(Vec<Entry>),
}

/// A mapping entry: a plain-text key and its value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub key: String,
    pub key_span: Span,
    pub value: Node,
}

/// A scalar as written; what it means (string, number, ...) depends on whether it was quoted.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scalar {
    pub text: String,
    /// Quoted, a block scalar (`|`, `>`), or tagged `!!str`: always a string.
    pub quoted: bool,
}

/// What a scalar means, by the YAML 1.2 core schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScalarKind {
    Null,
    Bool(bool),
    Integer,
    Float,
    String,
}

/// The outcome of parsing one file.
#[derive(Debug)]
pub(crate) enum Parsed {
    Document(Node),
    /// No document, or a document with nothing in it; reported by the caller, who knows what
    /// the file should have held.
    Empty,
    /// The file cannot be read as YAML; already reported.
    Invalid,
}

impl Node {
    fn new(span: Span, value: Value) -> Self {
        let height = 1 + match &value {
            Value::Scalar(_) => 0,
            Value::Sequence(items) => items.iter().map(|item| item.height).max().unwrap_or(0),
            Value::Mapping(entries) => entries.iter().map(|entry| entry.value.height).max().unwrap_or(0),
        };
        Self { span, value, height }
    }

    pub fn as_scalar(&self) -> Option<&Scalar> {
        match &self.value {
            Value::Scalar(scalar) => Some(scalar),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        self.as_scalar()
            .is_some_and(|scalar| scalar.kind() == ScalarKind::Null)
    }

    /// What this node is, for "expected a list of tasks, found a string".
    pub fn describe(&self) -> &'static str {
        match &self.value {
            Value::Scalar(scalar) => match scalar.kind() {
                ScalarKind::Null => "nothing",
                ScalarKind::Bool(_) => "a boolean",
                ScalarKind::Integer | ScalarKind::Float => "a number",
                ScalarKind::String => "a string",
            },
            Value::Sequence(_) => "a list",
            Value::Mapping(_) => "a mapping",
        }
    }

    /// How many nodes this one holds, itself included.
    fn size(&self) -> usize {
        1 + match &self.value {
            Value::Scalar(_) => 0,
            Value::Sequence(items) => items.iter().map(Node::size).sum(),
            Value::Mapping(entries) => entries.iter().map(|entry| entry.value.size()).sum(),
        }
    }
}

impl Scalar {
    pub fn kind(&self) -> ScalarKind {
        if self.quoted {
            return ScalarKind::String;
        }
        let text = self.text.as_str();
        match text {
            "" | "~" | "null" | "Null" | "NULL" => ScalarKind::Null,
            "true" | "True" | "TRUE" => ScalarKind::Bool(true),
            "false" | "False" | "FALSE" => ScalarKind::Bool(false),
            _ if is_integer(text) => ScalarKind::Integer,
            _ if is_float(text) => ScalarKind::Float,
            _ => ScalarKind::String,
        }
    }
}

fn is_integer(text: &str) -> bool {
    let digits = |text: &str, radix: u32| !text.is_empty() && text.chars().all(|c| c.is_digit(radix));
    if let Some(octal) = text.strip_prefix("0o") {
        return digits(octal, 8);
    }
    if let Some(hex) = text.strip_prefix("0x") {
        return digits(hex, 16);
    }
    digits(text.strip_prefix(['-', '+']).unwrap_or(text), 10)
}

fn is_float(text: &str) -> bool {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    if matches!(unsigned, ".inf" | ".Inf" | ".INF") || matches!(text, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
        None => (unsigned, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |part: &str| part.chars().all(|c| c.is_ascii_digit());
    let mantissa_ok = all_digits(whole) && all_digits(fraction) && !(whole.is_empty() && fraction.is_empty());
    let exponent_ok = exponent.is_none_or(|exponent| {
        let digits = exponent.strip_prefix(['-', '+']).unwrap_or(exponent);
        !digits.is_empty() && all_digits(digits)
    });
    mantissa_ok && exponent_ok
}

/// A collection still being read.
enum Frame {
    Sequence {
        span: Span,
        anchor: usize,
        items: Vec<Node>,
    },
    Mapping {
        span: Span,
        anchor: usize,
        entries: Vec<Entry>,
        key: PendingKey,
    },
}

/// The state of a mapping between a key and its value.
enum PendingKey {
    None,
    Key {
        text: String,
        span: Span,
    },
    /// A key that cannot be used (not a scalar, or a duplicate): its value is read and dropped.
    Skip,
}

/// Parses `text`, the contents of `file`, reporting every problem into `out`.
pub(crate) fn parse(text: &str, file: FileId, out: &mut Collector) -> Parsed {
    // Editors on some systems start files with a byte order mark; it is not content.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut builder = Builder {
        file,
        out,
        lines: text
            .split('\n')
            .map(|line| line.strip_suffix('\r').unwrap_or(line))
            .collect(),
        stack: Vec::new(),
        anchors: HashMap::new(),
        root: None,
        nodes: 0,
    };
    match builder.run(text) {
        Ok(()) => match builder.root {
            Some(root) if !root.is_null() => Parsed::Document(root),
            Some(_) | None => Parsed::Empty,
        },
        Err(Stop) => Parsed::Invalid,
    }
}

/// Reading stopped at a problem that was reported.
struct Stop;

struct Builder<'a, 't> {
    file: FileId,
    out: &'a mut Collector,
    /// The file's lines, to measure spans and explain syntax errors.
    lines: Vec<&'t str>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    /// Nodes made so far, copies made by aliases included.
    nodes: usize,
}

impl Builder<'_, '_> {
    fn run(&mut self, text: &str) -> Result<(), Stop> {
        let mut parser = Parser::new_from_str(text);
        let mut documents = 0;
        loop {
            let (event, marker) = match parser.next_token() {
                Ok(next) => next,
                Err(error) => {
                    let marker = error.marker();
                    let explained =
                        syntax_error::explain(&self.lines, error.info(), marker.line(), marker.col() + 1);
                    let span =
                        Span::new(self.file, explained.line, explained.column).with_width(explained.width);
                    self.out.push(span, explained.message, explained.hint);
                    return Err(Stop);
                }
            };
            let span = self.span(marker);
            match event {
                Event::StreamEnd => return Ok(()),
                Event::DocumentStart => {
                    documents += 1;
                    if documents > 1 {
                        self.out.error_with_hint(
                            span,
                            "a second YAML document starts here",
                            "a file holds one document; remove the `---` line and what follows, or merge them",
                        );
                        return Ok(());
                    }
                }
                Event::Scalar(text, style, anchor, tag) => {
                    let quoted = style != TScalarStyle::Plain || self.is_str_tag(tag.as_ref(), span);
                    let span = self.measure(
                        span,
                        match style {
                            TScalarStyle::Plain => Token::Plain(&text),
                            TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted => Token::Quoted,
                            TScalarStyle::Literal | TScalarStyle::Folded => Token::Block,
                        },
                    );
                    let node = Node::new(span, Value::Scalar(Scalar { text, quoted }));
                    self.complete(node, anchor)?;
                }
                Event::SequenceStart(anchor, tag) => {
                    self.is_str_tag(tag.as_ref(), span);
                    let span = self.measure(span, Token::Collection);
                    self.open(Frame::Sequence {
                        span,
                        anchor,
                        items: Vec::new(),
                    })?;
                }
                Event::MappingStart(anchor, tag) => {
                    self.is_str_tag(tag.as_ref(), span);
                    let span = self.measure(span, Token::Collection);
                    self.open(Frame::Mapping {
                        span,
                        anchor,
                        entries: Vec::new(),
                        key: PendingKey::None,
                    })?;
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    let Some(frame) = self.stack.pop() else { continue };
                    let (node, anchor) = match frame {
                        Frame::Sequence { span, anchor, items } => {
                            (Node::new(span, Value::Sequence(items)), anchor)
                        }
                        Frame::Mapping {
                            span,
                            anchor,
                            entries,
                            ..
                        } => {
                            // A block mapping's own event comes after its first key.
                            let span = match entries.first() {
                                Some(first) if first.key_span < span => {
                                    self.measure(first.key_span, Token::Collection)
                                }
                                _ => span,
                            };
                            let entries = self.merge(entries);
                            (Node::new(span, Value::Mapping(entries)), anchor)
                        }
                    };
                    self.complete(node, anchor)?;
                }
                Event::Alias(id) => {
                    let Some(node) = self.anchors.get(&id).cloned() else {
                        // The parser knows every anchor defined so far, so this one is still open.
                        self.out.error(span, "this alias refers to a value that contains it; YAML values cannot nest in themselves");
                        return Err(Stop);
                    };
                    self.count(node.size(), span)?;
                    let span = self.measure(span, Token::Alias);
                    let node = Node { span, ..node };
                    self.complete(node, 0)?;
                }
                Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
            }
        }
    }

    fn span(&self, marker: Marker) -> Span {
        Span::new(self.file, marker.line(), marker.col() + 1)
    }

    /// `span` widened to the `token` that starts there.
    fn measure(&self, span: Span, token: Token<'_>) -> Span {
        let line = span.line.checked_sub(1).and_then(|index| self.lines.get(index));
        line.map_or(span, |line| {
            span.with_width(token::width(line, span.column, token))
        })
    }

    /// Whether `tag` is `!!str`; any other tag is reported and otherwise ignored.
    fn is_str_tag(&mut self, tag: Option<&Tag>, span: Span) -> bool {
        match tag {
            None => false,
            Some(tag) if tag.handle == "tag:yaml.org,2002:" && tag.suffix == "str" => true,
            Some(tag) => {
                let written = if tag.handle == "tag:yaml.org,2002:" {
                    format!("!!{}", tag.suffix)
                } else {
                    format!("{}{}", tag.handle, tag.suffix)
                };
                self.out.error_with_hint(
                    span,
                    format!("unsupported YAML tag `{written}`"),
                    "remove the tag; only `!!str` is understood",
                );
                false
            }
        }
    }

    fn count(&mut self, nodes: usize, span: Span) -> Result<(), Stop> {
        self.nodes = self.nodes.saturating_add(nodes);
        if self.nodes > MAX_NODES {
            self.out.error(
                span,
                format!("the document is too large: more than {MAX_NODES} values once aliases are expanded"),
            );
            return Err(Stop);
        }
        Ok(())
    }

    fn open(&mut self, frame: Frame) -> Result<(), Stop> {
        let span = match &frame {
            Frame::Sequence { span, .. } | Frame::Mapping { span, .. } => *span,
        };
        if self.stack.len() >= MAX_DEPTH {
            self.out
                .error(span, format!("the document nests deeper than {MAX_DEPTH} levels"));
            return Err(Stop);
        }
        self.stack.push(frame);
        Ok(())
    }

    /// Adds a finished node to the collection being read, or makes it the document.
    fn complete(&mut self, node: Node, anchor: usize) -> Result<(), Stop> {
        self.count(1, node.span)?;
        if self.stack.len() + node.height > MAX_DEPTH {
            self.out.error(
                node.span,
                format!("the document nests deeper than {MAX_DEPTH} levels"),
            );
            return Err(Stop);
        }
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => {
                self.root.get_or_insert(node);
            }
            Some(Frame::Sequence { items, .. }) => items.push(node),
            Some(Frame::Mapping { entries, key, .. }) => match std::mem::replace(key, PendingKey::None) {
                PendingKey::None => *key = pending_key(entries, &node, self.out),
                PendingKey::Key { text, span } => entries.push(Entry {
                    key: text,
                    key_span: span,
                    value: node,
                }),
                PendingKey::Skip => {}
            },
        }
        Ok(())
    }

    /// Applies `<<` merge keys: the merged mappings' entries join this one where it does not
    /// set the key itself (the first merged mapping wins among them).
    fn merge(&mut self, entries: Vec<Entry>) -> Vec<Entry> {
        if !entries.iter().any(|entry| entry.key == "<<") {
            return entries;
        }
        let mut taken: HashSet<String> = entries
            .iter()
            .filter(|entry| entry.key != "<<")
            .map(|entry| entry.key.clone())
            .collect();
        let mut merged = Vec::with_capacity(entries.len());
        for entry in entries {
            if entry.key != "<<" {
                merged.push(entry);
                continue;
            }
            let sources = if let Value::Sequence(items) = entry.value.value {
                items
            } else {
                vec![entry.value]
            };
            for source in sources {
                match source.value {
                    Value::Mapping(inner) => {
                        merged.extend(inner.into_iter().filter(|inner| taken.insert(inner.key.clone())));
                    }
                    _ => self.out.error(
                        source.span,
                        format!(
                            "`<<` merges mappings (usually an alias such as `*defaults`), found {}",
                            source.describe()
                        ),
                    ),
                }
            }
        }
        merged
    }
}

/// What a node read where a mapping expects a key becomes: a key, or a key to skip (reported).
fn pending_key(entries: &[Entry], node: &Node, out: &mut Collector) -> PendingKey {
    let Value::Scalar(scalar) = &node.value else {
        out.error(
            node.span,
            format!("a mapping key must be plain text, found {}", node.describe()),
        );
        return PendingKey::Skip;
    };
    if let Some(first) = entries.iter().find(|entry| entry.key == scalar.text) {
        let first = out.locate(first.key_span, node.span);
        out.error_with_hint(
            node.span,
            format!("duplicate key `{}`", scalar.text),
            format!("it is first set at {first}; a key may appear once in a mapping"),
        );
        return PendingKey::Skip;
    }
    PendingKey::Key {
        text: scalar.text.clone(),
        span: node.span,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> (Parsed, Vec<String>) {
        let mut out = Collector::default();
        let file = out.add_file("t.yml", text);
        let parsed = parse(text, file, &mut out);
        let messages = out
            .into_diagnostics()
            .0
            .into_iter()
            .map(|d| format!("{}:{}: {}", d.line, d.column, d.message))
            .collect();
        (parsed, messages)
    }

    /// The tree as compact text: scalars as written (quoted ones in quotes), with positions.
    fn show(node: &Node) -> String {
        let at = format!("@{}:{}", node.span.line, node.span.column);
        match &node.value {
            Value::Scalar(Scalar { text, quoted: true }) => format!("{text:?}{at}"),
            Value::Scalar(Scalar { text, quoted: false }) => format!("{text}{at}"),
            Value::Sequence(items) => {
                format!("[{}]{at}", items.iter().map(show).collect::<Vec<_>>().join(", "))
            }
            Value::Mapping(entries) => format!(
                "{{{}}}{at}",
                entries
                    .iter()
                    .map(|e| format!("{}: {}", e.key, show(&e.value)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    #[test]
    fn builds_trees_with_positions() {
        let check = |text: &str, expect: &str| {
            let (parsed, messages) = parse_ok(text);
            assert_eq!(messages, Vec::<String>::new(), "{text}");
            let Parsed::Document(node) = parsed else {
                panic!("{text}: {parsed:?}")
            };
            assert_eq!(show(&node), expect, "{text}");
        };
        check("a: 1\nb: \"x\"\n", "{a: 1@1:4, b: \"x\"@2:4}@1:1");
        check(
            "- name: a\n  run: |\n    x\n",
            "[{name: a@1:9, run: \"x\\n\"@3:5}@1:3]@1:1",
        );
        check("a: {b: [1, 2]}", "{a: {b: [1@1:9, 2@1:12]@1:8}@1:4}@1:1");
        check(
            "a: &x {b: 1}\nc: *x\n",
            "{a: {b: 1@1:11}@1:7, c: {b: 1@1:11}@2:4}@1:1",
        );
        check(
            "d: &d {x: 1, y: 2}\ne:\n  <<: *d\n  y: 3\n",
            "{d: {x: 1@1:11, y: 2@1:17}@1:7, e: {x: 1@1:11, y: 3@4:6}@3:3}@1:1",
        );
        check("a: !!str 1", "{a: \"1\"@1:10}@1:1");
        check("\u{feff}a: 1", "{a: 1@1:4}@1:1");
    }

    #[test]
    fn reports_problems() {
        let check = |text: &str, expect: &[&str]| {
            let (_, messages) = parse_ok(text);
            assert_eq!(messages, expect, "{text}");
        };
        check(
            "a: 1\na: 2\nb: 3\nb: 4\n",
            &["2:1: duplicate key `a`", "4:1: duplicate key `b`"],
        );
        check(
            "a:\n\t- b",
            &["2:1: invalid YAML: tabs disallowed within this context (block indentation)"],
        );
        check("a: 1\n---\nb: 2\n", &["2:1: a second YAML document starts here"]);
        check("a: !foo 1", &["1:9: unsupported YAML tag `!foo`"]);
        check(
            "? [a]\n: b",
            &["1:3: a mapping key must be plain text, found a list"],
        );
        check(
            "a: *nothing",
            &["1:4: invalid YAML: while parsing node, found unknown anchor"],
        );
        check(
            "a: &a [*a]",
            &["1:8: this alias refers to a value that contains it; YAML values cannot nest in themselves"],
        );
        check(
            "<<: 1",
            &["1:5: `<<` merges mappings (usually an alias such as `*defaults`), found a number"],
        );
    }

    #[test]
    fn bounds_size_and_depth() {
        let laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n\
                      c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n\
                      e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
        let (parsed, messages) = parse_ok(laughs);
        assert!(matches!(parsed, Parsed::Invalid));
        assert!(messages[0].contains("too large"), "{messages:?}");

        let deep = format!("a: {}{}", "[".repeat(150), "]".repeat(150));
        let (parsed, messages) = parse_ok(&deep);
        assert!(matches!(parsed, Parsed::Invalid));
        assert!(messages[0].contains("deeper than"), "{messages:?}");

        // The parser has a limit of its own, further down.
        let deeper = format!("a: {}{}", "[".repeat(5000), "]".repeat(5000));
        let (parsed, messages) = parse_ok(&deeper);
        assert!(matches!(parsed, Parsed::Invalid));
        assert_eq!(messages.len(), 1, "{messages:?}");

        let aliased = "a: &a [[[[[[[[[[1]]]]]]]]]]\nb: &b [[[[[[[[[[*a]]]]]]]]]]\nc: &c [[[[[[[[[[*b]]]]]]]]]]\n\
                       d: &d [[[[[[[[[[*c]]]]]]]]]]\ne: &e [[[[[[[[[[*d]]]]]]]]]]\nf: &f [[[[[[[[[[*e]]]]]]]]]]\n\
                       g: &g [[[[[[[[[[*f]]]]]]]]]]\nh: &h [[[[[[[[[[*g]]]]]]]]]]\ni: &i [[[[[[[[[[*h]]]]]]]]]]\n\
                       j: [[[[[[[[[[*i]]]]]]]]]]\n";
        let (parsed, messages) = parse_ok(aliased);
        assert!(matches!(parsed, Parsed::Invalid));
        assert!(messages[0].contains("deeper than"), "{messages:?}");
    }

    #[test]
    fn tells_empty_files() {
        for text in ["", "# only a comment\n", "---\n", "~\n", "\n\n", "\u{feff}"] {
            assert!(matches!(parse_ok(text).0, Parsed::Empty), "{text:?}");
        }
    }

    #[test]
    fn resolves_scalar_kinds() {
        let check = |text: &str, quoted: bool, expect: ScalarKind| {
            assert_eq!(
                Scalar {
                    text: text.into(),
                    quoted
                }
                .kind(),
                expect,
                "{text}"
            );
        };
        check("", false, ScalarKind::Null);
        check("~", false, ScalarKind::Null);
        check("true", false, ScalarKind::Bool(true));
        check("FALSE", false, ScalarKind::Bool(false));
        check("yes", false, ScalarKind::String);
        check("42", false, ScalarKind::Integer);
        check("-7", false, ScalarKind::Integer);
        check("0x1F", false, ScalarKind::Integer);
        check("0o17", false, ScalarKind::Integer);
        check("1.10", false, ScalarKind::Float);
        check("1e3", false, ScalarKind::Float);
        check(".5", false, ScalarKind::Float);
        check("-.inf", false, ScalarKind::Float);
        check(".nan", false, ScalarKind::Float);
        check(".", false, ScalarKind::String);
        check("1.2.3", false, ScalarKind::String);
        check("30s", false, ScalarKind::String);
        check("42", true, ScalarKind::String);
    }
}
