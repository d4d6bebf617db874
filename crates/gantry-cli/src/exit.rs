//! Exit codes, mapped in one place: 0 success, 1 the pipeline failed, 2 invalid file or usage,
//! 130 cancelled.

use std::fmt;
use std::process::ExitCode;

/// How a command ended, as the shell sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Everything asked for succeeded.
    Success,
    /// The pipeline ran and failed, or a command failed at its job.
    Failure,
    /// The pipeline file or the command line is invalid; nothing ran.
    Usage,
    /// Cancelled by Ctrl-C or SIGTERM.
    Cancelled,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        ExitCode::from(match status {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Usage => 2,
            ExitStatus::Cancelled => 130,
        })
    }
}

/// An error that means the input was wrong (exit 2), with an optional hint.
#[derive(Debug)]
pub struct UsageError {
    pub message: String,
    pub hint: Option<String>,
}

impl UsageError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
        }
    }

    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UsageError {}

/// A command that failed at its job (exit 1) with an obvious next step: `gantry sync` with runs
/// still in the spool, say.
#[derive(Debug)]
pub struct Failed {
    pub message: String,
    pub hint: Option<String>,
}

impl Failed {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
        }
    }

    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failed {}
