//! The lease of runs reported over the API. Their client is another process, maybe on another
//! host, so the server cannot check whether it is alive; instead the client keeps in touch
//! (every batch of events, and a heartbeat when it has nothing to send), and [`sweep`] marks a
//! run not heard from for longer than the lease `interrupted`, with its `pipelinerun.finished`
//! CDEvent (outcome `error`).
//!
//! Every replica sweeps: the store finishes each silent run under its row lock, so of replicas
//! sweeping at once exactly one interrupts it, and a run heard from meanwhile is left alone.

use std::time::Duration;

use chrono::Utc;
use tokio::time::{Instant, MissedTickBehavior};

use crate::state::{AppState, remote_owner};

/// Sweeps every `every` until the server shuts down.
///
/// A replica starts sweeping only once it has been up for a whole lease: when every replica
/// was down, clients (which kept their events in their spool) get a lease's time to come back
/// before their runs count as abandoned.
pub async fn sweep(state: AppState, every: Duration) {
    let started = Instant::now();
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = state.shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        if started.elapsed() >= state.remote_lease {
            sweep_once(&state).await;
        }
    }
}

/// Marks `interrupted` the remote runs silent for longer than the lease; returns how many.
pub async fn sweep_once(state: &AppState) -> usize {
    let Ok(lease) = chrono::Duration::from_std(state.remote_lease) else {
        return 0;
    };
    let silent_since = Utc::now() - lease;
    let swept = state
        .metrics
        .time_store(
            "interrupt_silent_runs",
            state.store.interrupt_silent_runs(&remote_owner(), silent_since),
        )
        .await;
    match swept {
        Ok(runs) if runs.is_empty() => 0,
        Ok(runs) => {
            tracing::warn!(?runs, lease = ?state.remote_lease, "marked runs whose client went silent `interrupted`");
            state.metrics.runs_finished("interrupted", runs.len() as u64);
            // Followers of these runs' logs learn that they ended: the store tells them.
            runs.len()
        }
        Err(error) => {
            tracing::error!(error = %crate::error::chain(&error), "failed to sweep runs whose client went silent");
            0
        }
    }
}
