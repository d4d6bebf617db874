//! [`Error`]: why a run could not start, or could not be recorded to the end.

use gantry_client::{ClientError, SpoolError};
use gantry_store::StoreError;

/// A run that could not start, or whose recording failed.
///
/// [`Error::InvalidPipeline`] and [`Error::Refused`] mean the input must change and nothing ran;
/// the others are failures of the machinery around the run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The pipeline file or its library is invalid: every diagnostic, with its span and the
    /// line it points into, for the caller to render. Nothing ran.
    #[error("{diagnostics}")]
    InvalidPipeline { diagnostics: gantry_model::Diagnostics },

    /// The run cannot start as asked (no pipeline file, an unknown stage, a missing secret, an
    /// untraceable tree, a malformed server URL); nothing ran.
    #[error("{message}")]
    Refused { message: String, hint: Option<String> },

    /// Stopped from outside before the first task started; nothing ran.
    #[error("cancelled before the run started; nothing ran")]
    Cancelled,

    /// A file could not be read or written (the message names it).
    #[error(transparent)]
    Io(#[from] std::io::Error),

    #[error("failed to open the store `{url}`")]
    OpenStore {
        url: String,
        #[source]
        source: StoreError,
    },

    #[error("failed to check for interrupted runs")]
    Recover(#[source] StoreError),

    #[error("failed to allocate a build number")]
    AllocateBuild(#[source] StoreError),

    #[error("cannot get a build number from `{url}`; nothing ran")]
    ServerBuild {
        url: String,
        #[source]
        source: ClientError,
    },

    #[error("failed to record the run in the store")]
    Record(#[source] StoreError),

    #[error("failed to read back the run's events waiting for the store")]
    Backlog(#[source] std::io::Error),

    #[error("failed to keep the run's events in the spool")]
    Spool(#[from] SpoolError),

    /// The reporter could not show an event (its reader went away, say); the run was cancelled
    /// and recorded to its end.
    #[error("failed to report the run")]
    Report(#[source] std::io::Error),

    #[error("the {task} stopped unexpectedly")]
    Crashed {
        /// `engine` or `uploader`.
        task: &'static str,
        #[source]
        source: tokio::task::JoinError,
    },
}

impl Error {
    /// An error the caller's input must fix.
    pub fn refused(message: impl Into<String>) -> Self {
        Self::Refused {
            message: message.into(),
            hint: None,
        }
    }

    /// An error the caller's input must fix, with the obvious next step.
    pub fn refused_with_hint(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::Refused {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }
}
