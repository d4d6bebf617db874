//! Hints for names a user got almost right: the nearest valid one, or a short list of the valid
//! ones.

use std::fmt::Write as _;

/// The candidate closest to `word`, if one is close enough to be what the user meant.
///
/// Close enough: the same ignoring case, or a few edits away (one per three characters of the
/// candidate, at least one), counting a swap of neighbours as one edit.
pub(crate) fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lowered = word.to_lowercase();
    let mut best: Option<(usize, &'a str)> = None;
    for candidate in candidates {
        if candidate == word {
            continue;
        }
        let distance = strsim::damerau_levenshtein(&lowered, &candidate.to_lowercase());
        let allowed = (candidate.chars().count() / 3).max(1);
        if distance <= allowed && best.is_none_or(|(best_distance, _)| distance < best_distance) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

/// `did you mean `parallel`?`, when a candidate is close enough.
pub(crate) fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    nearest(word, candidates).map(|name| format!("did you mean `{name}`?"))
}

/// `` `a`, `b`, `c` `` and, past `max` names, `and 4 more`.
pub(crate) fn list<'a>(names: impl IntoIterator<Item = &'a str>, max: usize) -> String {
    let names: Vec<&str> = names.into_iter().collect();
    let shown: Vec<String> = names.iter().take(max).map(|name| format!("`{name}`")).collect();
    let mut text = shown.join(", ");
    if names.len() > max {
        let _ = write!(text, " and {} more", names.len() - max);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAGE_KEYS: &[&str] = &["name", "tasks", "parallel", "when"];

    #[test]
    fn finds_the_nearest_key() {
        let check = |word: &str, expect: Option<&str>| {
            assert_eq!(nearest(word, STAGE_KEYS.iter().copied()), expect, "{word}");
        };
        check("parralel", Some("parallel"));
        check("Parallel", Some("parallel"));
        check("nmae", Some("name"));
        check("task", Some("tasks"));
        check("wehn", Some("when"));
        check("with", None);
        check("steps", None);
        check("", None);
    }

    #[test]
    fn lists_a_few_names() {
        let check = |names: &[&str], expect: &str| assert_eq!(list(names.iter().copied(), 3), expect);
        check(&["a"], "`a`");
        check(&["a", "b", "c"], "`a`, `b`, `c`");
        check(&["a", "b", "c", "d", "e"], "`a`, `b`, `c` and 2 more");
    }
}
