//! Links to the UI's pages, with names and values percent-encoded so that any app name, branch
//! or task path makes a working URL.

use std::fmt::Write as _;

/// The link to a run's page.
pub fn run(id: &str) -> String {
    format!("/runs/{}", segment(id))
}

/// The link to a task's log; each `/`-separated part of the path is encoded on its own.
pub fn task_log(run_id: &str, path: &str) -> String {
    format!("/runs/{}/tasks/{}", segment(run_id), task_path(path))
}

/// The link to an app's version history.
pub fn app(name: &str) -> String {
    format!("/apps/{}", segment(name))
}

/// The event stream of a run's status.
pub fn run_status(run_id: &str) -> String {
    format!("/ui/runs/{}/status", segment(run_id))
}

/// The event stream that follows a task's log.
pub fn follow(run_id: &str, path: &str) -> String {
    format!("/ui/runs/{}/follow/{}", segment(run_id), task_path(path))
}

/// `path` with each part encoded and the `/` between parts kept.
fn task_path(path: &str) -> String {
    path.split('/').map(segment).collect::<Vec<_>>().join("/")
}

/// `text` encoded as one path segment.
pub fn segment(text: &str) -> String {
    encode(text, false)
}

/// `pairs` as a query string (with the leading `?`), leaving out empty values; empty for none.
pub fn query(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (name, value) in pairs.iter().filter(|(_, value)| !value.is_empty()) {
        out.push(if out.is_empty() { '?' } else { '&' });
        out.push_str(&encode(name, true));
        out.push('=');
        out.push_str(&encode(value, true));
    }
    out
}

/// Percent-encodes every byte but the unreserved ones of RFC 3986; in a query, a space is `+`.
fn encode(text: &str, in_query: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(char::from(byte)),
            b' ' if in_query => out.push('+'),
            _ => {
                let _ = write!(out, "%{byte:02X}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_names_into_links() {
        let check = |actual: String, expect: &str| assert_eq!(actual, expect);
        check(app("hello"), "/apps/hello");
        check(app("a b/c#1"), "/apps/a%20b%2Fc%231");
        check(
            task_log("r1", "test/acceptance/start"),
            "/runs/r1/tasks/test/acceptance/start",
        );
        check(task_log("r1", "test/a b?"), "/runs/r1/tasks/test/a%20b%3F");
        check(follow("r1", "build/compile"), "/ui/runs/r1/follow/build/compile");
        check(
            query(&[("app", "hello"), ("branch", ""), ("result", "a b&c")]),
            "?app=hello&result=a+b%26c",
        );
        check(query(&[("page", "")]), "");
        check(segment("é"), "%C3%A9");
    }
}
