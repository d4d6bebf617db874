//! `gantry user add`: a user, added straight in the server's store (`--db`, `GANTRY_DB`, the
//! project's store; it must exist), whom tokens can then act for. Users are added on purpose, never as a side effect of creating a token, so that a
//! misspelt name is refused instead of becoming a second identity in approvals and the audit
//! log.

use crate::args::UserCommand;
use crate::exit::{CommandError, ExitStatus};

pub async fn user(
    command: UserCommand,
    environment: &gantry_runner::Environment,
) -> anyhow::Result<ExitStatus> {
    match command {
        UserCommand::Add(args) => {
            let store = crate::commands::open_store(&args.store, environment).await?;
            match store.add_user(&args.name, args.email.as_deref()).await {
                Ok(()) => {}
                Err(gantry_store::UserError::Store(err)) => return Err(err.into()),
                Err(err) => {
                    return Err(
                        CommandError::usage(format!("cannot add user `{}`: {err}", args.name)).into(),
                    );
                }
            }
            eprintln!(
                "user `{}` added; `gantry token create --name NAME --user {}` makes them a token",
                args.name, args.name
            );
            Ok(ExitStatus::Success)
        }
    }
}
