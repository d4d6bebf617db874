//! [`Sink`]: where a live run's events go as they come.

use std::path::PathBuf;
use std::time::Duration;

use gantry_client::{Client, SpooledRun, Uploader};
use gantry_model::RunEvent;
use gantry_store::Store;
use tokio::sync::mpsc;

use crate::Error;

/// How long the end of a run waits for an away server before leaving events in the spool.
const FINAL_UPLOAD_DEADLINE: Duration = Duration::from_secs(10);

/// Where events go while the run is live.
pub(crate) enum Sink {
    Store(Store),
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

    pub(crate) async fn record(&self, batch: &[RunEvent]) -> Result<(), Error> {
        match self {
            Self::Store(store) => store.record(batch).await.map_err(Error::Record),
            Self::Uploader { batches, .. } => {
                // The uploader only stops early on a spool error, which `close` reports.
                let _ = batches.send(batch.to_vec());
                Ok(())
            }
            Self::Nowhere => Ok(()),
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
            Self::Store(_) | Self::Nowhere => Ok(None),
        }
    }
}
