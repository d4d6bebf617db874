//! `gantry token create`: an API token, created straight in the server's store: a user's
//! (`--user`, who must have been added) or a machine token.

use crate::args::TokenCommand;
use crate::exit::{ExitStatus, UsageError};

pub async fn token(command: TokenCommand) -> anyhow::Result<ExitStatus> {
    match command {
        TokenCommand::Create(args) => {
            let store = gantry_store::Store::open(&args.db).await?;
            let secret = gantry_server::create_token(&store, &args.name, &args.scopes, args.user.as_deref())
                .await
                .map_err(|err| {
                    let error = UsageError::new(format!("cannot create token `{}`: {err}", args.name));
                    match (&err, &args.user) {
                        (
                            gantry_server::CreateTokenError::Token(gantry_store::TokenError::UnknownUser {
                                ..
                            }),
                            Some(user),
                        ) => error.hint(format!("add the user first: `gantry user add {user}`")),
                        _ => error,
                    }
                })?;
            println!("{secret}");
            let owner = match &args.user {
                Some(user) => format!("for user `{user}`"),
                None => "as a machine token".to_owned(),
            };
            eprintln!(
                "token `{}` created {owner} with scopes {}; the secret above is shown once",
                args.name,
                args.scopes.join(",")
            );
            Ok(ExitStatus::Success)
        }
    }
}
