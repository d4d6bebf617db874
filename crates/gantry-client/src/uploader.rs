//! [`Uploader`]: spools every event first, then sends what the server has not acknowledged, in
//! order; when the server is away it backs off and tries again later, never losing an event.
//!
//! While the run is live ([`Uploader::run`]), the uploader also keeps the run's lease on the
//! server: when nothing was sent for [`HEARTBEAT_INTERVAL`] (a long, quiet task), it sends a
//! heartbeat, so that the server can tell a quiet run from one whose process died.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use gantry_model::{RunEvent, RunEventKind};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::client::{Client, ClientError};
use crate::spool::{SpoolError, SpooledRun};

/// Most events sent in one request.
const CHUNK: usize = 500;

/// About how many bytes of events one request carries at most (an event larger than this
/// goes alone), well within what the server takes in one body.
const CHUNK_BYTES: usize = 4 * 1024 * 1024;

/// How long a live run may send nothing before a heartbeat says it is still alive; well within
/// the server's lease (two minutes by default), so that a few lost heartbeats do not matter.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(15);

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
    /// How long to send nothing before a heartbeat.
    heartbeat: Duration,
    /// When the server last heard from this run.
    contact: LastContact,
}

/// When the server last heard from the run: written by the upload when a batch is taken, read
/// and written by the heartbeats, which go on beside the upload (a large artifact may take
/// longer to upload than the lease lasts). A mutex, as both only copy an instant in or out.
#[derive(Debug, Clone)]
struct LastContact(Arc<Mutex<Instant>>);

impl LastContact {
    fn new() -> Self {
        Self(Arc::new(Mutex::new(Instant::now())))
    }

    fn get(&self) -> Instant {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn now(&self) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Instant::now();
    }
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
            heartbeat: HEARTBEAT_INTERVAL,
            contact: LastContact::new(),
        }
    }

    /// Sends a heartbeat after `every` without sending anything ([`HEARTBEAT_INTERVAL`] unless
    /// told otherwise).
    #[must_use]
    pub fn heartbeat_every(mut self, every: Duration) -> Self {
        self.heartbeat = every;
        self
    }

    /// Uploads the run's events while it is live: each batch from `batches` as it comes, and a
    /// heartbeat whenever nothing was sent for a while. When `batches` closes (the run ended),
    /// sends what is left, trying until `deadline` while the server is away.
    pub async fn run(
        mut self,
        mut batches: mpsc::UnboundedReceiver<Vec<RunEvent>>,
        deadline: Duration,
    ) -> Result<UploadSummary, SpoolError> {
        let heartbeats = heartbeats(
            self.client.clone(),
            self.run.run_id().to_owned(),
            self.heartbeat,
            self.contact.clone(),
        );
        let upload = async move {
            while let Some(batch) = batches.recv().await {
                self.push(&batch).await?;
            }
            self.finish(deadline).await
        };
        tokio::select! {
            summary = upload => summary,
            never = heartbeats => match never {},
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
                self.contact.now();
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

/// `events` cut into requests of at most [`CHUNK`] events and about [`CHUNK_BYTES`], in order.
fn chunks(events: &[RunEvent]) -> impl Iterator<Item = &[RunEvent]> {
    let mut rest = events;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut bytes = 0;
        let mut take = 0;
        while take < rest.len().min(CHUNK) {
            bytes += weight(&rest[take]);
            if take > 0 && bytes > CHUNK_BYTES {
                break;
            }
            take += 1;
        }
        let (chunk, after) = rest.split_at(take);
        rest = after;
        Some(chunk)
    })
}

/// About how many bytes an event takes as JSON: its lines for output, a small constant else.
fn weight(event: &RunEvent) -> usize {
    const EVENT: usize = 256;
    match &event.kind {
        RunEventKind::TaskOutput { lines, .. } => {
            EVENT + lines.iter().map(|line| line.len() + 8).sum::<usize>()
        }
        RunEventKind::RunQueued(_) => 16 * EVENT,
        _ => EVENT,
    }
}

/// Sends a heartbeat for `run_id` whenever the server has not heard from the run for `every`;
/// never returns (the upload ends it by finishing first).
async fn heartbeats(
    client: Client,
    run_id: String,
    every: Duration,
    contact: LastContact,
) -> std::convert::Infallible {
    loop {
        tokio::time::sleep_until(contact.get() + every).await;
        if contact.get() + every > Instant::now() {
            continue; // a batch was taken meanwhile
        }
        // A heartbeat that fails (the server is away) is not retried at once: the lease allows
        // for several missed ones, and the spooled events renew it when the server is back.
        let _ = client.heartbeat(&run_id).await;
        contact.now();
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
    for chunk in chunks(&unsent) {
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
