//! `gantry run`: validate, plan, allocate a build number, execute, record, report.

use std::io::Write as _;
use std::time::Duration;

use anyhow::Context as _;
use gantry_engine::{MockSettings, RunRequest};
use gantry_model::event::RunInfo;
use gantry_model::{Plan, RunEvent, RunId, RunResult, Traceability, render_version};
use gantry_store::Store;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::args::RunArgs;
use crate::commands::selection;
use crate::exit::{ExitStatus, UsageError};
use crate::reporter::{Terminal, TerminalReporter};
use crate::secrets;
use crate::{git, workspace};

/// How many events the engine may run ahead of the reporter and the store writer.
const EVENT_BUFFER: usize = 1024;

/// How many events are recorded in one store transaction at most.
const BATCH: usize = 512;

pub async fn run(args: RunArgs) -> anyhow::Result<ExitStatus> {
    let workspace = workspace::locate(&args.pipeline)?;
    let pipeline = workspace::load_pipeline(&workspace, &args.pipeline)?;
    let revision = git::inspect(&workspace.root);
    let branch = args.selection.branch.clone().or_else(|| revision.branch.clone());
    let plan = Plan::new(&pipeline, branch.as_deref(), &selection(&args.selection))
        .map_err(|err| usage_from_selection(&err))?;

    let required = args.require_traceable || pipeline.traceable == Traceability::Required;
    if let (true, Some(reason)) = (required, &revision.untraceable) {
        return Err(UsageError::new(format!("refusing to start an untraceable run: {reason}"))
            .hint("commit and push your changes, or drop `--require-traceable` / `traceable: required`")
            .into());
    }

    let mock = args.mock.then(|| MockSettings { fail: args.fail.clone() });
    let secret_values = if mock.is_some() {
        Vec::new()
    } else {
        secrets::resolve(&pipeline.secrets, args.secrets_file.as_deref())?
    };

    // Mock runs exercise the pipeline, not the product: they take no build number and leave no
    // trace in the build data repository.
    let store = if mock.is_some() {
        None
    } else {
        let url = workspace::store_url(&args.store, &workspace.root)?;
        let store = Store::open(&url).await.with_context(|| format!("failed to open the store `{url}`"))?;
        store.recover_interrupted().await.context("failed to check for interrupted runs")?;
        Some(store)
    };
    let build = match &store {
        Some(store) => store.allocate_build(&pipeline.app).await.context("failed to allocate a build number")?,
        None => 0,
    };
    let version = render_version(&pipeline.version, build, revision.sha.as_deref(), branch.as_deref());
    let run_id = RunId(uuid::Uuid::now_v7().to_string());
    let info = RunInfo {
        app: pipeline.app.clone(),
        version: version.clone(),
        build,
        revision: revision.sha.clone(),
        branch: branch.clone(),
        traceable: revision.untraceable.is_none(),
        untraceable_reason: revision.untraceable.clone(),
        pipeline,
        mock: mock.is_some(),
    };
    let jobs = args.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        usize::from,
    );
    let request = RunRequest {
        run_id,
        info,
        plan: plan.clone(),
        root: workspace.root.clone(),
        secrets: secret_values,
        jobs,
        mock,
        grace: args.grace,
    };

    let cancel = CancellationToken::new();
    let signals = tokio::spawn(cancel_on_signal(cancel.clone()));
    let (sender, receiver) = mpsc::channel(EVENT_BUFFER);
    let engine = tokio::spawn(gantry_engine::execute(request, sender, cancel.clone()));
    let output = if args.json { Output::Json } else { Output::Terminal(TerminalReporter::new(Terminal::detect(), &plan)) };
    let consumed = consume(receiver, output, store.as_ref(), &version).await;
    let result = engine.await.context("the engine stopped unexpectedly")?;
    signals.abort();
    consumed?;

    Ok(match result {
        RunResult::Success => ExitStatus::Success,
        RunResult::Failure | RunResult::Interrupted => ExitStatus::Failure,
        RunResult::Cancelled => ExitStatus::Cancelled,
    })
}

/// Where events are shown.
enum Output {
    Terminal(TerminalReporter),
    /// One JSON object a line on stdout, for scripts and pipeline unit tests.
    Json,
}

/// Shows and records every event until the engine closes the channel.
///
/// A store failure does not stop the run (the engine goes on and the output stays true); it is
/// reported at the end and the command fails.
async fn consume(
    mut receiver: mpsc::Receiver<RunEvent>,
    mut output: Output,
    store: Option<&Store>,
    version: &str,
) -> anyhow::Result<()> {
    let mut batch = Vec::with_capacity(BATCH);
    let mut store_error = None;
    let mut result = RunResult::Failure;
    let mut ticker = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            received = receiver.recv_many(&mut batch, BATCH) => {
                if received == 0 {
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
        if let (Some(store), None) = (store, &store_error) {
            if let Err(err) = store.record(&batch).await {
                store_error = Some(err);
            }
        }
        for event in batch.drain(..) {
            if let gantry_model::RunEventKind::RunFinished { result: finished } = &event.kind {
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
    match store_error {
        Some(err) => Err(anyhow::Error::new(err).context("failed to record the run in the store")),
        None => Ok(()),
    }
}

/// Cancels the run on Ctrl-C or SIGTERM; the engine stops the tasks and runs `finally`.
async fn cancel_on_signal(cancel: CancellationToken) {
    let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(signal) => signal,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            cancel.cancel();
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    eprintln!("cancelling: stopping tasks, then running `finally`");
    cancel.cancel();
}

pub(crate) fn usage_from_selection(err: &gantry_model::SelectionError) -> UsageError {
    let usage = UsageError::new(err.to_string());
    match err.hint() {
        Some(hint) => usage.hint(hint),
        None => usage,
    }
}
