//! The `gantry` command line.
//!
//! - [`args`]: the command line as clap types.
//! - [`commands`]: one module a command (`run`, `plan`, `history`, `show`, `logs`, `init`,
//!   `server`, `up`, `sync`, `token`).
//! - [`reporter`]: the terminal view of a run (prefixed output, progress line, summary).
//! - [`workspace`]: finding the repository root, the pipeline file, the library and the store.
//! - [`git`]: revision, branch and traceability of a run.
//! - [`secrets`]: secret values from a file or the environment.
//! - [`exit`]: exit codes, mapped in one place.
//! - [`output`]: data on stdout, quietly ending when the reader goes away.
//!
//! [`main`] parses arguments, runs one command and maps its result to an exit code; errors are
//! printed here and nowhere else.

pub mod args;
pub mod commands;
pub mod exit;
pub mod git;
pub mod output;
pub mod reporter;
pub mod secrets;
pub mod workspace;

use std::process::ExitCode;

use clap::Parser as _;
use owo_colors::OwoColorize as _;

use crate::args::{Cli, Command};
use crate::exit::{ExitStatus, InvalidPipeline, UsageError};

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
    match runtime.block_on(dispatch(cli.command)) {
        Ok(status) => status.into(),
        Err(err) => report_error(&err).into(),
    }
}

async fn dispatch(command: Command) -> anyhow::Result<ExitStatus> {
    match command {
        Command::Run(args) => commands::run::run(args).await,
        Command::Plan(args) => commands::plan::plan(&args),
        Command::History(args) => commands::history::history(&args).await,
        Command::Show(args) => commands::show::show(&args).await,
        Command::Logs(args) => commands::logs::logs(&args).await,
        Command::Init(args) => commands::init::init(&args),
        Command::Server(args) => commands::server::server(&args).await,
        Command::Up(args) => commands::up::up(args).await,
        Command::Sync(args) => commands::sync::sync(&args).await,
        Command::Token(command) => commands::token::token(command).await,
        Command::Schema => {
            output::println(&serde_json::to_string_pretty(&gantry_model::json_schema())?)?;
            Ok(ExitStatus::Success)
        }
    }
}

/// Prints an error on stderr in the one voice of the CLI and picks its exit status.
fn report_error(err: &anyhow::Error) -> ExitStatus {
    if output::is_broken_pipe(err) {
        return ExitStatus::Success;
    }
    let color = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let label = if color {
        "error".red().bold().to_string()
    } else {
        "error".to_owned()
    };
    if let Some(invalid) = err.downcast_ref::<InvalidPipeline>() {
        eprint!("{invalid}");
        if !invalid.0.ends_with('\n') {
            eprintln!();
        }
        eprintln!("{label}: the pipeline file is invalid; nothing ran");
        return ExitStatus::Usage;
    }
    if let Some(usage) = err.downcast_ref::<UsageError>() {
        eprintln!("{label}: {usage}");
        if let Some(hint) = &usage.hint {
            eprintln!("  hint: {hint}");
        }
        return ExitStatus::Usage;
    }
    eprintln!("{label}: {err}");
    for cause in err.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
    ExitStatus::Failure
}
