//! [`Sink`]: where a live run's events go as they come.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use gantry_client::{Client, SpooledRun, Uploader};
use gantry_model::RunEvent;
use gantry_store::Store;
use tokio::sync::mpsc;

use crate::Error;
use crate::backlog::Backlog;

/// How long the end of a run waits for an away server before leaving events in the spool.
const FINAL_UPLOAD_DEADLINE: Duration = Duration::from_secs(10);

/// How many events, and about how many bytes of them, go into one store transaction at most.
const STORE_BATCH_EVENTS: usize = 512;
const STORE_BATCH_BYTES: usize = 8 * 1024 * 1024;

/// Where events go while the run is live.
pub(crate) enum Sink {
    /// The local store, written by a task of its own from a backlog, so that the run never
    /// waits for the store: what the store has not taken yet waits in memory, and past a
    /// bound in a file.
    Store {
        backlog: Arc<Backlog>,
        /// Where the backlog's file goes (the project's `.gantry/`, when there is one).
        dir: Option<PathBuf>,
        writer: tokio::task::JoinHandle<Result<(), Error>>,
    },
    /// Batches for the uploader task, which spools them and sends them on its own time, so a
    /// slow or away server never holds up the run.
    Uploader {
        batches: mpsc::UnboundedSender<Vec<RunEvent>>,
        task: tokio::task::JoinHandle<Result<Option<Unsent>, Error>>,
    },
    Nowhere,
}

/// Events a server did not take before the run ended; they stay in the spool for
/// `gantry sync`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsent {
    pub events: usize,
    /// The spool directory that keeps them.
    pub spool: PathBuf,
    /// Why the last attempt to send them failed.
    pub reason: String,
}

impl Sink {
    pub(crate) fn store(store: Store, dir: Option<PathBuf>) -> Self {
        let backlog = Arc::new(Backlog::default());
        let writer = tokio::spawn(write(store, Arc::clone(&backlog)));
        Self::Store { backlog, dir, writer }
    }

    pub(crate) fn upload(client: Client, run: SpooledRun, spool: PathBuf) -> Self {
        // Unbounded: the uploader spools each batch to disk at once, so what waits here is
        // only what the disk has not taken yet, and the run must never wait for a server.
        let (batches, receiver) = mpsc::unbounded_channel::<Vec<RunEvent>>();
        let uploader = Uploader::new(client, run);
        let task = tokio::spawn(async move {
            let summary = uploader.run(receiver, FINAL_UPLOAD_DEADLINE).await?;
            Ok((summary.pending > 0).then(|| Unsent {
                events: summary.pending,
                spool,
                reason: summary.last_error.unwrap_or_else(|| "unknown error".to_owned()),
            }))
        });
        Self::Uploader { batches, task }
    }

    /// Hands a batch over, without waiting for it to be recorded: failures are returned by
    /// [`Sink::close`].
    pub(crate) fn record(&self, batch: Vec<RunEvent>) {
        match self {
            Self::Store { backlog, dir, .. } => backlog.push(batch, dir.as_deref()),
            Self::Uploader { batches, .. } => {
                // The uploader only stops early on a spool error, which `close` reports.
                let _ = batches.send(batch);
            }
            Self::Nowhere => {}
        }
    }

    /// Waits until everything is recorded, or spooled for later.
    pub(crate) async fn close(self) -> Result<Option<Unsent>, Error> {
        match self {
            Self::Uploader { batches, task } => {
                drop(batches);
                task.await.map_err(|source| Error::Crashed {
                    task: "uploader",
                    source,
                })?
            }
            Self::Store { backlog, writer, .. } => {
                backlog.close();
                writer.await.map_err(|source| Error::Crashed {
                    task: "store writer",
                    source,
                })??;
                Ok(None)
            }
            Self::Nowhere => Ok(None),
        }
    }
}

/// Records what the backlog holds, oldest first, until it closes; the first failure is
/// returned at the end (the rest is still taken, so that the backlog's file goes).
async fn write(store: Store, backlog: Arc<Backlog>) -> Result<(), Error> {
    let mut failure = None;
    while let Some(batch) = backlog.take(STORE_BATCH_EVENTS, STORE_BATCH_BYTES).await {
        if failure.is_some() {
            continue;
        }
        failure = match batch {
            Ok(batch) => store.record(&batch).await.err().map(Error::Record),
            Err(err) => Some(Error::Backlog(err)),
        };
    }
    failure.map_or(Ok(()), Err)
}
