//! [`Masker`]: hides secret values in output lines before they become events.
//!
//! Output is masked line by line, so a secret whose value spans several lines is registered line
//! by line as well: each of its lines, without the white space around it, is hidden wherever it
//! appears, except lines shorter than [`MIN_SECRET_CHARS`] (the lone `{` of a JSON key file
//! would otherwise hide every `{` of the log). A one-line value is hidden whatever its length;
//! callers refuse values that short (see [`MIN_SECRET_CHARS`]).
//!
//! A value that is a JSON document (a cloud service account's key, say) also registers each of
//! its string values of [`MIN_SECRET_CHARS`] or more, line by line: a task that prints one of
//! them alone (`jq -r .private_key`) or the document reformatted (`jq -c .`) shows `***` there.

use std::borrow::Cow;
use std::ops::Range;

use aho_corasick::{AhoCorasick, MatchKind};

/// What a secret value is replaced with.
pub const MASK: &str = "***";

/// The shortest secret that can be hidden without hiding ordinary output with it: a value (or a
/// line of a multi-line value) shorter than this would mask every occurrence of its characters
/// in the log. `gantry run` refuses shorter values.
pub const MIN_SECRET_CHARS: usize = 4;

/// Replaces every occurrence of every secret value in a line with [`MASK`].
///
/// The values are searched for together, in one pass over the line (an Aho-Corasick automaton
/// over all of them), so a line costs the same whether a run has one secret or fifty, and a run
/// with no secret costs no search at all.
#[derive(Debug, Clone, Default)]
pub struct Masker {
    /// Every value to hide; `None` when there is none.
    search: Option<AhoCorasick>,
}

impl Masker {
    /// A masker for the values of `secrets` (name, value); empty values are ignored, and so
    /// are the lines of a multi-line value shorter than [`MIN_SECRET_CHARS`].
    pub fn new(secrets: &[(String, String)]) -> Self {
        let mut values: Vec<String> = Vec::new();
        for (_, value) in secrets {
            let lines = lines_of(value);
            let shortest = if lines.len() > 1 { MIN_SECRET_CHARS } else { 1 };
            values.extend(lines.into_iter().filter(|line| line.chars().count() >= shortest));
            for text in json_strings(value) {
                values.extend(
                    lines_of(&text)
                        .into_iter()
                        .filter(|line| line.chars().count() >= MIN_SECRET_CHARS),
                );
            }
        }
        values.sort();
        values.dedup();
        // Standard semantics, so that every occurrence of every value is reported, overlapping
        // ones included. Building fails only on limits far beyond any set of secrets; masking
        // then falls back to hiding whole lines rather than showing a value.
        let search = (!values.is_empty()).then(|| {
            AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .build(&values)
                .ok()
        });
        Self {
            search: search.map(|built| built.unwrap_or_else(hide_everything)),
        }
    }

    /// Whether there is anything to hide.
    pub fn is_empty(&self) -> bool {
        self.search.is_none()
    }

    /// `line` with every occurrence of a secret value replaced by [`MASK`].
    ///
    /// Occurrences that overlap (of one value, or of two values sharing text) are hidden as one
    /// span, so no fragment of either value is left visible.
    pub fn mask(&self, line: &str) -> String {
        self.mask_cow(line).into_owned()
    }

    /// [`Masker::mask`], borrowing the line when it holds no secret (the common case).
    pub fn mask_cow<'a>(&self, line: &'a str) -> Cow<'a, str> {
        let Some(search) = &self.search else {
            return Cow::Borrowed(line);
        };
        let mut spans: Vec<Range<usize>> = search
            .find_overlapping_iter(line)
            .map(|found| found.range())
            .collect();
        if spans.is_empty() {
            return Cow::Borrowed(line);
        }
        spans.sort_by_key(|span| span.start);
        let mut masked = String::with_capacity(line.len());
        let mut copied = 0;
        let mut current: Option<Range<usize>> = None;
        for span in spans {
            match &mut current {
                Some(open) if span.start <= open.end => open.end = open.end.max(span.end),
                _ => {
                    if let Some(done) = current.take() {
                        masked.push_str(&line[copied..done.start]);
                        masked.push_str(MASK);
                        copied = done.end;
                    }
                    current = Some(span);
                }
            }
        }
        if let Some(done) = current {
            masked.push_str(&line[copied..done.start]);
            masked.push_str(MASK);
            copied = done.end;
        }
        masked.push_str(&line[copied..]);
        Cow::Owned(masked)
    }

    /// Masks each line in place.
    pub fn mask_all(&self, lines: &mut [String]) {
        if self.is_empty() {
            return;
        }
        for line in lines {
            if let Cow::Owned(masked) = self.mask_cow(line) {
                *line = masked;
            }
        }
    }
}

/// A search that matches every byte: what a masker falls back to if its automaton cannot be
/// built, so that it hides too much rather than show a secret.
fn hide_everything() -> AhoCorasick {
    let bytes: Vec<[u8; 1]> = (0..=u8::MAX).map(|byte| [byte]).collect();
    AhoCorasick::new(bytes).expect("256 one-byte patterns are always within limits")
}

/// The non-empty lines of `text`, without the white space around each.
fn lines_of(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The string values of `text` when it is a JSON object or array; none otherwise.
fn json_strings(text: &str) -> Vec<String> {
    fn collect(value: serde_json::Value, into: &mut Vec<String>) {
        match value {
            serde_json::Value::String(text) => into.push(text),
            serde_json::Value::Array(items) => items.into_iter().for_each(|item| collect(item, into)),
            serde_json::Value::Object(fields) => fields.into_iter().for_each(|(_, item)| collect(item, into)),
            _ => {}
        }
    }
    let mut strings = Vec::new();
    if text.trim_start().starts_with(['{', '['])
        && let Ok(value) = serde_json::from_str(text)
    {
        collect(value, &mut strings);
    }
    strings
}

/// `line` with every occurrence of every non-empty secret value replaced by [`MASK`].
///
/// Builds a [`Masker`] on each call; keep one when masking many lines.
pub fn mask(line: &str, secrets: &[(String, String)]) -> String {
    Masker::new(secrets).mask(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        let check = |secrets: &[&str], line: &str, expect: &str| {
            let secrets: Vec<(String, String)> = secrets
                .iter()
                .enumerate()
                .map(|(index, value)| (format!("S{index}"), (*value).to_owned()))
                .collect();
            assert_eq!(mask(line, &secrets), expect, "{secrets:?} {line:?}");
        };
        check(&[], "nothing to hide", "nothing to hide");
        check(&[""], "empty values hide nothing", "empty values hide nothing");
        check(&["hunter2"], "password=hunter2", "password=***");
        check(&["hunter2"], "hunter2hunter2 and hunter2", "*** and ***");
        check(&["aa"], "aaa", "***");
        check(&["abc", "abcdef"], "x abcdef y abc", "x *** y ***");
        check(&["abcd", "cdef"], "abcdef", "***");
        check(&["ab", "cd"], "abcd", "***");
        check(&["ab", "cd"], "ab cd", "*** ***");
        check(&["line one\nline two"], "line two is here", "*** is here");
        check(&["multi\r\nline"], "multi", "***");
        // Short lines of a multi-line value are left alone; a short one-line value is not.
        check(
            &["{\n  \"key\": \"s3cr3t\"\n}"],
            "x   \"key\": \"s3cr3t\" y",
            "x   *** y",
        );
        check(&["{\n  \"key\": \"s3cr3t\"\n}"], "{ }", "{ }");
        check(&["{"], "{ a }", "*** a }");
        // Lines are found whatever their indentation.
        check(&["key:\n    s3cr3t-line\n"], "s3cr3t-line", "***");
        // A JSON document's string values are secrets of their own.
        let key =
            "{\n  \"type\": \"sa\",\n  \"private_key\": \"-----BEGIN-----\\nMIIEabcd\\n-----END-----\\n\"\n}";
        check(&[key], "MIIEabcd", "***");
        check(
            &[key],
            "{\"type\":\"sa\",\"private_key\":\"x\"}",
            "{\"type\":\"sa\",\"private_key\":\"x\"}",
        );
        check(&[key], "-----BEGIN-----", "***");
        check(&["[\"a\", \"b\"]"], "a b", "a b");
        check(&["ключ"], "значение ключ ключ!", "значение *** ***!");
        check(&["é"], "ééé", "***");
    }
}
