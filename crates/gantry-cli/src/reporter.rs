//! The terminal view of a run: each output line prefixed with its task's name, a live progress
//! line on a terminal, and a summary table at the end.
//!
//! Output is buffered and written a batch of events at a time, whole lines only; on a terminal
//! it is drawn at most [`FRAMES_PER_SECOND`] times a second, so a task that prints fast costs
//! a few writes a second rather than one a line.
//!
//! It sees nothing but [`RunEvent`]s, the same stream the store records, so what a person reads
//! is what was recorded.

use std::collections::HashMap;
use std::io::{self, IsTerminal, Write};
use std::time::Instant;

use chrono::{DateTime, Utc};
use gantry_model::{Plan, RunEvent, RunEventKind, RunResult, TaskOutcome, TaskPath};
use owo_colors::{AnsiColors, OwoColorize};

/// Colours that read well on dark and light terminals, handed out to tasks in turn.
const PALETTE: [AnsiColors; 6] = [
    AnsiColors::Cyan,
    AnsiColors::Magenta,
    AnsiColors::Blue,
    AnsiColors::Yellow,
    AnsiColors::Green,
    AnsiColors::BrightCyan,
];

/// Longest task label before it is cut, so that output keeps most of the line.
const MAX_LABEL: usize = 28;

/// How often a live terminal is drawn at most.
const FRAMES_PER_SECOND: u32 = 20;

/// What the reporter keeps before writing to a pipe or a file; on a terminal, what it keeps
/// between frames (a fuller buffer is written at once, whole lines only).
const BUFFER: usize = 256 * 1024;

/// How the terminal can be used.
#[derive(Debug, Clone, Copy)]
pub struct Terminal {
    pub color: bool,
    /// A progress line redrawn in place (a terminal, and not under `CI`).
    pub live: bool,
}

impl Terminal {
    /// Detects colour and liveness for stdout, honouring `NO_COLOR`, `TERM=dumb` and `CI`.
    pub fn detect() -> Self {
        let tty = io::stdout().is_terminal();
        let dumb = std::env::var_os("TERM").is_some_and(|term| term == "dumb");
        let color = tty && !dumb && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0");
        Self {
            color,
            live: tty && !dumb && !ci,
        }
    }
}

/// One row of the summary table.
#[derive(Debug)]
struct Row {
    path: TaskPath,
    outcome: TaskOutcome,
    allowed_failure: bool,
    attempts: u32,
    started: Option<DateTime<Utc>>,
    finished: Option<DateTime<Utc>>,
}

/// Renders a run for a person.
pub struct TerminalReporter {
    terminal: Terminal,
    /// Whole lines wait here until the end of a batch of events, or the next frame.
    out: io::BufWriter<io::Stdout>,
    /// When the terminal was last drawn (live only).
    drawn: Instant,
    /// Label and colour of each task, decided from the plan up front.
    labels: HashMap<TaskPath, (String, AnsiColors)>,
    width: usize,
    rows: Vec<Row>,
    running: Vec<TaskPath>,
    total: usize,
    done: usize,
    started: Instant,
    /// Whether a progress line is on screen now (and must be cleared before printing).
    progress_shown: bool,
    title: String,
    /// `, partial: --to build` for a run of part of the pipeline, for the closing line.
    partial: String,
}

impl TerminalReporter {
    pub fn new(terminal: Terminal, plan: &Plan) -> Self {
        let paths: Vec<&TaskPath> = plan.tasks().into_iter().map(|(path, _)| path).collect();
        let mut labels = HashMap::new();
        for (index, path) in paths.iter().enumerate() {
            let name = path.name();
            let unique = paths.iter().filter(|other| other.name() == name).count() == 1;
            let label = if unique { name.to_owned() } else { path.to_string() };
            let label = truncate(&label, MAX_LABEL);
            labels.insert((*path).clone(), (label, PALETTE[index % PALETTE.len()]));
        }
        let width = labels
            .values()
            .map(|(label, _)| label.chars().count())
            .max()
            .unwrap_or(0);
        // The summary lists tasks in plan order, whatever order they finished in.
        let rows = paths
            .iter()
            .map(|path| Row {
                path: (*path).clone(),
                outcome: TaskOutcome::Skipped,
                allowed_failure: false,
                attempts: 0,
                started: None,
                finished: None,
            })
            .collect();
        Self {
            terminal,
            out: io::BufWriter::with_capacity(BUFFER, io::stdout()),
            drawn: Instant::now(),
            labels,
            width,
            rows,
            running: Vec::new(),
            total: paths.len(),
            done: 0,
            started: Instant::now(),
            progress_shown: false,
            title: String::new(),
            partial: String::new(),
        }
    }

    /// Shows one event.
    pub fn event(&mut self, event: &RunEvent) {
        match &event.kind {
            RunEventKind::RunQueued(info) => {
                self.title = format!("{}#{}", info.app, info.build);
                let title = if self.terminal.color {
                    self.title.bold().to_string()
                } else {
                    self.title.clone()
                };
                let mut line = format!("▶ {title} version {}", info.version);
                if let Some(branch) = &info.branch {
                    line.push_str(&format!(" on {branch}"));
                }
                if let Some(revision) = &info.revision {
                    line.push_str(&format!(" at {}", &revision[..revision.len().min(7)]));
                }
                if info.mock {
                    line.push_str(" (mock)");
                }
                if !info.selection.is_all() {
                    line.push_str(&format!(" (partial: {})", info.selection));
                    self.partial = format!(", partial: {}", info.selection);
                }
                self.println(&line);
                if let Some(reason) = &info.untraceable_reason {
                    let warning = format!("warning: this run is untraceable: {reason}");
                    self.println(&self.paint(&warning, AnsiColors::Yellow));
                }
            }
            RunEventKind::TaskStarted { path, attempt } => {
                if !self.running.contains(path) {
                    self.running.push(path.clone());
                }
                if *attempt > 1 {
                    let text = format!("attempt {attempt}");
                    self.task_line(path, &self.paint(&text, AnsiColors::Yellow));
                }
                self.row(path).attempts = *attempt;
                self.row(path).started.get_or_insert(event.at);
            }
            RunEventKind::TaskOutput { path, lines, .. } => {
                for line in lines {
                    self.task_line(path, line);
                }
            }
            RunEventKind::TaskFinished {
                path,
                outcome,
                exit_code,
                will_retry,
                allowed_failure,
                ..
            } => {
                if *will_retry {
                    let text = format!("failed (exit {}), retrying", exit_code.unwrap_or(-1));
                    self.task_line(path, &self.paint(&text, AnsiColors::Yellow));
                    return;
                }
                self.running.retain(|running| running != path);
                self.done += 1;
                let row = self.row(path);
                row.outcome = *outcome;
                row.allowed_failure = *allowed_failure;
                row.finished = Some(event.at);
                if *outcome != TaskOutcome::Success {
                    let mut text = outcome_text(*outcome, *allowed_failure);
                    if let Some(code) = exit_code {
                        text.push_str(&format!(" (exit {code})"));
                    }
                    let color = if *allowed_failure {
                        AnsiColors::Yellow
                    } else {
                        AnsiColors::Red
                    };
                    self.task_line(path, &self.paint(&text, color));
                }
            }
            RunEventKind::TaskSkipped { path, .. } => {
                self.done += 1;
                self.row(path).outcome = TaskOutcome::Skipped;
            }
            RunEventKind::ArtifactPackaged {
                path,
                name,
                size,
                sha256,
                ..
            } => {
                let text = format!(
                    "artifact {name} ({size} bytes, sha256:{})",
                    &sha256[..sha256.len().min(12)]
                );
                self.task_line(path, &self.paint_dim(&text));
            }
            RunEventKind::RunStarted
            | RunEventKind::StageStarted { .. }
            | RunEventKind::StageFinished { .. }
            | RunEventKind::RunFinished { .. } => {}
        }
    }

    /// Shows what the events so far printed: at once on a pipe or a file, and on a live
    /// terminal with the progress line, when a frame is due.
    pub fn flush(&mut self) {
        if self.terminal.live {
            if self.drawn.elapsed() < std::time::Duration::from_secs(1) / FRAMES_PER_SECOND {
                return;
            }
            self.draw_progress();
        }
        let _ = self.out.flush();
    }

    /// Redraws the progress line and shows what is held back (called on a timer, so the clock
    /// moves).
    pub fn tick(&mut self) {
        self.draw_progress();
        let _ = self.out.flush();
    }

    /// Prints the summary table and the final line.
    pub fn finish(&mut self, result: RunResult, version: &str) {
        self.clear_progress();
        if self.rows.is_empty() {
            return;
        }
        let path_width = self
            .rows
            .iter()
            .map(|row| row.path.as_str().chars().count())
            .max()
            .unwrap_or(4)
            .max(4);
        let mut table = String::new();
        table.push_str(&format!(
            "\n{:<path_width$}  {:<18}  {:>9}\n",
            "TASK", "RESULT", "DURATION"
        ));
        for row in &self.rows {
            let mut result = outcome_text(row.outcome, row.allowed_failure);
            if row.attempts > 1 {
                result.push_str(&format!(" ({} attempts)", row.attempts));
            }
            let duration = match (row.started, row.finished) {
                (Some(start), Some(end)) => format_seconds((end - start).num_milliseconds()),
                _ => "-".to_owned(),
            };
            let color = outcome_color(row.outcome, row.allowed_failure);
            let result = format!("{result:<18}");
            table.push_str(&format!(
                "{:<path_width$}  {}  {duration:>9}\n",
                row.path.as_str(),
                self.paint(&result, color)
            ));
        }
        let elapsed = format_seconds(i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX));
        let (word, color) = match result {
            RunResult::Success => ("succeeded", AnsiColors::Green),
            RunResult::Failure => ("failed", AnsiColors::Red),
            RunResult::Cancelled => ("was cancelled", AnsiColors::Yellow),
            RunResult::Interrupted => ("was interrupted", AnsiColors::Red),
            RunResult::AgentLost => ("lost its agent", AnsiColors::Red),
        };
        let last = format!(
            "{} (version {version}{}) {word} in {elapsed}",
            self.title, self.partial
        );
        table.push_str(&format!("{}\n", self.paint(&last, color)));
        let _ = self.out.write_all(table.as_bytes());
        let _ = self.out.flush();
    }

    fn row(&mut self, path: &TaskPath) -> &mut Row {
        if let Some(index) = self.rows.iter().position(|row| &row.path == path) {
            return &mut self.rows[index];
        }
        self.rows.push(Row {
            path: path.clone(),
            outcome: TaskOutcome::Skipped,
            allowed_failure: false,
            attempts: 0,
            started: None,
            finished: None,
        });
        self.rows.last_mut().expect("just pushed")
    }

    fn task_line(&mut self, path: &TaskPath, text: &str) {
        let (label, color) = self
            .labels
            .get(path)
            .cloned()
            .unwrap_or_else(|| (path.name().to_owned(), AnsiColors::White));
        let padded = format!("{label:<width$}", width = self.width);
        let line = format!("{} {} {text}", self.paint(&padded, color), self.paint_dim("│"));
        self.println(&line);
    }

    /// Writes one whole line (one write into the buffer, so a full buffer never cuts it).
    fn println(&mut self, line: &str) {
        self.clear_progress();
        let mut text = String::with_capacity(line.len() + 1);
        text.push_str(line);
        text.push('\n');
        let _ = self.out.write_all(text.as_bytes());
    }

    fn draw_progress(&mut self) {
        if !self.terminal.live || self.total == 0 {
            return;
        }
        self.drawn = Instant::now();
        let elapsed = self.started.elapsed().as_secs_f64();
        let running: Vec<&str> = self.running.iter().map(TaskPath::name).collect();
        let mut line = format!("{}/{} done · {elapsed:.1}s", self.done, self.total);
        if !running.is_empty() {
            line.push_str(&format!(" · running {}", running.join(", ")));
        }
        let line = truncate(&line, 100);
        let _ = write!(
            self.out,
            "\r\x1b[2K{}",
            if self.terminal.color {
                line.dimmed().to_string()
            } else {
                line
            }
        );
        self.progress_shown = true;
    }

    fn clear_progress(&mut self) {
        if self.progress_shown {
            let _ = write!(self.out, "\r\x1b[2K");
            self.progress_shown = false;
        }
    }

    fn paint(&self, text: &str, color: AnsiColors) -> String {
        if self.terminal.color {
            text.color(color).to_string()
        } else {
            text.to_owned()
        }
    }

    fn paint_dim(&self, text: &str) -> String {
        if self.terminal.color {
            text.dimmed().to_string()
        } else {
            text.to_owned()
        }
    }
}

fn outcome_text(outcome: TaskOutcome, allowed_failure: bool) -> String {
    match outcome {
        TaskOutcome::Failure if allowed_failure => "failed (allowed)".to_owned(),
        TaskOutcome::TimedOut => "timed out".to_owned(),
        other => other.as_str().to_owned(),
    }
}

fn outcome_color(outcome: TaskOutcome, allowed_failure: bool) -> AnsiColors {
    match outcome {
        TaskOutcome::Success => AnsiColors::Green,
        TaskOutcome::Failure if allowed_failure => AnsiColors::Yellow,
        TaskOutcome::Failure | TaskOutcome::TimedOut => AnsiColors::Red,
        TaskOutcome::Cancelled => AnsiColors::Yellow,
        TaskOutcome::Skipped => AnsiColors::BrightBlack,
    }
}

/// `1.23s`, or `2m03s` past a minute.
pub fn format_seconds(millis: i64) -> String {
    let millis = millis.max(0);
    if millis < 60_000 {
        #[allow(clippy::cast_precision_loss)] // under a minute: exact in an f64
        let seconds = millis as f64 / 1000.0;
        format!("{seconds:.2}s")
    } else {
        let seconds = millis / 1000;
        format!("{}m{:02}s", seconds / 60, seconds % 60)
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

impl gantry_runner::Reporter for TerminalReporter {
    fn event(&mut self, event: &RunEvent) -> io::Result<()> {
        TerminalReporter::event(self, event);
        Ok(())
    }

    fn tick(&mut self) {
        TerminalReporter::tick(self);
    }

    fn flush(&mut self) -> io::Result<()> {
        TerminalReporter::flush(self);
        Ok(())
    }

    fn finish(&mut self, result: RunResult, version: &str) -> io::Result<()> {
        TerminalReporter::finish(self, result, version);
        Ok(())
    }
}
