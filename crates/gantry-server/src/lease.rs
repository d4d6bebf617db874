//! The lease of runs reported over the API. Their client is another process, maybe on another
//! host, so the server cannot check whether it is alive; instead the run holds a lease in the
//! store ([`gantry_store::lease`], resource `run:<id>`, held by the reporting token's name):
//! every batch of events renews it in the transaction that records them, and so does a
//! heartbeat when the client has nothing to send. [`sweep`] marks a run whose lease expired
//! `interrupted`, with its `pipelinerun.finished` CDEvent (outcome `error`).
//!
//! The client sends the fencing number the server gave it back with every later call
//! ([`gantry_api::FENCING_HEADER`]); a call under a number that is no longer the lease's is
//! refused with `409 lease_lost`, so a client that was swept or taken over cannot report again.
//!
//! Every replica sweeps: the store takes each expired lease by one conditional update in the
//! transaction that interrupts its run, so of replicas sweeping at once exactly one interrupts
//! it, and a run whose lease another replica renewed meanwhile is left alone.

use std::time::Duration;

use axum::http::HeaderMap;
use tokio::time::MissedTickBehavior;

use crate::auth::Principal;
use crate::error::AppError;
use crate::state::AppState;

/// Sweeps every `every` until the server shuts down.
///
/// A replica starts sweeping only once it has been up for a whole lease: when every replica
/// was down, clients (which kept their events in their spool) get a lease's time to come back
/// before their runs count as abandoned. Both are measured on the state's [`crate::Clock`].
pub async fn sweep(state: AppState, every: Duration) {
    tracing::info!(every = ?every, lease = ?state.remote_lease, "sweeping the leases of reported runs");
    let started = state.clock.now();
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = state.shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        if state.clock.now() - started >= ttl(&state) {
            sweep_once(&state).await;
        }
    }
}

/// Marks `interrupted` the reported runs whose lease expired; returns how many.
pub async fn sweep_once(state: &AppState) -> usize {
    let swept = state
        .metrics
        .time_store(
            "interrupt_expired_runs",
            state.store.interrupt_expired_runs(state.clock.now()),
        )
        .await;
    match swept {
        Ok(runs) if runs.is_empty() => {
            tracing::debug!("swept the leases of reported runs: none expired");
            0
        }
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

/// The length of a run's lease, as the store counts it (a lease too long to count is a
/// century).
pub(crate) fn ttl(state: &AppState) -> chrono::Duration {
    chrono::Duration::from_std(state.remote_lease).unwrap_or_else(|_| chrono::Duration::days(36_500))
}

/// Who holds the leases of the runs a request reports: its token's name.
pub(crate) fn holder(principal: Option<&Principal>) -> Result<String, AppError> {
    principal
        .and_then(Principal::token)
        .map(|token| token.name.clone())
        .ok_or_else(|| AppError::unauthorized("reporting a run needs a token"))
}

/// The fencing number a request names in [`gantry_api::FENCING_HEADER`], if it names one.
pub(crate) fn fencing(headers: &HeaderMap) -> Result<Option<i64>, AppError> {
    let Some(value) = headers.get(gantry_api::FENCING_HEADER) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|text| text.trim().parse::<i64>().ok())
        .filter(|fencing| *fencing > 0)
        .map(Some)
        .ok_or_else(|| {
            AppError::bad_request(format!(
                "the `{}` header must be the lease's fencing number, a positive integer",
                gantry_api::FENCING_HEADER
            ))
        })
}
