//! Leases: a holder (a client reporting a run, an agent running a job, a server replica) holds a
//! resource (`run:<id>`, `job:<id>`) until an expiry it keeps pushing back, under a fencing
//! number.
//!
//! - [`Store::acquire_lease`] gives a resource nobody holds (never leased, released, swept, or
//!   expired) to a holder, with a fencing number one more than the resource's last one.
//! - [`Store::renew_lease`] pushes the expiry back, only for the current holder with the current
//!   fencing number: a holder whose lease was swept or taken over is refused
//!   ([`LeaseError::Lost`]) and must not go on acting on the resource.
//! - [`Store::release_lease`] frees it when the holder is done.
//! - [`Store::expired_leases`] and [`Store::expire_lease`] are the sweep: each expired lease is
//!   taken from its holder by one conditional update, so of several replicas sweeping at once
//!   exactly one acts on each expiry, and a lease renewed meanwhile is left alone.
//!   [`Store::interrupt_expired_runs`] is that sweep for reported runs.
//! - [`Store::record_held`] records a reported run's events in the transaction that renews (or
//!   first acquires) the run's lease, so that no report of a stale holder is recorded.
//!
//! Every operation takes the time `now` from its caller: servers pass the clock, tests pass
//! times of their choosing instead of sleeping. The SQL is in [`crate::aggregate::leases`].

use chrono::{DateTime, Duration, Utc};
use gantry_model::{RunEvent, RunEventKind, RunId, RunResult};

use crate::aggregate::leases::LeaseRow;
use crate::db::Tx;
use crate::error::StoreError;
use crate::recorder;
use crate::store::Store;

/// What a run's lease is called: `run:<id>`.
pub fn run_resource(run_id: &str) -> String {
    format!("run:{run_id}")
}

/// A lease held: what, by whom, under which fencing number, until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// What is leased: `run:<id>`, `job:<id>`.
    pub resource: String,
    /// Who holds it: a client, agent or replica identity.
    pub holder: String,
    /// Increases on every new acquisition of the resource; a holder proves it still holds the
    /// lease by naming it.
    pub fencing: i64,
    pub expires_at: DateTime<Utc>,
}

/// A lease operation refused, or failed.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error("`{resource}` is held by `{holder}` until {expires_at}")]
    Held {
        resource: String,
        holder: String,
        expires_at: DateTime<Utc>,
    },

    /// The caller no longer holds the lease it names: it expired and was swept, or another
    /// holder acquired it since (a higher fencing number), or it was released.
    #[error(
        "`{holder}` no longer holds `{resource}` under fencing number {fencing}{}",
        match current { Some(current) => format!(" (its fencing number is now {current})"), None => String::new() }
    )]
    Lost {
        resource: String,
        holder: String,
        fencing: i64,
        /// The resource's fencing number now, if it was ever leased.
        current: Option<i64>,
    },

    /// Nobody may hold the resource any more: it belongs to a job attempt whose agent was
    /// lost, and the job runs again as another run.
    #[error("`{resource}` is closed: {reason}")]
    Closed { resource: String, reason: String },

    #[error(transparent)]
    Store(#[from] StoreError),
}

impl LeaseRow {
    /// The lease, if someone holds it.
    fn held(self) -> Option<Lease> {
        Some(Lease {
            holder: self.holder?,
            resource: self.resource,
            fencing: self.fencing,
            expires_at: self.expires_at,
        })
    }
}

impl Store {
    /// Gives `resource` to `holder` for `ttl` from `now` if nobody else holds it at `now`;
    /// refused with [`LeaseError::Held`] otherwise. A holder acquiring what it holds already (a
    /// client or agent that restarted) gets a new fencing number, and its old one is refused
    /// from then on.
    pub async fn acquire_lease(
        &self,
        resource: &str,
        holder: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<Lease, LeaseError> {
        let mut tx = self.db().begin().await?;
        let lease = tx.acquire(resource, holder, ttl, now).await?;
        tx.commit().await?;
        Ok(lease)
    }

    /// Pushes the expiry of `lease` back to `ttl` from `now` (never earlier than it was), if its
    /// holder still holds it under its fencing number; refused with [`LeaseError::Lost`]
    /// otherwise. A lease that expired but that nobody swept or took yet is renewed.
    pub async fn renew_lease(
        &self,
        lease: &Lease,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<Lease, LeaseError> {
        let mut tx = self.db().begin().await?;
        let renewed = tx
            .renew(&lease.resource, &lease.holder, lease.fencing, ttl, now)
            .await?;
        tx.commit().await?;
        Ok(renewed)
    }

    /// Frees `lease` so that anyone may acquire it; refused with [`LeaseError::Lost`] if its
    /// holder no longer holds it.
    pub async fn release_lease(&self, lease: &Lease) -> Result<(), LeaseError> {
        let mut tx = self.db().begin().await?;
        if tx
            .release_lease(&lease.resource, &lease.holder, lease.fencing)
            .await?
        {
            tx.commit().await?;
            Ok(())
        } else {
            Err(tx.lost(&lease.resource, &lease.holder, lease.fencing).await)
        }
    }

    /// The lease held on `resource`, if any (expired or not: an expired lease is held until it
    /// is swept or acquired by someone else).
    pub async fn lease(&self, resource: &str) -> Result<Option<Lease>, StoreError> {
        Ok(self.db().lease(resource).await?.and_then(LeaseRow::held))
    }

    /// The held leases on resources starting with `prefix` (`"run:"`, `"job:"`) expired at
    /// `now`, the oldest expiry first: the sweep's candidates.
    pub async fn expired_leases(&self, prefix: &str, now: DateTime<Utc>) -> Result<Vec<Lease>, StoreError> {
        let rows = self.db().expired_leases(prefix, now).await?;
        Ok(rows.into_iter().filter_map(LeaseRow::held).collect())
    }

    /// Takes `lease` from its holder if it is still held under its fencing number and expired
    /// at `now`; whether it did. Of several callers at once exactly one gets `true`.
    pub async fn expire_lease(&self, lease: &Lease, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let mut tx = self.db().begin().await?;
        let expired = tx.expire_lease(&lease.resource, lease.fencing, now).await?;
        tx.commit().await?;
        Ok(expired)
    }

    /// Records a batch of events of the run `run_id` reported by `holder`, in the transaction
    /// that keeps the run's lease for `ttl` from `now`: renewed under `fencing` when the holder
    /// names the number it was given, acquired otherwise (the run's first batch, or a holder
    /// that lost its number). Refused, recording nothing, when the lease is held by someone
    /// else or `fencing` is stale. Such runs have no owner process: recovery leaves them to
    /// their lease.
    pub async fn record_held(
        &self,
        run_id: &str,
        events: &[RunEvent],
        holder: &str,
        fencing: Option<i64>,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<Lease, LeaseError> {
        self.store_artifacts(events).await?;
        let resource = run_resource(run_id);
        let mut tx = self.db().begin().await?;
        let lease = if let Some(fencing) = fencing {
            tx.renew(&resource, holder, fencing, ttl, now).await?
        } else {
            // A lost attempt's run had its lease taken; its agent must not take it back.
            if tx.is_lost_attempt(run_id).await? {
                return Err(LeaseError::Closed {
                    resource,
                    reason: "its job's agent was lost and the job runs again as another run".to_owned(),
                });
            }
            tx.acquire(&resource, holder, ttl, now).await?
        };
        recorder::apply(&mut tx, events, None, Some(now)).await?;
        tx.commit().await?;
        if !events.is_empty() {
            self.tell_followers().await?;
        }
        Ok(lease)
    }

    /// The sweep of reported runs: each run whose lease expired at `now` is marked
    /// `interrupted` (with its `pipelinerun.finished` CDEvent, outcome `error`) in the same
    /// transaction that takes its lease, so that of several replicas sweeping at once exactly
    /// one interrupts it, and a run whose lease was renewed meanwhile (by any replica) is left
    /// running. Returns the ids of the runs interrupted.
    pub async fn interrupt_expired_runs(&self, now: DateTime<Utc>) -> Result<Vec<String>, StoreError> {
        let mut interrupted = Vec::new();
        for lease in self.expired_leases("run:", now).await? {
            let Some(run_id) = lease.resource.strip_prefix("run:") else {
                continue;
            };
            let mut tx = self.db().begin().await?;
            if !tx.expire_lease(&lease.resource, lease.fencing, now).await? {
                tx.rollback().await?;
                continue;
            }
            // The lease is gone either way; a run that finished meanwhile stays as it ended.
            if tx.hold_if_running(run_id).await? {
                let event = RunEvent {
                    id: uuid::Uuid::now_v7().to_string(),
                    run_id: RunId(run_id.to_owned()),
                    at: now,
                    kind: RunEventKind::RunFinished {
                        result: RunResult::Interrupted,
                    },
                };
                recorder::apply(&mut tx, std::slice::from_ref(&event), None, None).await?;
                interrupted.push(run_id.to_owned());
            }
            tx.commit().await?;
        }
        if !interrupted.is_empty() {
            self.tell_followers().await?;
        }
        Ok(interrupted)
    }
}

impl Tx {
    pub(crate) async fn acquire(
        &mut self,
        resource: &str,
        holder: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<Lease, LeaseError> {
        let acquired = self.acquire_lease(resource, holder, now, now + ttl).await?;
        if let Some(lease) = acquired.and_then(LeaseRow::held) {
            return Ok(lease);
        }
        // Refused: the row is someone else's, unexpired (read in the same transaction).
        let current = self.lease(resource).await?;
        let (holder, expires_at) = match current {
            Some(LeaseRow {
                holder: Some(holder),
                expires_at,
                ..
            }) => (holder, expires_at),
            _ => ("nobody".to_owned(), now),
        };
        Err(LeaseError::Held {
            resource: resource.to_owned(),
            holder,
            expires_at,
        })
    }

    pub(crate) async fn renew(
        &mut self,
        resource: &str,
        holder: &str,
        fencing: i64,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<Lease, LeaseError> {
        let renewed = self.renew_lease(resource, holder, fencing, now + ttl).await?;
        match renewed.and_then(LeaseRow::held) {
            Some(renewed) => Ok(renewed),
            None => Err(self.lost(resource, holder, fencing).await),
        }
    }

    /// The refusal of an operation by `holder` under `fencing`, naming the fencing number now.
    pub(crate) async fn lost(&mut self, resource: &str, holder: &str, fencing: i64) -> LeaseError {
        let current = match self.lease(resource).await {
            Ok(row) => row.map(|row| row.fencing),
            Err(error) => return error.into(),
        };
        LeaseError::Lost {
            resource: resource.to_owned(),
            holder: holder.to_owned(),
            fencing,
            current,
        }
    }
}
