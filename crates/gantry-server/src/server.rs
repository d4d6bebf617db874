//! [`Server`]: binds, opens the store, and serves until told to stop, gracefully.
//!
//! Starting: the store is opened (its schema migrated; on PostgreSQL it listens for the records
//! of other replicas, for the live views), runs left `running` by dead processes
//! of this host are marked `interrupted`, stale partial uploads are removed, and the store gets
//! its bootstrap admin token if it has no admin token yet. Serving: the API and the UI, and the
//! periodic sweep of remote runs whose lease ran out ([`crate::lease`]). Stopping: no new
//! connections, requests in flight finish, live streams end, the sweep stops, and the store's
//! pool is closed.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use gantry_store::{ArtifactError, Store, StoreError, StoreOptions, TokenError};
use tokio::net::TcpListener;

use crate::config::{ServerConfig, is_postgres_url, redact_password};
use crate::router::router;
use crate::state::AppState;

/// The name of the admin token a store gets on its first start.
pub const BOOTSTRAP_TOKEN_NAME: &str = "bootstrap";

/// Partial uploads older than this are left over from a crash (no upload takes a day).
const STALE_UPLOAD: Duration = Duration::from_hours(24);

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(
        "the PostgreSQL store `{url}` needs an artifact location that every replica shares: a directory or `s3://BUCKET/PREFIX`"
    )]
    NoArtifactDir { url: String },
    #[error("failed to open the artifact store `{location}`")]
    Artifacts {
        location: String,
        #[source]
        source: ArtifactError,
    },
    #[error("failed to open the build data store `{url}`")]
    Store {
        url: String,
        #[source]
        source: StoreError,
    },
    #[error("failed to recover the runs interrupted by a crash")]
    Recover(#[source] StoreError),
    #[error("failed to create the bootstrap admin token")]
    Bootstrap(#[source] TokenError),
    #[error("failed to listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// A bound server, ready to [`Server::serve`].
pub struct Server {
    listener: TcpListener,
    local_addr: SocketAddr,
    state: AppState,
    bootstrap_token: Option<String>,
    /// How often this server looks for remote runs whose lease ran out.
    lease_sweep: Duration,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Opens the store, recovers interrupted runs, ensures an admin token, and binds.
    pub async fn bind(config: ServerConfig) -> Result<Self, ServerError> {
        let url = redact_password(&config.db_url);
        if is_postgres_url(&config.db_url) && config.artifacts.is_none() {
            return Err(ServerError::NoArtifactDir { url });
        }
        let options = StoreOptions {
            artifacts: config.artifacts.clone(),
        };
        let store = Store::open_with(&config.db_url, &options)
            .await
            .map_err(|source| match source {
                StoreError::Artifact(source) => ServerError::Artifacts {
                    location: config
                        .artifacts
                        .as_ref()
                        .map_or_else(|| "beside the database".to_owned(), ToString::to_string),
                    source,
                },
                source => ServerError::Store {
                    url: url.clone(),
                    source,
                },
            })?;
        tracing::info!(store = %url, "opened the store");
        tracing::info!(artifacts = %store.artifacts().location(), "opened the artifact store");
        // Live views follow the records of every replica on a PostgreSQL database.
        store.listen().await.map_err(|source| ServerError::Store {
            url: url.clone(),
            source,
        })?;
        let state = AppState::new(store.clone())
            .anonymous_read(config.anonymous_read)
            .max_upload_bytes(config.max_upload_bytes)
            .remote_lease(config.remote_lease)
            .job_lease(config.job_lease)
            .trust_proxy(config.trust_proxy);
        let recovered = store.recover_interrupted().await.map_err(ServerError::Recover)?;
        if !recovered.is_empty() {
            tracing::warn!(runs = ?recovered, "marked runs of dead processes `interrupted`");
            state.metrics.runs_finished("interrupted", recovered.len() as u64);
        }
        // Best effort; another replica sharing the directory may be uploading, hence the age.
        store.artifacts().remove_stale_uploads(STALE_UPLOAD);
        // Bound before the bootstrap token exists: a start that cannot listen must not create a
        // token that nobody was shown.
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| ServerError::Bind {
                addr: config.listen,
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| ServerError::Bind {
            addr: config.listen,
            source,
        })?;
        tracing::info!(%local_addr, store = %url, artifacts = %store.artifacts().location(), anonymous_read = config.anonymous_read, "server bound");
        let created = store
            .ensure_admin_token(BOOTSTRAP_TOKEN_NAME, config.admin_token.as_deref())
            .await
            .map_err(ServerError::Bootstrap)?;
        // A secret the operator chose is known to them already: it is never echoed.
        let bootstrap_token = match created {
            Some(_) if config.admin_token.is_some() => {
                tracing::info!("created the bootstrap admin token from the configured secret");
                None
            }
            Some(secret) => {
                tracing::info!("created the bootstrap admin token");
                Some(secret)
            }
            None => {
                if config.admin_token.is_some() {
                    tracing::info!(
                        "the store has an admin token already: the configured admin secret is not used"
                    );
                }
                None
            }
        };
        Ok(Self {
            listener,
            local_addr,
            state,
            bootstrap_token,
            lease_sweep: config.lease_sweep,
        })
    }

    /// Reads the time of the lease path from `clock` (a test's [`crate::ManualClock`]) rather
    /// than from the system clock.
    #[must_use]
    pub fn with_clock(mut self, clock: crate::Clock) -> Self {
        self.state = self.state.clock(clock);
        self
    }

    /// Where the server listens (with the port chosen when the configuration said 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The bootstrap admin token's secret when this start created it with a random secret:
    /// to print once. `None` on later starts, and when the secret came from the configuration.
    pub fn bootstrap_token(&self) -> Option<&str> {
        self.bootstrap_token.as_deref()
    }

    /// The store the server serves.
    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// The state handlers share, for callers that add routes of their own.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves; then stops accepting connections, lets requests in
    /// flight finish, ends live streams, and closes the store.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let Self {
            listener,
            state,
            lease_sweep,
            ..
        } = self;
        let stopping = state.shutdown.clone();
        let store = state.store.clone();
        let sweeper = tokio::spawn(crate::lease::sweep(state.clone(), lease_sweep));
        let job_sweeper = tokio::spawn(crate::jobs::sweep(
            state.clone(),
            crate::jobs::sweep_every(state.job_lease, lease_sweep),
        ));
        let app = router(state);
        let cancel = stopping.clone();
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                shutdown.await;
                tracing::info!("shutting down: finishing requests in flight");
                cancel.cancel();
            })
            .await;
        // The sweeper stops at the cancellation; a sweep under way finishes before the store
        // closes.
        stopping.cancel();
        let _ = sweeper.await;
        let _ = job_sweeper.await;
        store.close().await;
        served?;
        tracing::info!("server stopped");
        Ok(())
    }
}
