//! A YAML syntax error explained: where the mistake is, and a hint for the common ones.
//!
//! The parser says where it stopped, in its own words. For the mistakes people make most in a
//! pipeline file, that place is moved to the line that is wrong and a hint says what to do:
//!
//! - a tab: the tab itself, wherever the parser noticed it;
//! - `run: echo a: b`: a `: ` inside an unquoted value starts a mapping; quote it, or use `|`;
//! - a line indented more than the key above it (it continues that key's value) or to a depth
//!   that matches no list or mapping around it;
//! - a file that ends inside a list, a mapping or a quoted value: the last line written, not
//!   the end of the file.

use crate::token::to_comment;

/// A syntax error, placed and explained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    /// Counted from 1.
    pub line: usize,
    /// Counted from 1, in characters.
    pub column: usize,
    /// In characters; at least 1.
    pub width: usize,
    pub message: String,
    pub hint: Option<String>,
}

/// Explains the parser's error `info`, reported at `line` and `column` (counted from 1), in a
/// file of `lines`.
pub(crate) fn explain(lines: &[&str], info: &str, line: usize, column: usize) -> SyntaxError {
    let mut error = SyntaxError {
        line,
        column,
        width: 1,
        message: format!("invalid YAML: {info}"),
        hint: None,
    };
    if let Some((line, column)) = tab_from(lines, line).filter(|_| info.contains("tab")) {
        error.line = line;
        error.column = column;
        error.hint = Some("YAML indents with spaces only; replace the tab with spaces".to_owned());
        return error;
    }
    if info.contains("while parsing a flow sequence") {
        error.hint = Some("a list written as `[...]` ends with `]`".to_owned());
    } else if info.contains("while parsing a flow mapping") {
        error.hint = Some("a mapping written as `{...}` ends with `}`".to_owned());
    }
    let Some(text) = line.checked_sub(1).and_then(|index| lines.get(index)) else {
        return at_last_line(lines, error);
    };
    let chars: Vec<char> = text.chars().collect();
    let indent = chars.iter().take_while(|c| **c == ' ').count();
    if indent >= chars.len() || column > chars.len() {
        // Nothing left on the line the parser stopped at: the mistake is before it.
        return at_last_line(lines, error);
    }
    let before: String = chars[..column.saturating_sub(1).min(chars.len())]
        .iter()
        .collect();
    if info.contains("mapping values are not allowed") || info.contains("expected ',' or '}'") {
        if let Some(key) = key_of_value(&before) {
            error.message = format!("invalid YAML: `: ` inside the value of `{key}` starts a mapping");
            error.hint = Some(if key == "run" {
                "quote it, or use `run: |` and write the script on the lines below, indented".to_owned()
            } else {
                format!("quote the value of `{key}`, as in `{key}: \"a: b\"`")
            });
            return error;
        }
        if info.contains("mapping values are not allowed") {
            let key = first_key(&chars[indent..]);
            error.column = indent + 1;
            error.width = key.chars().count().max(1);
            error.message = format!("invalid YAML: `{key}` is indented more than the line above");
            error.hint = Some(match above(lines, line) {
                Some((number, above_indent, Some(above_key))) if above_indent < indent => format!(
                    "YAML reads it as more of the value of `{above_key}` (line {number}); indent `{key}` as `{above_key}` ({above_indent} spaces) to make it a key of the same mapping",
                ),
                _ => "indent it as the keys beside it".to_owned(),
            });
            return error;
        }
    }
    if info.contains("did not find expected key") || info.contains("did not find expected '-' indicator") {
        error.column = indent + 1;
        error.width = to_comment(&chars[indent..]);
        error.message = format!(
            "invalid YAML: this line's indentation ({indent} spaces) fits no list or mapping above it"
        );
        error.hint = Some(match above(lines, line) {
            Some((number, above_indent, _)) => format!(
                "line {number} is indented by {above_indent}; the entries of one list or mapping line up, and what is inside an entry is indented more than its key",
            ),
            None => "the entries of one list or mapping line up".to_owned(),
        });
    }
    error
}

/// The first tab on `line` or after it: the parser may notice a tab only once it has read
/// past it, or at the end of the line before.
fn tab_from(lines: &[&str], line: usize) -> Option<(usize, usize)> {
    lines
        .iter()
        .enumerate()
        .skip(line.saturating_sub(1))
        .find_map(|(index, text)| {
            let at = text.chars().position(|c| c == '\t')?;
            Some((index + 1, at + 1))
        })
}

/// An error at the end of the file, or on a line with nothing left on it: moved to the end of
/// the last line written before it.
fn at_last_line(lines: &[&str], mut error: SyntaxError) -> SyntaxError {
    let last = lines
        .iter()
        .enumerate()
        .take(error.line.min(lines.len()))
        .rev()
        .find(|(_, text)| !text.trim().is_empty() && !text.trim_start().starts_with('#'));
    if let Some((index, text)) = last
        && index + 1 < error.line
    {
        let chars: Vec<char> = text.chars().collect();
        error.line = index + 1;
        error.column = to_comment(&chars) + 1;
    }
    error
}

/// The key whose value holds the text that ends `before` (what precedes a `:` on its line):
/// `run` for `    run: echo a` and for `  - { name: a, run: echo a`, none for `    run`.
fn key_of_value(before: &str) -> Option<String> {
    let entry = before.rsplit(['{', ',']).next().unwrap_or(before);
    let entry = entry.trim_start().trim_start_matches("- ").trim_start();
    let (key, value) = entry.split_once(": ")?;
    let key = key.trim();
    let simple = !key.is_empty() && !key.contains(' ') && !key.starts_with(['"', '\'']);
    (simple && !value.trim().is_empty()).then(|| key.to_owned())
}

/// The key a line starts with (after its indentation and any `- `).
fn first_key(rest: &[char]) -> String {
    let text: String = rest.iter().collect();
    let text = text.trim_start_matches("- ");
    text.split(':').next().unwrap_or("").trim().to_owned()
}

/// The line above `line` with something on it: its number, its indentation and the key it
/// starts with.
fn above(lines: &[&str], line: usize) -> Option<(usize, usize, Option<String>)> {
    lines
        .iter()
        .enumerate()
        .take(line.saturating_sub(1))
        .rev()
        .find(|(_, text)| !text.trim().is_empty() && !text.trim_start().starts_with('#'))
        .map(|(index, text)| {
            let chars: Vec<char> = text.chars().collect();
            let indent = chars.iter().take_while(|c| **c == ' ').count();
            let mut key_indent = indent;
            let mut rest = &chars[indent..];
            while let ['-', ' ', tail @ ..] = rest {
                let spaces = tail.iter().take_while(|c| **c == ' ').count();
                key_indent += 2 + spaces;
                rest = &tail[spaces..];
            }
            let key = text
                .contains(':')
                .then(|| first_key(rest))
                .filter(|key| !key.is_empty());
            (index + 1, key_indent, key)
        })
}

#[cfg(test)]
mod tests {
    use crate::diagnostic::Collector;
    use crate::yaml;

    /// The one diagnostic of parsing `text`: `line:column-end_column: message (hint)`.
    fn problem(text: &str) -> String {
        let mut out = Collector::default();
        let file = out.add_file("gantry.yml", text);
        yaml::parse(text, file, &mut out);
        let diagnostics = out.into_diagnostics().0;
        assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
        let d = &diagnostics[0];
        let hint = d
            .hint
            .as_ref()
            .map(|hint| format!(" ({hint})"))
            .unwrap_or_default();
        format!("{}:{}-{}: {}{hint}", d.line, d.column, d.end_column, d.message)
    }

    const HEAD: &str = "app: hello\nstages:\n  - name: build\n    tasks:\n      - name: compile\n";

    #[test]
    fn places_and_explains_common_mistakes() {
        let check =
            |body: &str, expect: &str| assert_eq!(problem(&format!("{HEAD}{body}")), expect, "{body}");
        // An unquoted `: ` in a script, in a block mapping and in a flow one.
        check(
            "        run: echo foo: bar\n",
            "6:22-23: invalid YAML: `: ` inside the value of `run` starts a mapping \
             (quote it, or use `run: |` and write the script on the lines below, indented)",
        );
        check(
            "      - { name: x, run: echo a: b }\n",
            "6:31-32: invalid YAML: `: ` inside the value of `run` starts a mapping \
             (quote it, or use `run: |` and write the script on the lines below, indented)",
        );
        check(
            "        workdir: a: b\n",
            "6:19-20: invalid YAML: `: ` inside the value of `workdir` starts a mapping \
             (quote the value of `workdir`, as in `workdir: \"a: b\"`)",
        );
        // Indented more than the key above: the line itself is pointed at, key and all.
        check(
            "          run: cargo build\n",
            "6:11-14: invalid YAML: `run` is indented more than the line above \
             (YAML reads it as more of the value of `name` (line 5); indent `run` as `name` (8 spaces) to make it a key of the same mapping)",
        );
        // Indented less, to a depth no list or mapping has.
        check(
            "        run: cargo build\n     - name: test\n        run: x\n",
            "7:6-18: invalid YAML: this line's indentation (5 spaces) fits no list or mapping above it \
             (line 6 is indented by 8; the entries of one list or mapping line up, and what is inside an entry is indented more than its key)",
        );
        check(
            "       run: cargo build\n",
            "6:8-24: invalid YAML: this line's indentation (7 spaces) fits no list or mapping above it \
             (line 5 is indented by 8; the entries of one list or mapping line up, and what is inside an entry is indented more than its key)",
        );
        // A tab, also where the parser notices it only at the end of the line before.
        check(
            "\t\trun: x\n",
            "6:1-2: invalid YAML: while scanning a plain scalar, found a tab (YAML indents with spaces only; replace the tab with spaces)",
        );
        check(
            "        run: x\n      \t- name: y\n",
            "7:7-8: invalid YAML: while scanning a plain scalar, found a tab (YAML indents with spaces only; replace the tab with spaces)",
        );
        // A file that ends inside a list: the last line written, not the end of the file.
        check(
            "        run: x\n        artifacts: [a, b\n\n",
            "7:25-25: invalid YAML: while parsing a flow sequence, expected ',' or ']' \
             (a list written as `[...]` ends with `]`)",
        );
    }
}
