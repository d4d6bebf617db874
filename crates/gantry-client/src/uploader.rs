//! [`Uploader`]: spools every event first, then sends what the server has not acknowledged, in
//! order; when the server is away it backs off and tries again later, never losing an event.

use std::time::{Duration, Instant};

use gantry_model::{RunEvent, RunEventKind};

use crate::client::{Client, ClientError};
use crate::spool::{SpoolError, SpooledRun};

/// Most events sent in one request.
const CHUNK: usize = 500;

/// The first wait after the server was found away; doubled each time, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(15);

/// How a run's upload ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadSummary {
    /// Events still only in the spool (0: the server has everything).
    pub pending: usize,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
}

/// Sends one run's events to the server through its spool.
#[derive(Debug)]
pub struct Uploader {
    client: Client,
    run: SpooledRun,
    backoff: Duration,
    /// When the next attempt may be made, after a failure.
    retry_at: Option<Instant>,
    last_error: Option<String>,
    /// The server refused an event: retrying cannot help, so stop and leave it to `gantry sync`.
    refused: bool,
}

impl Uploader {
    pub fn new(client: Client, run: SpooledRun) -> Self {
        Self {
            client,
            run,
            backoff: FIRST_BACKOFF,
            retry_at: None,
            last_error: None,
            refused: false,
        }
    }

    /// Spools `events`, then sends what is unsent unless the server is known to be away.
    pub async fn push(&mut self, events: &[RunEvent]) -> Result<(), SpoolError> {
        self.run.append(events)?;
        let due = self.retry_at.is_none_or(|at| Instant::now() >= at);
        if due && !self.refused {
            self.attempt(false).await?;
        }
        Ok(())
    }

    /// Sends everything unsent, trying until `deadline` while the server is away.
    pub async fn finish(&mut self, deadline: Duration) -> Result<UploadSummary, SpoolError> {
        let give_up = Instant::now() + deadline;
        loop {
            if self.refused || self.attempt(true).await? {
                break;
            }
            let wait = self
                .retry_at
                .map_or(Duration::ZERO, |at| at.saturating_duration_since(Instant::now()));
            if Instant::now() + wait >= give_up {
                break;
            }
            tokio::time::sleep(wait).await;
        }
        let pending = if self.refused || self.last_error.is_some() {
            self.run.unsent()?.len()
        } else {
            0
        };
        Ok(UploadSummary {
            pending,
            last_error: self.last_error.clone(),
        })
    }

    /// One attempt at sending all unsent events; `true` when the server has them all.
    async fn attempt(&mut self, finished: bool) -> Result<bool, SpoolError> {
        match send(&self.client, &mut self.run, finished).await {
            Ok(()) => {
                self.backoff = FIRST_BACKOFF;
                self.retry_at = None;
                self.last_error = None;
                Ok(true)
            }
            Err(SendError::Spool(err)) => Err(err),
            Err(SendError::Client(err)) => {
                self.refused = !err.is_unreachable();
                self.last_error = Some(err.to_string());
                self.retry_at = Some(Instant::now() + self.backoff);
                self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                Ok(false)
            }
        }
    }
}

/// Why sending stopped.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error(transparent)]
    Client(ClientError),
    #[error(transparent)]
    Spool(SpoolError),
}

/// Sends a spooled run's unsent events in order, each artifact before the event naming it;
/// acknowledges in the spool as the server confirms. Used by `gantry sync` as well.
pub async fn send(client: &Client, run: &mut SpooledRun, finished: bool) -> Result<(), SendError> {
    let unsent = run.unsent().map_err(SendError::Spool)?;
    if unsent.is_empty() {
        run.acknowledge(0, finished).map_err(SendError::Spool)?;
        return Ok(());
    }
    let total = unsent.len();
    let mut sent = 0;
    for chunk in unsent.chunks(CHUNK) {
        for event in chunk {
            if let RunEventKind::ArtifactPackaged { sha256, .. } = &event.kind {
                let stash = run.artifact(sha256);
                if stash.exists() {
                    client
                        .upload_artifact(sha256, &stash)
                        .await
                        .map_err(SendError::Client)?;
                }
            }
        }
        client
            .post_run_events(run.run_id(), chunk)
            .await
            .map_err(SendError::Client)?;
        sent += chunk.len();
        let last = sent == total;
        run.acknowledge(chunk.len(), finished && last)
            .map_err(SendError::Spool)?;
    }
    Ok(())
}
