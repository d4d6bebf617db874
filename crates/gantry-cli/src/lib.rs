//! The `gantry` command line.
//!
//! - [`args`]: the command line as clap types.
//! - [`commands`]: one module a command (`run`, `plan`, `history`, `show`, `logs`, `init`,
//!   `server`, `up`, `sync`, `token`, `user`, `artifact`); running a pipeline is
//!   `gantry_runner`'s, the commands turn arguments into its settings.
//! - [`reporter`]: the terminal view of a run (prefixed output, progress line, summary).
//! - [`json_lines`]: a run's events as JSON lines (`--json`).
//! - [`logging`]: the log of a server process on stderr (text or JSON lines).
//! - [`exit`]: exit codes, mapped in one place.
//! - [`output`]: data on stdout, quietly ending when the reader goes away.
//!
//! [`main`] parses arguments, reads the environment once ([`gantry_runner::Environment`]),
//! runs one command and maps its result to an exit code; errors are printed here
//! ([`report_error`]) and nowhere else.

pub mod args;
pub mod commands;
pub mod exit;
pub mod json_lines;
pub mod logging;
pub mod output;
pub mod reporter;

use std::process::ExitCode;

use clap::Parser as _;
use owo_colors::OwoColorize as _;

use gantry_model::Diagnostics;
use gantry_runner::Environment;

use crate::args::{Cli, Command};
use crate::exit::{CommandError, ExitStatus};

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let usage = err.use_stderr();
            let _ = err.print();
            return if usage {
                ExitStatus::Usage.into()
            } else {
                ExitStatus::Success.into()
            };
        }
    };
    if let Some(dir) = &cli.directory
        && let Err(err) = std::env::set_current_dir(dir)
    {
        eprintln!("error: cannot change to directory `{}`: {err}", dir.display());
        return ExitStatus::Usage.into();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: failed to start the async runtime: {err}");
            return ExitStatus::Failure.into();
        }
    };
    // The one place the variables naming servers, tokens and stores are read.
    let environment = Environment::read(|name| std::env::var(name).ok());
    let json = cli.command.prints_json();
    match runtime.block_on(dispatch(cli.command, &environment)) {
        Ok(status) => status.into(),
        Err(err) => report(&err, json).into(),
    }
}

async fn dispatch(command: Command, environment: &Environment) -> anyhow::Result<ExitStatus> {
    match command {
        Command::Run(args) => commands::run::run(args, environment).await,
        Command::Plan(args) => commands::plan::plan(&args),
        Command::History(args) => commands::history::history(&args, environment).await,
        Command::Show(args) => commands::show::show(&args, environment).await,
        Command::Logs(args) => commands::logs::logs(&args, environment).await,
        Command::Init(args) => commands::init::init(&args),
        Command::Server(args) => commands::server::server(&args, environment).await,
        Command::Agent(args) => commands::agent::agent(&args, environment).await,
        Command::Up(args) => commands::up::up(args, environment).await,
        Command::Sync(args) => commands::sync::sync(&args, environment).await,
        Command::Token(command) => commands::token::token(command, environment).await,
        Command::Artifact(command) => commands::artifact::artifact(command, environment).await,
        Command::User(command) => commands::user::user(command, environment).await,
        Command::Schema => {
            output::println(&serde_json::to_string_pretty(&gantry_model::json_schema())?)?;
            Ok(ExitStatus::Success)
        }
    }
}

/// What kind of error the chain holds, for its exit status and its hint.
enum Kind<'a> {
    /// The diagnostics of the pipeline file.
    InvalidPipeline(&'a Diagnostics),
    /// The input must change (exit 2).
    Usage(Option<&'a str>),
    /// Stopped before anything ran (exit 130).
    Cancelled,
    /// Failed at its job (exit 1), perhaps with a next step.
    Failure(Option<&'a str>),
}

fn kind(err: &anyhow::Error) -> Kind<'_> {
    for cause in err.chain() {
        if let Some(error) = cause.downcast_ref::<CommandError>() {
            let hint = error.hint.as_deref();
            return match error.status() {
                ExitStatus::Usage => Kind::Usage(hint),
                _ => Kind::Failure(hint),
            };
        }
        match cause.downcast_ref::<gantry_runner::Error>() {
            Some(gantry_runner::Error::InvalidPipeline { diagnostics }) => {
                return Kind::InvalidPipeline(diagnostics);
            }
            Some(gantry_runner::Error::Refused { hint, .. }) => return Kind::Usage(hint.as_deref()),
            Some(gantry_runner::Error::Cancelled) => return Kind::Cancelled,
            // The token is the user's to fix before anything can run.
            Some(gantry_runner::Error::ServerBuild {
                source: gantry_client::ClientError::Refused { status: 401, .. },
                ..
            }) => {
                return Kind::Usage(Some(
                    "the server does not know the token in `GANTRY_TOKEN` (revoked, or another server's?)",
                ));
            }
            Some(gantry_runner::Error::ServerBuild {
                source: gantry_client::ClientError::Refused { status: 403, .. },
                ..
            }) => {
                return Kind::Usage(Some(
                    "reporting runs needs a token with the `report` scope in `GANTRY_TOKEN`",
                ));
            }
            _ => {}
        }
    }
    Kind::Failure(None)
}

/// Whether stderr is a terminal that wants colour (`NO_COLOR` unset or empty).
fn colour() -> bool {
    std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The `error` or `warning` label, red or yellow when stderr is a terminal that wants colour.
fn label(word: &str) -> String {
    match (colour(), word) {
        (true, "error") => word.red().bold().to_string(),
        (true, _) => word.yellow().bold().to_string(),
        (false, _) => word.to_owned(),
    }
}

/// Prints an error on stderr in the one voice of the CLI and picks its exit status: the error,
/// each of its causes, and a hint when there is an obvious next step. Commands that go on after
/// an error (`up` serving after a failed run, `sync` sending the other runs) report it here too.
pub(crate) fn report_error(err: &anyhow::Error) -> ExitStatus {
    report(err, false)
}

/// [`report_error`], for a command that prints JSON (`json`): the diagnostics of an invalid
/// pipeline file go to stdout as one JSON document, `{"diagnostics": [...]}`, spans and all.
fn report(err: &anyhow::Error, json: bool) -> ExitStatus {
    if output::is_broken_pipe(err) {
        return ExitStatus::Success;
    }
    let label = label("error");
    let (status, hint) = match kind(err) {
        Kind::InvalidPipeline(diagnostics) => {
            if json {
                let document = serde_json::json!({ "diagnostics": diagnostics });
                // A reader that went away has nothing left to be told.
                let _ = output::println(&document.to_string());
            } else {
                eprintln!("{}\n", diagnostics.render(colour()));
            }
            eprintln!("{label}: the pipeline file is invalid; nothing ran");
            return ExitStatus::Usage;
        }
        Kind::Usage(hint) => (ExitStatus::Usage, hint),
        Kind::Cancelled => (ExitStatus::Cancelled, None),
        Kind::Failure(hint) => (ExitStatus::Failure, hint),
    };
    eprintln!("{label}: {err}");
    for cause in err.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
    if let Some(hint) = hint {
        eprintln!("  hint: {hint}");
    }
    status
}

/// Prints a warning on stderr (the run went on, but something needs attention).
pub(crate) fn warn(message: &str, hint: Option<&str>) {
    eprintln!("{}: {message}", label("warning"));
    if let Some(hint) = hint {
        eprintln!("  hint: {hint}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exit status and hint of each kind of error, also under a context `up` and `sync` add.
    #[test]
    fn every_error_gets_its_exit_status_and_hint() {
        let refused = || gantry_runner::Error::refused_with_hint("no `gantry.yml`", "run `gantry init`");
        let rows: Vec<(anyhow::Error, ExitStatus, Option<&str>)> = vec![
            (refused().into(), ExitStatus::Usage, Some("run `gantry init`")),
            (
                anyhow::Error::new(refused()).context("not running the pipeline"),
                ExitStatus::Usage,
                Some("run `gantry init`"),
            ),
            (
                gantry_runner::Error::Cancelled.into(),
                ExitStatus::Cancelled,
                None,
            ),
            (
                exit::CommandError::failed("1 run is still in the spool")
                    .hint("sync again")
                    .into(),
                ExitStatus::Failure,
                Some("sync again"),
            ),
            (
                gantry_runner::Error::ServerBuild {
                    url: "http://ci:8080".to_owned(),
                    source: gantry_client::ClientError::Refused {
                        what: "the build number".to_owned(),
                        status: 401,
                        message: "the token is not valid".to_owned(),
                    },
                }
                .into(),
                ExitStatus::Usage,
                Some("the server does not know the token in `GANTRY_TOKEN` (revoked, or another server's?)"),
            ),
            (CommandError::usage("bad").into(), ExitStatus::Usage, None),
            (anyhow::anyhow!("disk full"), ExitStatus::Failure, None),
        ];
        for (err, status, hint) in rows {
            let (got_status, got_hint) = match kind(&err) {
                Kind::InvalidPipeline(_) => (ExitStatus::Usage, None),
                Kind::Usage(hint) => (ExitStatus::Usage, hint),
                Kind::Cancelled => (ExitStatus::Cancelled, None),
                Kind::Failure(hint) => (ExitStatus::Failure, hint),
            };
            assert_eq!((got_status, got_hint), (status, hint), "{err:#}");
        }
        let invalid = gantry_runner::Error::InvalidPipeline {
            diagnostics: Diagnostics(vec![gantry_model::Diagnostic::whole_file("gantry.yml", "x")]),
        };
        assert!(
            matches!(kind(&invalid.into()), Kind::InvalidPipeline(diagnostics) if diagnostics.0[0].path == "gantry.yml")
        );
    }
}
