//! Statuses as a person sees them: one CSS class per colour (success green, failure red, running
//! blue, skipped grey, cancelled, interrupted and allowed failures amber) and one word, so that
//! colour is never the only signal.

use gantry_store::{RunStatus, TaskRecord, TaskStatus};
use maud::{Markup, html};

/// The CSS class that colours a run status.
pub fn run_class(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Running => "s-running",
        RunStatus::Success => "s-success",
        RunStatus::Failure => "s-failure",
        RunStatus::Cancelled | RunStatus::Interrupted | RunStatus::AgentLost => "s-warning",
    }
}

/// The CSS class that colours a task or stage status.
pub fn task_class(status: TaskStatus) -> &'static str {
    match status {
        TaskStatus::Pending => "s-pending",
        TaskStatus::Running => "s-running",
        TaskStatus::Success => "s-success",
        TaskStatus::Failure | TaskStatus::TimedOut => "s-failure",
        TaskStatus::Skipped => "s-skipped",
        TaskStatus::Cancelled | TaskStatus::Interrupted => "s-warning",
    }
}

/// A task status as a word.
pub fn task_word(status: TaskStatus) -> &'static str {
    match status {
        TaskStatus::TimedOut => "timed out",
        other => other.as_str(),
    }
}

/// Whether a recorded task failed but was allowed to (`allow_failure`): the pipeline went on.
pub fn is_allowed_failure(record: &TaskRecord) -> bool {
    record.allowed_failure && matches!(record.status, TaskStatus::Failure | TaskStatus::TimedOut)
}

/// The CSS class of a recorded task: an allowed failure is a warning, not a failure.
pub fn record_class(record: &TaskRecord) -> &'static str {
    if is_allowed_failure(record) {
        "s-warning"
    } else {
        task_class(record.status)
    }
}

/// A recorded task's status as words: an allowed failure says so.
pub fn record_word(record: &TaskRecord) -> &'static str {
    match (is_allowed_failure(record), record.status) {
        (true, TaskStatus::TimedOut) => "timed out (allowed)",
        (true, _) => "failed (allowed)",
        (false, status) => task_word(status),
    }
}

/// A recorded task's status as a coloured pill.
pub fn record(record: &TaskRecord) -> Markup {
    html! { span class={ "badge " (record_class(record)) } { (record_word(record)) } }
}

/// A run's status as a coloured pill.
pub fn run(status: RunStatus) -> Markup {
    html! { span class={ "badge " (run_class(status)) } { (status.as_str()) } }
}

/// A task's or stage's status as a coloured pill.
pub fn task(status: TaskStatus) -> Markup {
    html! { span class={ "badge " (task_class(status)) } { (task_word(status)) } }
}

/// Whether a task status is final.
pub fn is_finished(status: TaskStatus) -> bool {
    !matches!(status, TaskStatus::Pending | TaskStatus::Running)
}
