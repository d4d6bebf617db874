//! Insta settings that make output stable across runs and machines: run ids, times, durations,
//! digests, revisions, loopback ports and temporary paths are replaced by a bracketed name.
//!
//! `let _redacted = project.redacted().bind_to_scope();` then
//! `insta::assert_snapshot!(out.transcript())`; elsewhere [`redacted`] with the paths to hide.

use std::path::Path;

/// The filters, in order: each is a regular expression and what replaces its matches. Longer
/// and more specific shapes come first, so that a time is not half taken by a duration.
const FILTERS: &[(&str, &str)] = &[
    // UUIDs: run ids, event ids.
    (
        r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
        "[ID]",
    ),
    // Digests (sha256) and git revisions (sha1).
    (r"\b[0-9a-f]{64}\b", "[SHA256]"),
    (r"\b[0-9a-f]{40}\b", "[REVISION]"),
    // Timestamps: RFC 3339 and the `YYYY-MM-DD HH:MM[:SS]` the terminal shows.
    (
        r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2}| UTC)?",
        "[TIME]",
    ),
    // A time of day alone, to the millisecond: a log line's in the web UI.
    (r"\b\d{2}:\d{2}:\d{2}\.\d{3}\b", "[CLOCK]"),
    // A date alone: the web UI's for times past a month.
    (r"\b\d{4}-\d{2}-\d{2}\b", "[DATE]"),
    // How long ago, as the web UI says it.
    (r"\b(just now|yesterday|\d+ (s|min|h|days) ago)\b", "[AGO]"),
    // Ports of the loopback, free ones a test took.
    (r"\b(127\.0\.0\.1|localhost):\d+\b", "$1:[PORT]"),
    // Durations as the reporter writes them: `0.01s`, `1m05s`, `350ms`; then the padding that
    // aligned them in a table, which depended on their width.
    (
        r"\b(\d+h ?\d+m|\d+m ?\d{2}s|\d+(\.\d+)?(ms|µs|s))\b",
        "[DURATION]",
    ),
    (r" {2,}\[DURATION\]", "  [DURATION]"),
    (r"\[DURATION\] {2,}", "[DURATION]  "),
    // Where a run ran: this machine's process ids.
    (r"\bpid \d+\b", "pid [PID]"),
    // The web UI's fingerprint of a live page's state, which holds its times.
    (
        r#"data-fingerprint="[0-9a-f]+""#,
        r#"data-fingerprint="[FINGERPRINT]""#,
    ),
];

/// Insta settings with Gantry's filters, and each of `paths` replaced by its name (a project's
/// temporary directory by `[PROJECT]`, say). Bind them to a scope before asserting.
pub fn redacted(paths: &[(&Path, &str)]) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    // Paths first: a temporary directory's name could look like anything below.
    for (path, name) in paths {
        for shape in [
            path.to_path_buf(),
            path.canonicalize().unwrap_or_else(|_| path.to_path_buf()),
        ] {
            settings.add_filter(&regex::escape(&shape.display().to_string()), *name);
        }
    }
    settings.add_filter(r"/tmp/\.tmp[0-9A-Za-z]+", "[TMP]");
    if let Some(host) = nix::unistd::gethostname()
        .ok()
        .and_then(|host| host.into_string().ok())
    {
        settings.add_filter(&format!(r"\b{}\b", regex::escape(&host)), "[HOST]");
    }
    for (pattern, replacement) in FILTERS {
        settings.add_filter(pattern, *replacement);
    }
    settings
}
