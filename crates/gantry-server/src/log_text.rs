//! A task's log as text, the same wherever it is read (`GET /api/v1/runs/{id}/logs`, the web
//! UI's plain-text log, `gantry logs` on a local store): its lines, with their time when asked,
//! and, for a task that was tried more than once, a header line before each attempt's lines
//! saying how that attempt ended, as the terminal shows a run.

use std::fmt::Write as _;

use gantry_model::TaskOutcome;
use gantry_store::{AttemptEnd, LogLine, RunDetail, Store, StoreError};

/// What a log's reader needs to know of a task's attempts.
#[derive(Debug, Clone, Default)]
pub struct Attempts {
    /// How each finished attempt ended.
    pub ends: Vec<AttemptEnd>,
    /// How many attempts started (the task record's count; 0 for a task not started).
    pub started: u32,
}

impl Attempts {
    /// The attempts of the task `path` of `run`.
    pub async fn of(store: &Store, run: &RunDetail, path: &str) -> Result<Self, StoreError> {
        let started = run
            .tasks
            .iter()
            .find(|task| task.path == path)
            .map_or(0, |task| task.attempts);
        Self::read(store, &run.summary.id, path, started).await
    }

    /// The attempts of the task `path` of the run `run_id`, `started` of them: how each ended
    /// is read only for a task tried more than once.
    pub async fn read(store: &Store, run_id: &str, path: &str, started: u32) -> Result<Self, StoreError> {
        let ends = if started > 1 {
            store.task_attempts(run_id, path).await?
        } else {
            Vec::new()
        };
        Ok(Self { ends, started })
    }

    /// Whether the log shows attempt headers: only for a task tried more than once.
    pub fn several(&self) -> bool {
        self.started > 1 || self.ends.iter().any(|end| end.attempt > 1)
    }

    /// The header of attempt `attempt`: `attempt 1 · failed (exit 1)`, `attempt 2 · running`.
    pub fn header(&self, attempt: u32) -> String {
        let mut text = format!("attempt {attempt}");
        match self.ends.iter().find(|end| end.attempt == attempt) {
            Some(end) => {
                text.push_str(" · ");
                text.push_str(match end.outcome {
                    TaskOutcome::Success => "succeeded",
                    TaskOutcome::Failure => "failed",
                    TaskOutcome::TimedOut => "timed out",
                    TaskOutcome::Cancelled => "cancelled",
                    TaskOutcome::Skipped => "skipped",
                });
                if let Some(code) = end.exit_code {
                    let _ = write!(text, " (exit {code})");
                }
            }
            None => text.push_str(" · running"),
        }
        text
    }

    /// The attempts whose headers go before a line of attempt `attempt`, when the line before
    /// it was of attempt `previous` (0 before the first line): every attempt after `previous` up
    /// to `attempt`, so that an attempt without output still has its header.
    pub fn starting(&self, previous: u32, attempt: u32) -> std::ops::Range<u32> {
        if attempt > previous && (self.several() || attempt > 1) {
            previous + 1..attempt + 1
        } else {
            0..0
        }
    }

    /// The headers of attempts after `previous` that wrote no line, for the end of a log.
    pub fn remaining(&self, previous: u32) -> std::ops::Range<u32> {
        let last = self
            .ends
            .iter()
            .map(|end| end.attempt)
            .max()
            .unwrap_or(0)
            .max(self.started);
        if self.several() {
            previous + 1..last + 1
        } else {
            0..0
        }
    }
}

/// How each line is written.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextOptions {
    /// Each line starts with its time (RFC 3339, UTC, milliseconds).
    pub timestamps: bool,
}

/// Writes a task's log as text, page by page: each [`TextLog::lines`] call appends the lines
/// of one page after a header for each attempt that starts in it, [`TextLog::end`] the
/// headers of attempts that wrote nothing after the last line.
#[derive(Debug)]
pub struct TextLog {
    attempts: Attempts,
    options: TextOptions,
    /// Written before every line (a whole run's log prefixes the task's path).
    prefix: String,
    /// The attempt of the last line written; 0 before the first.
    previous: u32,
}

impl TextLog {
    pub fn new(attempts: Attempts, options: TextOptions, prefix: String) -> Self {
        Self {
            attempts,
            options,
            prefix,
            previous: 0,
        }
    }

    pub fn lines(&mut self, lines: &[LogLine], out: &mut String) {
        for line in lines {
            for attempt in self.attempts.starting(self.previous, line.attempt) {
                let _ = writeln!(out, "{}── {} ──", self.prefix, self.attempts.header(attempt));
            }
            self.previous = self.previous.max(line.attempt);
            out.push_str(&self.prefix);
            if self.options.timestamps {
                let _ = write!(out, "{} ", line.at.format("%Y-%m-%dT%H:%M:%S%.3fZ"));
            }
            out.push_str(&line.line);
            out.push('\n');
        }
    }

    pub fn end(&mut self, out: &mut String) {
        for attempt in self.attempts.remaining(self.previous) {
            let _ = writeln!(out, "{}── {} ──", self.prefix, self.attempts.header(attempt));
        }
        self.previous = self.previous.max(self.attempts.started);
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use gantry_model::LogStream;

    use super::*;

    fn line(seq: u64, attempt: u32, text: &str) -> LogLine {
        LogLine {
            seq,
            stream: LogStream::Stdout,
            line: text.into(),
            at: Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 3).unwrap() + chrono::Duration::milliseconds(120),
            attempt,
        }
    }

    fn end(attempt: u32, outcome: TaskOutcome, exit_code: Option<i32>) -> AttemptEnd {
        AttemptEnd {
            attempt,
            outcome,
            exit_code,
        }
    }

    #[test]
    fn a_task_run_once_has_no_headers() {
        let attempts = Attempts {
            ends: vec![end(1, TaskOutcome::Success, Some(0))],
            started: 1,
        };
        let mut log = TextLog::new(attempts, TextOptions::default(), String::new());
        let mut out = String::new();
        log.lines(&[line(1, 1, "one"), line(2, 1, "two")], &mut out);
        log.end(&mut out);
        assert_eq!(out, "one\ntwo\n");
    }

    #[test]
    fn each_attempt_has_a_header_with_its_exit_code_even_without_output() {
        let attempts = Attempts {
            ends: vec![
                end(1, TaskOutcome::Failure, Some(1)),
                end(2, TaskOutcome::TimedOut, None),
                end(3, TaskOutcome::Failure, Some(2)),
            ],
            started: 4,
        };
        let mut log = TextLog::new(attempts, TextOptions { timestamps: true }, "t │ ".into());
        let mut out = String::new();
        log.lines(&[line(1, 1, "first")], &mut out);
        log.lines(&[line(2, 3, "third")], &mut out);
        log.end(&mut out);
        assert_eq!(
            out,
            "t │ ── attempt 1 · failed (exit 1) ──\n\
             t │ 2025-06-01T12:00:03.120Z first\n\
             t │ ── attempt 2 · timed out ──\n\
             t │ ── attempt 3 · failed (exit 2) ──\n\
             t │ 2025-06-01T12:00:03.120Z third\n\
             t │ ── attempt 4 · running ──\n"
        );
    }
}
