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

/// A command's error with the exit status it means and, when there is an obvious next step, a
/// hint: the input was wrong ([`CommandError::usage`], exit 2), or the command failed at its job
/// ([`CommandError::failed`], exit 1: `gantry sync` with runs still in the spool, say).
#[derive(Debug)]
pub struct CommandError {
    pub message: String,
    pub hint: Option<String>,
    /// [`ExitStatus::Usage`] or [`ExitStatus::Failure`].
    status: ExitStatus,
}

impl CommandError {
    /// The input was wrong: exit 2.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::with_status(ExitStatus::Usage, message)
    }

    /// The command failed at its job: exit 1.
    pub fn failed(message: impl Into<String>) -> Self {
        Self::with_status(ExitStatus::Failure, message)
    }

    fn with_status(status: ExitStatus, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
            status,
        }
    }

    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The exit status the error means.
    pub fn status(&self) -> ExitStatus {
        self.status
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CommandError {}
