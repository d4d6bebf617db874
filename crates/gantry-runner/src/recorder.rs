//! [`Recorder`]: where a run is recorded, opened before it takes its build number.

use std::path::{Path, PathBuf};

use gantry_client::{Client, Spool};
use gantry_model::RunId;
use gantry_store::{Store, StoreOptions};

use crate::sink::Sink;
use crate::{Destination, Error, workspace};

/// An opened destination: the local store (the default), a server (through a spool, so that
/// nothing is lost while the server is away), or nowhere (mock runs).
pub(crate) enum Recorder {
    Store(Store),
    Server { client: Client, spool: PathBuf },
    Nowhere,
}

impl Recorder {
    /// Opens `destination` for a run of the workspace at `root`.
    pub(crate) async fn open(destination: Destination, root: &Path) -> Result<Self, Error> {
        Ok(match destination {
            Destination::Store(store) => Self::Store(store),
            Destination::StoreAt(url) => {
                let url = match url {
                    Some(url) => url,
                    None => workspace::default_store_url(root)?,
                };
                Self::Store(open_store(&url).await?)
            }
            Destination::Server(server) => Self::Server {
                client: server.client()?,
                spool: workspace::ensure_state_dir(root)?.join("spool"),
            },
        })
    }

    /// The run's build number: the next of `app`'s, from the store or the server; 0 for mock
    /// runs.
    pub(crate) async fn allocate_build(&self, app: &str) -> Result<u64, Error> {
        match self {
            Self::Store(store) => store.allocate_build(app).await.map_err(Error::AllocateBuild),
            Self::Server { client, .. } => {
                client
                    .allocate_build(app)
                    .await
                    .map_err(|source| Error::ServerBuild {
                        url: client.url().to_owned(),
                        source,
                    })
            }
            Self::Nowhere => Ok(0),
        }
    }

    /// Where the events of run `run_id` go while it is live; a store's backlog waits in
    /// `root`'s `.gantry/` past memory, when there is one.
    pub(crate) fn start(self, run_id: &RunId, root: &Path) -> Result<Sink, Error> {
        Ok(match self {
            Self::Store(store) => {
                let dir = root.join(workspace::STATE_DIR);
                Sink::store(store, dir.is_dir().then_some(dir))
            }
            Self::Server { client, spool } => {
                let spooled = Spool::new(&spool).start(&run_id.0, client.url())?;
                Sink::upload(client, spooled, spool)
            }
            Self::Nowhere => Sink::Nowhere,
        })
    }
}

/// Opens the store at `url` and marks the runs of dead processes interrupted: what every
/// command reading or recording local runs does first.
pub async fn open_store(url: &str) -> Result<Store, Error> {
    open_store_with(url, &StoreOptions::default()).await
}

/// [`open_store`] with `options` (where artifacts are kept, which a PostgreSQL store needs).
pub async fn open_store_with(url: &str, options: &StoreOptions) -> Result<Store, Error> {
    let store = Store::open_with(url, options)
        .await
        .map_err(|source| Error::OpenStore {
            url: url.to_owned(),
            source,
        })?;
    store.recover_interrupted().await.map_err(Error::Recover)?;
    Ok(store)
}
