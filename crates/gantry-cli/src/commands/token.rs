//! `gantry token create`: an API token, created straight in the server's store.

use crate::args::TokenCommand;
use crate::exit::{ExitStatus, UsageError};

pub async fn token(command: TokenCommand) -> anyhow::Result<ExitStatus> {
    match command {
        TokenCommand::Create(args) => {
            let store = gantry_store::Store::open(&args.db).await?;
            let secret = gantry_server::create_token(&store, &args.name, &args.scopes)
                .await
                .map_err(|err| UsageError::new(format!("cannot create token `{}`: {err}", args.name)))?;
            println!("{secret}");
            eprintln!(
                "token `{}` created with scopes {}; the secret above is shown once",
                args.name,
                args.scopes.join(",")
            );
            Ok(ExitStatus::Success)
        }
    }
}
