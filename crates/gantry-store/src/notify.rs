//! [`Recorded`]: tells whoever follows the store that run events were recorded, so that live
//! views (the API's log follow, the web UI's live pages) read again at once instead of polling;
//! and, on a channel of its own ([`JOBS_CHANNEL`]), that a job was queued, so that agents
//! waiting for work take it at once.
//!
//! Every clone of a [`crate::Store`] shares one watch channel, bumped after each batch it
//! records. On PostgreSQL each batch also sends a `NOTIFY` on [`CHANNEL`] as it commits, and a
//! store that listens ([`crate::Store::listen`]) relays every such notification, from any process
//! or replica on the database, into its channel: replicas hear each other's records.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::watch;

/// The PostgreSQL notification channel of recorded run events.
pub(crate) const CHANNEL: &str = "gantry_recorded";

/// The PostgreSQL notification channel of jobs queued (or queued again).
pub(crate) const JOBS_CHANNEL: &str = "gantry_jobs";

/// How long the relay waits before trying again when the database does not answer.
const RETRY: Duration = Duration::from_secs(1);

/// Shared by every clone of one store.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    /// The PostgreSQL channel this relays.
    channel: &'static str,
    /// A watch channel: a follower needs to know that something changed since it last looked,
    /// never each change, and a slow follower must hold nothing up.
    sender: Arc<watch::Sender<u64>>,
    /// A relay of PostgreSQL's notifications runs: records of other processes are heard too.
    listening: Arc<AtomicBool>,
}

impl Recorded {
    /// Tells of what is sent on `channel`.
    pub(crate) fn on(channel: &'static str) -> Self {
        Self {
            channel,
            sender: Arc::default(),
            listening: Arc::default(),
        }
    }

    /// The PostgreSQL channel this relays.
    pub(crate) fn channel(&self) -> &'static str {
        self.channel
    }

    /// Tells every follower that something was recorded.
    pub(crate) fn notify(&self) {
        bump(&self.sender);
    }

    /// A receiver marked changed at each record heard.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.sender.subscribe()
    }

    /// Whether the records of other processes are heard too.
    pub(crate) fn hears_everyone(&self) -> bool {
        self.listening.load(Ordering::SeqCst)
    }

    /// Starts relaying the notifications sent on the database of `pool` (once; later calls do
    /// nothing). The relay holds one of the pool's connections and ends when the pool closes.
    pub(crate) async fn listen(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        if self.listening.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let started = async {
            let mut listener = PgListener::connect_with(pool).await?;
            listener.listen(self.channel).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        let mut listener = match started.await {
            Ok(listener) => listener,
            Err(error) => {
                self.listening.store(false, Ordering::SeqCst);
                return Err(error);
            }
        };
        let sender = self.sender.clone();
        tokio::spawn(async move {
            loop {
                match listener.try_recv().await {
                    // A notification; or (`None`) the connection was lost and is being made
                    // again, and what was sent meanwhile is lost: every follower looks again.
                    Ok(Some(_) | None) => bump(&sender),
                    Err(sqlx::Error::PoolClosed) => return,
                    Err(_) => {
                        tokio::time::sleep(RETRY).await;
                        bump(&sender);
                    }
                }
            }
        });
        Ok(())
    }
}

fn bump(sender: &watch::Sender<u64>) {
    sender.send_modify(|count| *count = count.wrapping_add(1));
}
