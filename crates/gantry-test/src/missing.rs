//! What a test does when something it needs from the machine is missing (PostgreSQL, a tool such
//! as Chromium or promtool, shared test data): on a laptop it says `SKIPPED` loudly and passes,
//! so that the rest still runs; under CI (`CI` set) it fails, so that a part of the suite can
//! never silently stop running there.

use std::io::Write as _;

/// Reports that `what` is missing: panics with `what` when `CI` is set, else prints a loud
/// `SKIPPED` line with `what` and returns, for the caller to return early.
///
/// # Panics
/// When the `CI` environment variable is set.
pub fn skip_or_fail(what: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "{what}, and `CI` is set: this test must run here"
    );
    // Straight to stderr, not through `eprintln!`, which the test harness captures and hides
    // for a passing test: a skipped test must be seen.
    let _ = writeln!(
        std::io::stderr(),
        "\n!!! SKIPPED: {what}; this test did not run !!!\n"
    );
}
