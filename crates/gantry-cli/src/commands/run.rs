//! `gantry run`: the command line turned into [`RunSettings`], run by [`gantry_runner::run`],
//! shown by the terminal reporter or as JSON lines, and mapped to an exit status.

use gantry_model::RunResult;
use gantry_runner::environment::TOKEN_VARIABLE;
use gantry_runner::{
    Checkout, Destination, Environment, Escalation, MockSettings, Mode, PreparedRun, Reporter, RunOutcome,
    RunSettings, Secrets, Signals, Stop,
};

use crate::args::{PipelineArgs, RunArgs};
use crate::commands::selection;
use crate::exit::{CommandError, ExitStatus};
use crate::json_lines::JsonLines;
use crate::reporter::{Terminal, TerminalReporter};

pub async fn run(args: RunArgs, environment: &Environment) -> anyhow::Result<ExitStatus> {
    let prepared = PreparedRun::new(settings(&args, environment)?)?;
    let mut reporter: Box<dyn Reporter> = if args.json {
        Box::new(JsonLines::default())
    } else {
        Box::new(TerminalReporter::new(Terminal::detect(), prepared.plan()))
    };
    let outcome = execute(prepared, reporter.as_mut()).await?;
    warn_unsent(&outcome);
    Ok(status(outcome.result))
}

/// Executes a prepared run, cancelled by Ctrl-C or `SIGTERM` (forced by a second one).
pub(crate) async fn execute(
    prepared: PreparedRun,
    reporter: &mut dyn Reporter,
) -> Result<RunOutcome, gantry_runner::Error> {
    let stop = Stop::new();
    let signals = Signals::listen()
        .ok()
        .map(|signals| tokio::spawn(signals.stop(stop.clone(), announce)));
    let outcome = prepared.execute(reporter, stop).await;
    if let Some(signals) = signals {
        signals.abort();
    }
    outcome
}

/// What `gantry run` asks for, resolved.
fn settings(args: &RunArgs, environment: &Environment) -> anyhow::Result<RunSettings> {
    let mode = if args.mock {
        // A mock run's tasks are stand-ins: it is no build of the app, so it is recorded
        // nowhere, and a flag asking to record it is a mistake to point out, not to ignore.
        if let Some(flag) = [
            ("--server", args.server.is_some()),
            ("--db", args.store.db.is_some()),
        ]
        .into_iter()
        .find_map(|(flag, given)| given.then_some(flag))
        {
            return Err(CommandError::usage(format!(
                "a mock run is recorded nowhere, so `{flag}` has nothing to record"
            ))
            .hint(format!(
                "drop `{flag}` to test the pipeline with stand-in tasks, or drop `--mock` to run and record it for real"
            ))
            .into());
        }
        Mode::Mock(MockSettings {
            fail: args.fail.clone(),
        })
    } else {
        let destination = match environment.server(args.server.as_deref(), args.store.db.is_some()) {
            Some(server) if server.token.is_none() => {
                return Err(CommandError::usage(format!(
                    "reporting a run to `{}` needs a token, and `{TOKEN_VARIABLE}` is unset or empty",
                    server.url
                ))
                .hint(format!(
                    "set `{TOKEN_VARIABLE}` to a token with the `report` scope (`gantry token create --name NAME --scopes report` makes one)"
                ))
                .into());
            }
            Some(server) => Destination::Server(server),
            None => Destination::StoreAt(environment.db(args.store.db.as_deref())),
        };
        let secrets = match &args.secrets_file {
            Some(file) => Secrets::File(file.clone()),
            None => Secrets::Environment,
        };
        Mode::Record { destination, secrets }
    };
    Ok(RunSettings {
        checkout: checkout(&args.pipeline)?,
        selection: selection(&args.selection),
        branch: args.selection.branch.clone(),
        revision: None,
        mode,
        require_traceable: args.require_traceable,
        jobs: args.jobs.map(usize::from),
        grace: args.grace,
    })
}

/// Where `-f` and `--library` say the pipeline is, looked for from the current directory.
pub(crate) fn checkout(args: &PipelineArgs) -> anyhow::Result<Checkout> {
    use anyhow::Context as _;
    let dir = std::env::current_dir().context("failed to read the current directory")?;
    Ok(Checkout {
        dir,
        file: args.file.clone(),
        library: args.library.clone(),
    })
}

/// The exit status of a run's result.
pub(crate) fn status(result: RunResult) -> ExitStatus {
    match result {
        RunResult::Success => ExitStatus::Success,
        RunResult::Failure | RunResult::Interrupted | RunResult::AgentLost => ExitStatus::Failure,
        RunResult::Cancelled => ExitStatus::Cancelled,
    }
}

/// Says what a signal did, over the live progress line on a terminal rather than after it.
fn announce(escalation: Escalation) {
    let clear = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        "\r\x1b[2K"
    } else {
        ""
    };
    let said = match escalation {
        Escalation::Cancel => {
            "cancelling: stopping tasks, then running `finally` (press Ctrl-C again to stop `finally` too)"
        }
        Escalation::Force => "stopping `finally` too",
        Escalation::AlreadyStopping => "already stopping: each task gets its grace period, then is killed",
    };
    eprintln!("{clear}{said}");
}

/// Events the server did not take stay in the spool: say so, and how to send them.
pub(crate) fn warn_unsent(outcome: &RunOutcome) {
    if let Some(unsent) = &outcome.unsent {
        crate::warn(
            &format!(
                "{} events are kept in `{}` because the server did not take them: {}",
                unsent.events,
                unsent.spool.display(),
                unsent.reason
            ),
            Some("`gantry sync` sends them once the server answers again"),
        );
    }
}
