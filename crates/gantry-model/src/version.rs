//! Rendering the `version` template: `{build}`, `{sha}` and `{branch}`.

/// Renders `template` for one run.
///
/// `{sha}` is the short (7 character) revision, `unknown` without one; `{branch}` is the branch
/// with every character outside `[A-Za-z0-9._-]` replaced by `-`, `detached` without one, so a
/// version is always safe in a file name, a tag or a URL.
pub fn render_version(template: &str, build: u64, revision: Option<&str>, branch: Option<&str>) -> String {
    let sha = revision.map_or_else(|| "unknown".to_owned(), |rev| rev.chars().take(7).collect());
    let branch = branch.map_or_else(
        || "detached".to_owned(),
        |branch| {
            branch
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                        c
                    } else {
                        '-'
                    }
                })
                .collect()
        },
    );
    template
        .replace("{build}", &build.to_string())
        .replace("{sha}", &sha)
        .replace("{branch}", &branch)
}

/// The placeholders a version template may use.
pub const VERSION_PLACEHOLDERS: [&str; 3] = ["build", "sha", "branch"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders() {
        let check = |template: &str, rev: Option<&str>, branch: Option<&str>, expect: &str| {
            assert_eq!(render_version(template, 42, rev, branch), expect);
        };
        check("{build}", None, None, "42");
        check("1.4.{build}", Some("0123456789abcdef"), Some("main"), "1.4.42");
        check("{build}-{sha}", Some("0123456789abcdef"), None, "42-0123456");
        check("{branch}.{build}", None, Some("feature/x y"), "feature-x-y.42");
        check("{sha}", None, None, "unknown");
    }
}
