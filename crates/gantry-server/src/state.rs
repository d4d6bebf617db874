//! [`AppState`]: what every handler shares. Cheap to clone (everything inside is shared).

use std::sync::Arc;
use std::time::Duration;

use gantry_store::Store;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::{DEFAULT_JOB_LEASE, DEFAULT_MAX_UPLOAD_BYTES, DEFAULT_REMOTE_LEASE};
use crate::metrics::Metrics;

/// Shared by every request.
#[derive(Clone)]
pub struct AppState {
    /// The build data repository; its pool is shared and safe to use from any task.
    pub store: Store,
    /// Anyone may read without a token.
    pub anonymous_read: bool,
    /// The largest artifact upload accepted, in bytes.
    pub max_upload_bytes: u64,
    /// How long a run reported over the API stays `running` without news from its client: the
    /// length of its lease ([`crate::lease`]).
    pub remote_lease: Duration,
    /// How long an agent keeps a job without a heartbeat: the length of a job's lease
    /// ([`crate::jobs`]).
    pub job_lease: Duration,
    /// Requests come through a reverse proxy whose `X-Forwarded-Proto` is to be believed.
    pub trust_proxy: bool,
    /// The time the lease path reads ([`crate::clock`]).
    pub clock: Clock,
    pub metrics: Arc<Metrics>,
    /// Cancelled when the server starts shutting down: streams (log follows, live pages) end
    /// so that graceful shutdown does not wait for them forever.
    pub shutdown: CancellationToken,
}

impl AppState {
    /// State for `store` with defaults: every route needs a token, uploads up to
    /// [`DEFAULT_MAX_UPLOAD_BYTES`], remote runs hold a lease of [`DEFAULT_REMOTE_LEASE`].
    pub fn new(store: Store) -> Self {
        Self {
            store,
            anonymous_read: false,
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            remote_lease: DEFAULT_REMOTE_LEASE,
            job_lease: DEFAULT_JOB_LEASE,
            trust_proxy: false,
            clock: Clock::system(),
            metrics: Arc::new(Metrics::new()),
            shutdown: CancellationToken::new(),
        }
    }

    /// Lets anyone read without a token (or not).
    #[must_use]
    pub fn anonymous_read(mut self, anonymous_read: bool) -> Self {
        self.anonymous_read = anonymous_read;
        self
    }

    /// Sets the largest artifact upload accepted.
    #[must_use]
    pub fn max_upload_bytes(mut self, max_upload_bytes: u64) -> Self {
        self.max_upload_bytes = max_upload_bytes;
        self
    }

    /// Sets how long a run reported over the API stays `running` without news.
    #[must_use]
    pub fn remote_lease(mut self, remote_lease: Duration) -> Self {
        self.remote_lease = remote_lease;
        self
    }

    /// Sets how long an agent keeps a job without a heartbeat.
    #[must_use]
    pub fn job_lease(mut self, job_lease: Duration) -> Self {
        self.job_lease = job_lease;
        self
    }

    /// Believes (or not) the `X-Forwarded-Proto` header of requests.
    #[must_use]
    pub fn trust_proxy(mut self, trust_proxy: bool) -> Self {
        self.trust_proxy = trust_proxy;
        self
    }

    /// Sets the clock the lease path reads (a [`crate::ManualClock`]'s, in tests of leases).
    #[must_use]
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }
}
