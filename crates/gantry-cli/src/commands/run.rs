//! `gantry run`: validate, plan, take a build number, execute, record, report.
//!
//! Where the run is recorded is a [`Recorder`]: the local store (the default), a server
//! (`--server`, through a spool so that nothing is lost while the server is away), or nowhere
//! (mock runs).

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use gantry_client::{Client, Spool, Uploader};
use gantry_engine::{MockSettings, RunRequest, Stop};
use gantry_model::event::RunInfo;
use gantry_model::{Pipeline, Plan, RunEvent, RunEventKind, RunId, RunResult, Traceability, render_version};
use gantry_store::Store;
use tokio::sync::mpsc;

use crate::args::RunArgs;
use crate::commands::selection;
use crate::exit::{ExitStatus, UsageError};
use crate::git::Revision;
use crate::reporter::{Terminal, TerminalReporter};
use crate::workspace::Workspace;
use crate::{git, secrets, workspace};

/// How many events the engine may run ahead of the reporter and the recorder.
const EVENT_BUFFER: usize = 1024;

/// How many events are recorded in one store transaction at most.
const BATCH: usize = 512;

/// How long the end of a run waits for an away server before leaving events in the spool.
const FINAL_UPLOAD_DEADLINE: Duration = Duration::from_secs(10);

pub async fn run(args: RunArgs) -> anyhow::Result<ExitStatus> {
    let prepared = prepare(&args)?;
    let recorder = if args.mock {
        // Mock runs exercise the pipeline, not the product: no build number, no trace.
        Recorder::Nowhere
    } else if let Some(server) = args.server() {
        Recorder::server(&server, &prepared.workspace)?
    } else {
        let url = workspace::store_url(&args.store, &prepared.workspace.root)?;
        Recorder::Store(super::open_recovered(&url).await?)
    };
    execute(&args, prepared, recorder).await
}

/// A run that is valid and planned, before it has a number.
pub(crate) struct Prepared {
    pub workspace: Workspace,
    pub pipeline: Pipeline,
    pub plan: Plan,
    pub revision: Revision,
    pub branch: Option<String>,
    pub secrets: Vec<(String, String)>,
}

/// Loads, validates and plans; checks traceability and secrets. Nothing runs or is recorded.
pub(crate) fn prepare(args: &RunArgs) -> anyhow::Result<Prepared> {
    let workspace = workspace::locate(&args.pipeline)?;
    let pipeline = workspace::load_pipeline(&workspace, &args.pipeline)?;
    let revision = git::inspect(&workspace.root);
    let branch = args.selection.branch.clone().or_else(|| revision.branch.clone());
    let plan = Plan::new(&pipeline, branch.as_deref(), &selection(&args.selection))
        .map_err(|err| usage_from_selection(&err))?;
    check_fail_names(&args.fail, &plan)?;
    let required = args.require_traceable || pipeline.traceable == Traceability::Required;
    if let (true, Some(reason)) = (required, &revision.untraceable) {
        return Err(
            UsageError::new(format!("refusing to start an untraceable run: {reason}"))
                .hint("commit and push your changes, or drop `--require-traceable` / `traceable: required`")
                .into(),
        );
    }
    let secrets = if args.mock {
        Vec::new()
    } else {
        secrets::resolve(&pipeline.secrets, args.secrets_file.as_deref())?
    };
    Ok(Prepared {
        workspace,
        pipeline,
        plan,
        revision,
        branch,
        secrets,
    })
}

/// Every `--fail NAME` must name a task that runs: a typo would silently test nothing.
fn check_fail_names(names: &[String], plan: &Plan) -> Result<(), UsageError> {
    let tasks = plan.tasks();
    for name in names {
        let found = tasks
            .iter()
            .any(|(path, _)| path.as_str() == name || path.name() == name);
        if !found {
            let known: Vec<&str> = tasks.iter().map(|(path, _)| path.as_str()).collect();
            return Err(
                UsageError::new(format!("`--fail {name}` names no task of this run"))
                    .hint(format!("tasks that run: {}", known.join(", "))),
            );
        }
    }
    Ok(())
}

/// Where a run's events are recorded.
pub(crate) enum Recorder {
    Store(Store),
    Server { client: Client, spool: PathBuf },
    Nowhere,
}

impl Recorder {
    /// A server at `url`, with `GANTRY_TOKEN`, spooling in the workspace's `.gantry/spool`.
    pub fn server(url: &str, workspace: &Workspace) -> anyhow::Result<Self> {
        let token = std::env::var("GANTRY_TOKEN")
            .ok()
            .filter(|token| !token.is_empty());
        let client = Client::new(url, token).map_err(|err| UsageError::new(err.to_string()))?;
        let spool = workspace::ensure_state_dir(&workspace.root)?.join("spool");
        Ok(Self::Server { client, spool })
    }

    async fn allocate_build(&self, app: &str) -> anyhow::Result<u64> {
        match self {
            Self::Store(store) => store
                .allocate_build(app)
                .await
                .context("failed to allocate a build number"),
            Self::Server { client, .. } => client
                .allocate_build(app)
                .await
                .with_context(|| format!("cannot get a build number from `{}`; nothing ran", client.url())),
            Self::Nowhere => Ok(0),
        }
    }
}

/// Runs a prepared pipeline to the end, recording it with `recorder`.
pub(crate) async fn execute(
    args: &RunArgs,
    prepared: Prepared,
    recorder: Recorder,
) -> anyhow::Result<ExitStatus> {
    let Prepared {
        workspace,
        pipeline,
        plan,
        revision,
        branch,
        secrets,
    } = prepared;
    let build = recorder.allocate_build(&pipeline.app).await?;
    let version = render_version(
        &pipeline.version,
        build,
        revision.sha.as_deref(),
        branch.as_deref(),
    );
    let run_id = RunId(uuid::Uuid::now_v7().to_string());
    let sink = match recorder {
        Recorder::Store(store) => Sink::Store(store),
        Recorder::Server { client, spool } => {
            let spooled = Spool::new(&spool).start(&run_id.0, client.url())?;
            Sink::spawn_uploader(Uploader::new(client, spooled), spool)
        }
        Recorder::Nowhere => Sink::Nowhere,
    };
    let mock = args.mock.then(|| MockSettings {
        fail: args.fail.clone(),
    });
    let jobs = args.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        usize::from,
    );
    let request = RunRequest {
        run_id: run_id.clone(),
        info: RunInfo {
            app: pipeline.app.clone(),
            version: version.clone(),
            build,
            revision: revision.sha.clone(),
            branch: branch.clone(),
            traceable: revision.untraceable.is_none(),
            untraceable_reason: revision.untraceable.clone(),
            pipeline,
            mock: mock.is_some(),
            selection: selection(&args.selection),
            runner: Some(gantry_model::Runner {
                host: gantry_store::Owner::current().host,
                pid: std::process::id(),
            }),
        },
        plan: plan.clone(),
        root: workspace.root.clone(),
        secrets,
        jobs,
        mock,
        grace: args.grace,
    };

    let stop = Stop::new();
    let signals = tokio::spawn(stop_on_signals(stop.clone()));
    let (sender, receiver) = mpsc::channel(EVENT_BUFFER);
    let engine = tokio::spawn(gantry_engine::execute(request, sender, stop));
    let output = if args.json {
        Output::Json
    } else {
        Output::Terminal(TerminalReporter::new(Terminal::detect(), &plan))
    };
    let consumed = consume(receiver, output, &sink, &version).await;
    let result = engine.await.context("the engine stopped unexpectedly")?;
    signals.abort();
    let closed = sink.close().await;
    consumed?;
    closed?;

    Ok(match result {
        RunResult::Success => ExitStatus::Success,
        RunResult::Failure | RunResult::Interrupted => ExitStatus::Failure,
        RunResult::Cancelled => ExitStatus::Cancelled,
    })
}

/// Where events go while the run is live.
enum Sink {
    Store(Store),
    /// Batches for the uploader task, which spools them and sends them on its own time, so a
    /// slow or away server never holds up the run.
    Uploader {
        batches: mpsc::UnboundedSender<Vec<RunEvent>>,
        task: tokio::task::JoinHandle<anyhow::Result<()>>,
    },
    Nowhere,
}

impl Sink {
    fn spawn_uploader(uploader: Uploader, spool: PathBuf) -> Self {
        let (batches, receiver) = mpsc::unbounded_channel::<Vec<RunEvent>>();
        let task = tokio::spawn(async move {
            let summary = uploader.run(receiver, FINAL_UPLOAD_DEADLINE).await?;
            if summary.pending > 0 {
                eprintln!(
                    "warning: {} events are kept in `{}` because the server did not take them: {}",
                    summary.pending,
                    spool.display(),
                    summary.last_error.as_deref().unwrap_or("unknown error")
                );
                eprintln!("  hint: `gantry sync` sends them once the server answers again");
            }
            Ok(())
        });
        Self::Uploader { batches, task }
    }

    async fn record(&self, batch: &[RunEvent]) -> anyhow::Result<()> {
        match self {
            Self::Store(store) => store
                .record(batch)
                .await
                .context("failed to record the run in the store"),
            Self::Uploader { batches, .. } => {
                // The uploader only stops early on a spool error, which `close` reports.
                let _ = batches.send(batch.to_vec());
                Ok(())
            }
            Self::Nowhere => Ok(()),
        }
    }

    async fn close(self) -> anyhow::Result<()> {
        match self {
            Self::Uploader { batches, task } => {
                drop(batches);
                task.await.context("the uploader stopped unexpectedly")?
            }
            Self::Store(_) | Self::Nowhere => Ok(()),
        }
    }
}

/// Where events are shown.
enum Output {
    Terminal(TerminalReporter),
    /// One JSON object a line on stdout, for scripts and pipeline unit tests.
    Json,
}

/// Shows and records every event until the engine closes the channel.
///
/// A recording failure does not stop the run (the engine goes on and the output stays true); it
/// is reported at the end and the command fails.
async fn consume(
    mut receiver: mpsc::Receiver<RunEvent>,
    mut output: Output,
    sink: &Sink,
    version: &str,
) -> anyhow::Result<()> {
    let mut batch = Vec::with_capacity(BATCH);
    let mut record_error = None;
    let mut result = RunResult::Failure;
    let mut ticker = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            count = receiver.recv_many(&mut batch, BATCH) => {
                if count == 0 {
                    break;
                }
            }
            _ = ticker.tick() => {
                if let Output::Terminal(reporter) = &mut output {
                    reporter.tick();
                }
                continue;
            }
        }
        if record_error.is_none() {
            record_error = sink.record(&batch).await.err();
        }
        for event in batch.drain(..) {
            if let RunEventKind::RunFinished { result: finished } = &event.kind {
                result = *finished;
            }
            match &mut output {
                Output::Terminal(reporter) => reporter.event(&event),
                Output::Json => {
                    let mut stdout = std::io::stdout().lock();
                    serde_json::to_writer(&mut stdout, &event)?;
                    writeln!(stdout)?;
                }
            }
        }
    }
    if let Output::Terminal(reporter) = &mut output {
        reporter.finish(result, version);
    }
    record_error.map_or(Ok(()), Err)
}

/// Cancels the run on Ctrl-C or SIGTERM (the engine stops the tasks and runs `finally`), and
/// forces it on a second one (`finally` is stopped too).
async fn stop_on_signals(stop: Stop) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).ok();
    let next_signal = async |terminate: &mut Option<tokio::signal::unix::Signal>| match terminate {
        Some(terminate) => tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        },
        None => {
            let _ = tokio::signal::ctrl_c().await;
        }
    };
    // On a terminal, over the live progress line rather than after it.
    let clear = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        "\r\x1b[2K"
    } else {
        ""
    };
    next_signal(&mut terminate).await;
    eprintln!(
        "{clear}cancelling: stopping tasks, then running `finally` (press Ctrl-C again to stop `finally` too)"
    );
    stop.cancel();
    next_signal(&mut terminate).await;
    eprintln!("{clear}stopping `finally` too");
    stop.force();
    loop {
        next_signal(&mut terminate).await;
        eprintln!("{clear}already stopping: each task gets its grace period, then is killed");
    }
}

pub(crate) fn usage_from_selection(err: &gantry_model::SelectionError) -> UsageError {
    let usage = UsageError::new(err.to_string());
    match err.hint() {
        Some(hint) => usage.hint(hint),
        None => usage,
    }
}
