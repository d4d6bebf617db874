//! How far a token reaches on its line: the width of the span a diagnostic underlines.
//!
//! The YAML parser reports where each value starts; where it ends is read back from the line
//! it starts on. A span never runs past its first line: a value written over several lines is
//! underlined on its first.

/// What starts at a position, as the parser reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Token<'v> {
    /// A plain (unquoted) scalar and its value.
    Plain(&'v str),
    /// A quoted scalar: it ends at its closing quote.
    Quoted,
    /// The first line of a block scalar's content (`|`, `>`).
    Block,
    /// A list or mapping: flow ones end at their closing bracket, block ones at the end of the
    /// line they start on.
    Collection,
    /// An alias, `*name`.
    Alias,
}

/// How many characters of `line`, from `column` (counted from 1), the token covers; at least 1.
pub(crate) fn width(line: &str, column: usize, token: Token<'_>) -> usize {
    let rest: Vec<char> = line.chars().skip(column.saturating_sub(1)).collect();
    let width = match token {
        Token::Plain(value) if !value.contains('\n') && value.chars().count() <= rest.len() => {
            value.chars().count()
        }
        Token::Quoted => closing_quote(&rest).unwrap_or_else(|| to_comment(&rest)),
        Token::Block => trimmed(&rest, rest.len()),
        Token::Collection if matches!(rest.first(), Some('[' | '{')) => {
            closing_bracket(&rest).unwrap_or_else(|| to_comment(&rest))
        }
        Token::Alias => rest
            .iter()
            .position(|c| c.is_whitespace() || matches!(c, ',' | ']' | '}'))
            .unwrap_or(rest.len()),
        Token::Plain(_) | Token::Collection => to_comment(&rest),
    };
    width.max(1)
}

/// The width of `rest` up to a comment (a `#` after a space), without trailing spaces.
pub(crate) fn to_comment(rest: &[char]) -> usize {
    let comment = rest
        .windows(2)
        .position(|pair| pair[0].is_whitespace() && pair[1] == '#')
        .unwrap_or(rest.len());
    trimmed(rest, comment)
}

fn trimmed(rest: &[char], end: usize) -> usize {
    rest[..end]
        .iter()
        .rposition(|c| !c.is_whitespace())
        .map_or(0, |last| last + 1)
}

/// The width up to and including the quote that closes the one `rest` starts with.
fn closing_quote(rest: &[char]) -> Option<usize> {
    let quote = *rest.first()?;
    let mut index = 1;
    while index < rest.len() {
        match (quote, rest[index]) {
            ('"', '\\') => index += 1,
            ('\'', '\'') if rest.get(index + 1) == Some(&'\'') => index += 1,
            (_, c) if c == quote => return Some(index + 1),
            _ => {}
        }
        index += 1;
    }
    None
}

/// The width up to and including the bracket that closes the one `rest` starts with.
fn closing_bracket(rest: &[char]) -> Option<usize> {
    let mut depth = 0_usize;
    let mut index = 0;
    while index < rest.len() {
        match rest[index] {
            '[' | '{' => depth += 1,
            ']' | '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(index + 1);
                }
            }
            '"' | '\'' => index += closing_quote(&rest[index..])?.saturating_sub(1),
            _ => {}
        }
        index += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_tokens() {
        let check = |line: &str, column: usize, token: Token<'_>, expect: &str| {
            let got: String = line
                .chars()
                .skip(column - 1)
                .take(width(line, column, token))
                .collect();
            assert_eq!(got, expect, "{line:?} at {column}");
        };
        check("    parralel: true", 5, Token::Plain("parralel"), "parralel");
        check("a: 1.10 # note", 4, Token::Plain("1.10"), "1.10");
        check("a: \"x \\\" y\" # c", 4, Token::Quoted, "\"x \\\" y\"");
        check("a: 'it''s' x", 4, Token::Quoted, "'it''s'");
        check("a: \"open", 4, Token::Quoted, "\"open");
        check("a: [1, [2], \"]\"] # c", 4, Token::Collection, "[1, [2], \"]\"]");
        check("a: {b: 1", 4, Token::Collection, "{b: 1");
        check("  - name: b   # the stage", 5, Token::Collection, "name: b");
        check("    echo a: b  ", 5, Token::Block, "echo a: b");
        check("a: *x, b", 4, Token::Alias, "*x");
        check("a:", 3, Token::Plain(""), "");
        check("a: x", 9, Token::Collection, "");
    }
}
