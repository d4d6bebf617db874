//! [`StandIn`]: what replaces a task in a mock run (`gantry run --mock`).
//!
//! A mock run tests the pipeline, not the product: the real engine decides order, concurrency,
//! skips, retries and `finally`, while each task is a stand-in that runs no process, prints
//! what it would have run, and succeeds, or fails when asked to.

/// A task's stand-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StandIn {
    /// The one line the stand-in prints.
    pub(crate) line: String,
    /// Whether it fails (exit code 1) instead of succeeding.
    pub(crate) fails: bool,
}

impl StandIn {
    pub(crate) fn new(script: &str, fails: bool) -> Self {
        Self {
            line: describe(script),
            fails,
        }
    }
}

/// "mock: would run \`FIRST LINE\`", noting how many more lines the script has.
fn describe(script: &str) -> String {
    let mut lines = script.lines().map(str::trim).filter(|line| !line.is_empty());
    let Some(first) = lines.next() else {
        return "mock: would run an empty script".to_owned();
    };
    match lines.count() {
        0 => format!("mock: would run `{first}`"),
        1 => format!("mock: would run `{first}` and 1 more line"),
        more => format!("mock: would run `{first}` and {more} more lines"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes() {
        let check = |script: &str, expect: &str| assert_eq!(describe(script), expect, "{script:?}");
        check("cargo test", "mock: would run `cargo test`");
        check(
            "\n  cargo build --release  \n",
            "mock: would run `cargo build --release`",
        );
        check("one\ntwo", "mock: would run `one` and 1 more line");
        check("one\n\ntwo\nthree\n", "mock: would run `one` and 2 more lines");
        check("  \n", "mock: would run an empty script");
    }
}
