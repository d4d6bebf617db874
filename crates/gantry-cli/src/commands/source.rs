//! [`Source`]: where `history`, `show`, `logs`, `artifact get` and `token` act: the local build
//! data repository, or a Gantry server's API (`--server`, `GANTRY_SERVER`), so that the runs
//! `gantry run --server` reported are read back from the same place.
//!
//! Either way the answers are the API's types ([`gantry_api`]): a local store's runs are
//! converted as the server converts them, so `--json` prints the same documents from both.

use gantry_api::{RunDocument, RunSummary, RunsPage};
use gantry_client::{Client, ClientError, encode};
use gantry_server::log_text::{Attempts, TextLog, TextOptions};
use gantry_server::wire;
use gantry_store::{RunFilter, Store};

use gantry_runner::Environment;

use crate::args::{SourceArgs, StoreArgs};
use crate::commands::{find_run, open_store};
use crate::exit::CommandError;

/// Lines fetched from a local store at a time.
const PAGE: u32 = 5000;

pub(crate) enum Source {
    Store(Store),
    /// A server, and whether a token (`GANTRY_TOKEN`) is shown to it.
    Server {
        client: Client,
        token: bool,
    },
}

impl Source {
    pub(crate) async fn open(args: &SourceArgs, environment: &Environment) -> anyhow::Result<Self> {
        Self::open_at(&args.store, args.server.as_deref(), environment).await
    }

    /// The server `server` (`--server`) or `GANTRY_SERVER` names, unless `--db` names a store;
    /// else the store, which must exist.
    pub(crate) async fn open_at(
        store: &StoreArgs,
        server: Option<&str>,
        environment: &Environment,
    ) -> anyhow::Result<Self> {
        match environment.server(server, store.db.is_some()) {
            Some(server) => Ok(Self::Server {
                client: server.client()?,
                token: server.token.is_some(),
            }),
            None => Ok(Self::Store(open_store(store, environment).await?)),
        }
    }

    /// Runs, newest first (the filter's app and limit; a server pages by its own limit, at most
    /// 500 a page).
    pub(crate) async fn list_runs(&self, filter: &RunFilter) -> anyhow::Result<Vec<RunSummary>> {
        match self {
            Self::Store(store) => Ok(store
                .list_runs(filter)
                .await?
                .iter()
                .map(wire::run_summary)
                .collect()),
            Self::Server { client, token } => {
                let mut path = format!("/api/v1/runs?limit={}", filter.limit.unwrap_or(50).clamp(1, 500));
                if let Some(app) = &filter.app {
                    path.push_str(&format!("&app={}", encode(app)));
                }
                let page: RunsPage = client
                    .get_json(&path, "the list of runs")
                    .await
                    .map_err(|error| refused(error, *token, Need::Read))?;
                Ok(page.runs)
            }
        }
    }

    /// The run named by `query` (id, unique prefix, `APP#BUILD`); an unknown or ambiguous one
    /// is a usage error.
    pub(crate) async fn find_run(&self, query: &str) -> anyhow::Result<RunDocument> {
        match self {
            Self::Store(store) => {
                let run = find_run(store, query).await?;
                let events = store.events_for_chain(&run.summary.id).await?;
                Ok(wire::run_document(run, events))
            }
            Self::Server { client, token } => {
                let path = format!("/api/v1/runs/{}", encode(query));
                match client.get_json(&path, "the run").await {
                    Err(ClientError::Refused { status: 404, .. }) => Err(CommandError::usage(format!(
                        "no run `{query}` on the server `{}`",
                        client.url()
                    ))
                    .hint("`gantry history --server URL` lists its runs")
                    .into()),
                    Err(ClientError::Refused {
                        status: 400, message, ..
                    }) => Err(CommandError::usage(message)
                        .hint("use more of the id, or `APP#BUILD`")
                        .into()),
                    found => found.map_err(|error| refused(error, *token, Need::Read)),
                }
            }
        }
    }

    /// Every line of the task at `path` of run `run_id` (which started `attempts` attempts), in
    /// order, to `each`, with a header before each attempt of a task tried more than once; read
    /// page by page (or chunk by chunk from a server), so that a huge log is never held whole.
    pub(crate) async fn task_log(
        &self,
        run_id: &str,
        path: &str,
        attempts: u32,
        options: TextOptions,
        mut each: impl FnMut(&str) -> std::io::Result<()>,
    ) -> anyhow::Result<()> {
        match self {
            Self::Store(store) => {
                let attempts = Attempts::read(store, run_id, path, attempts).await?;
                let mut log = TextLog::new(attempts, options, String::new());
                let mut after = 0;
                let mut text = String::new();
                loop {
                    let lines = store.task_log(run_id, path, after, PAGE).await?;
                    text.clear();
                    log.lines(&lines, &mut text);
                    let last = lines.last().map(|line| line.seq);
                    if lines.len() < PAGE as usize {
                        log.end(&mut text);
                    }
                    for line in text.lines() {
                        each(line)?;
                    }
                    match last {
                        Some(last) if lines.len() == PAGE as usize => after = last,
                        _ => break,
                    }
                }
            }
            Self::Server { client, token } => {
                let mut url = format!("/api/v1/runs/{}/logs?task={}", encode(run_id), encode(path));
                if options.timestamps {
                    url.push_str("&timestamps=true");
                }
                let mut body = client
                    .get_text(&url, "the log")
                    .await
                    .map_err(|error| refused(error, *token, Need::Read))?;
                let mut pending: Vec<u8> = Vec::new();
                while let Some(chunk) = body
                    .chunk()
                    .await
                    .map_err(|error| refused(error, *token, Need::Read))?
                {
                    pending.extend_from_slice(&chunk);
                    let mut start = 0;
                    while let Some(end) = pending[start..].iter().position(|byte| *byte == b'\n') {
                        each(&String::from_utf8_lossy(&pending[start..start + end]))?;
                        start += end + 1;
                    }
                    pending.drain(..start);
                }
                if !pending.is_empty() {
                    each(&String::from_utf8_lossy(&pending))?;
                }
            }
        }
        Ok(())
    }
}

/// What a call to the server needs of the token in `GANTRY_TOKEN`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Need {
    /// Reading runs, logs and artifacts: the `read` scope.
    Read,
    /// Managing tokens: the `admin` scope.
    Admin,
}

impl Need {
    fn what(self) -> &'static str {
        match self {
            Self::Read => "reading runs needs a token with the `read` scope",
            Self::Admin => "managing tokens needs a token with the `admin` scope",
        }
    }
}

/// A server's refusal or absence; a refused token is the user's to fix.
pub(crate) fn refused(error: ClientError, token: bool, need: Need) -> anyhow::Error {
    match &error {
        ClientError::Refused { status: 401, .. } => CommandError::usage(error.to_string())
            .hint(if token {
                "the server does not know the token in `GANTRY_TOKEN` (revoked, or another server's?)"
                    .to_owned()
            } else {
                format!("{}: set `GANTRY_TOKEN`", need.what())
            })
            .into(),
        ClientError::Refused { status: 403, .. } => {
            CommandError::usage(error.to_string()).hint(need.what()).into()
        }
        _ => anyhow::Error::new(error).context(match need {
            Need::Read => "failed to read from the server",
            Need::Admin => "failed to manage tokens on the server",
        }),
    }
}
