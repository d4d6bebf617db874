//! How times, durations, sizes and revisions read on a page: short, and the same everywhere.

use chrono::{DateTime, Utc};
use gantry_store::RunSummary;
use maud::{Markup, html};

/// A run's version where it says more than its build number: `None` for an app without a
/// version template, whose version is the build number itself.
pub fn version(run: &RunSummary) -> Option<&str> {
    (run.version != run.build.to_string()).then_some(run.version.as_str())
}

/// A run as titles and breadcrumbs name it: `hello 1.4.7 #7`, or `slow #1` for an app whose
/// version is its build number (never `slow 1`).
pub fn run_name(run: &RunSummary) -> String {
    match version(run) {
        Some(version) => format!("{} {version} #{}", run.app, run.build),
        None => format!("{} #{}", run.app, run.build),
    }
}

/// `count` things, singular for one: `1 run`, `3 runs`.
pub fn count(count: u64, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

/// A duration as a person reads it: `450ms`, `12.3s`, `4m 05s`, `2h 03m`.
pub fn duration(millis: u64) -> String {
    let seconds = millis / 1000;
    match seconds {
        0 => format!("{millis}ms"),
        1..=59 => format!("{seconds}.{}s", (millis % 1000) / 100),
        60..=3599 => format!("{}m {:02}s", seconds / 60, seconds % 60),
        _ => format!("{}h {:02}m", seconds / 3600, (seconds % 3600) / 60),
    }
}

/// How long ago `at` was, from `now`: `just now`, `5 min ago`, `3 h ago`, `4 days ago`, and the
/// date past a month.
pub fn relative(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (now - at).num_seconds();
    match seconds {
        ..10 => "just now".to_owned(),
        10..60 => format!("{seconds} s ago"),
        60..3600 => format!("{} min ago", seconds / 60),
        3600..86_400 => format!("{} h ago", seconds / 3600),
        86_400..172_800 => "yesterday".to_owned(),
        172_800..2_592_000 => format!("{} days ago", seconds / 86_400),
        _ => at.format("%Y-%m-%d").to_string(),
    }
}

/// `at` to the second, in UTC.
pub fn absolute(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// A `<time>` that reads relative, with the absolute time on hover; the script keeps the
/// relative text fresh.
pub fn time(at: DateTime<Utc>, now: DateTime<Utc>) -> Markup {
    html! {
        time datetime=(at.to_rfc3339()) title=(absolute(at)) data-relative { (relative(at, now)) }
    }
}

/// A `<time>` that reads relative and absolute both.
pub fn time_both(at: DateTime<Utc>, now: DateTime<Utc>) -> Markup {
    html! {
        time datetime=(at.to_rfc3339()) title=(absolute(at)) data-relative { (relative(at, now)) }
        " " span.muted.abs { (at.format("%Y-%m-%d %H:%M UTC")) }
    }
}

/// How long something took, or has taken so far while it runs (the script ticks it on), or a
/// dash when it never started.
pub fn elapsed(
    started: Option<DateTime<Utc>>,
    duration_ms: Option<u64>,
    running: bool,
    now: DateTime<Utc>,
) -> Markup {
    html! {
        @if let Some(millis) = duration_ms {
            span.duration { (duration(millis)) }
        } @else if let (Some(started), true) = (started, running) {
            span.duration data-since=(started.to_rfc3339()) { (duration(millis_between(started, now))) }
        } @else {
            span.duration.muted { "—" }
        }
    }
}

/// The first 8 characters of a revision.
pub fn short_sha(revision: &str) -> &str {
    revision.get(..8).unwrap_or(revision)
}

/// A size in bytes as a person reads it: `512 B`, `1.5 KiB`, `12.0 MiB`.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes;
    let mut unit = 0;
    // Tenths of the unit, in integers so that nothing is lost to float casts.
    while value >= 1024 * 1024 && unit + 1 < UNITS.len() {
        value /= 1024;
        unit += 1;
    }
    let tenths = value * 10 / 1024;
    format!("{}.{} {}", tenths / 10, tenths % 10, UNITS[unit])
}

/// Whole milliseconds from `start` to `end`, never negative.
pub fn millis_between(start: DateTime<Utc>, end: DateTime<Utc>) -> u64 {
    u64::try_from((end - start).num_milliseconds()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    #[test]
    fn durations_read_short() {
        let check = |millis, expect: &str| assert_eq!(duration(millis), expect, "{millis}");
        check(0, "0ms");
        check(450, "450ms");
        check(1_000, "1.0s");
        check(12_345, "12.3s");
        check(59_999, "59.9s");
        check(60_000, "1m 00s");
        check(245_000, "4m 05s");
        check(3_600_000, "1h 00m");
        check(7_380_000, "2h 03m");
    }

    #[test]
    fn times_read_relative() {
        let now = Utc.with_ymd_and_hms(2025, 5, 10, 12, 0, 0).unwrap();
        let check = |ago: Duration, expect: &str| assert_eq!(relative(now - ago, now), expect, "{ago}");
        check(Duration::seconds(-5), "just now");
        check(Duration::seconds(3), "just now");
        check(Duration::seconds(42), "42 s ago");
        check(Duration::minutes(5), "5 min ago");
        check(Duration::hours(3), "3 h ago");
        check(Duration::hours(30), "yesterday");
        check(Duration::days(4), "4 days ago");
        check(Duration::days(40), "2025-03-31");
    }

    #[test]
    fn counts_agree_in_number() {
        assert_eq!(count(0, "run", "runs"), "0 runs");
        assert_eq!(count(1, "run", "runs"), "1 run");
        assert_eq!(count(2, "app", "apps"), "2 apps");
    }

    #[test]
    fn sizes_read_in_binary_units() {
        let check = |bytes, expect: &str| assert_eq!(size(bytes), expect, "{bytes}");
        check(0, "0 B");
        check(1023, "1023 B");
        check(1024, "1.0 KiB");
        check(1536, "1.5 KiB");
        check(12 * 1024 * 1024, "12.0 MiB");
        check(5 * 1024 * 1024 * 1024, "5.0 GiB");
        check(u64::MAX, "16777215.9 TiB");
    }

    #[test]
    fn short_sha_keeps_eight_characters() {
        assert_eq!(short_sha("0123456789abcdef"), "01234567");
        assert_eq!(short_sha("abc"), "abc");
    }
}
