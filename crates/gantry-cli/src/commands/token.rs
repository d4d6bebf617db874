//! `gantry token create | list | revoke`: API tokens, managed straight in the server's store
//! (`--db`, `GANTRY_DB`, the project's store; it must exist) or through a server's API
//! (`--server`, `GANTRY_SERVER`, with an admin token in `GANTRY_TOKEN`). A token acts for a user
//! (`--user`, who must have been added) or is a machine token.

use gantry_api::{CreatedToken, NewToken, TokenInfo, TokenList};
use gantry_client::{ClientError, encode};
use gantry_runner::Environment;
use gantry_server::wire;

use crate::args::{TokenCommand, TokenCreateArgs, TokenListArgs, TokenRevokeArgs};
use crate::commands::history::table;
use crate::commands::source::{Need, Source, refused};
use crate::exit::{CommandError, ExitStatus};
use crate::output;

pub async fn token(command: TokenCommand, environment: &Environment) -> anyhow::Result<ExitStatus> {
    match command {
        TokenCommand::Create(args) => create(&args, environment).await,
        TokenCommand::List(args) => list(&args, environment).await,
        TokenCommand::Revoke(args) => revoke(&args, environment).await,
    }
}

async fn create(args: &TokenCreateArgs, environment: &Environment) -> anyhow::Result<ExitStatus> {
    let source = Source::open_at(&args.source.store, args.source.server.as_deref(), environment).await?;
    let cannot = |reason: &dyn std::fmt::Display| {
        CommandError::usage(format!("cannot create token `{}`: {reason}", args.name))
    };
    let add_user_first = |error: CommandError| match &args.user {
        Some(user) => error.hint(format!("add the user first: `gantry user add {user}`")),
        None => error,
    };
    let secret = match &source {
        Source::Store(store) => {
            gantry_server::create_token(store, &args.name, &args.scopes, args.user.as_deref())
                .await
                .map_err(|err| match &err {
                    gantry_server::CreateTokenError::Token(gantry_store::TokenError::UnknownUser {
                        ..
                    }) => add_user_first(cannot(&err)),
                    _ => cannot(&err),
                })?
        }
        Source::Server { client, token } => {
            let scopes = gantry_server::token::parse_scopes(&args.scopes).map_err(|err| cannot(&err))?;
            let new = NewToken {
                name: args.name.clone(),
                scopes: scopes.into_iter().map(wire::scope).collect(),
                user: args.user.clone(),
            };
            let created: CreatedToken = match client.post_json("/api/v1/tokens", &new, "the new token").await
            {
                Ok(created) => created,
                Err(ClientError::Refused {
                    status: 400 | 409 | 422,
                    message,
                    ..
                }) if args.user.is_some() && message.contains("no user") => {
                    return Err(add_user_first(cannot(&message)).into());
                }
                Err(ClientError::Refused {
                    status: 400 | 409 | 422,
                    message,
                    ..
                }) => return Err(cannot(&message).into()),
                Err(error) => return Err(refused(error, *token, Need::Admin)),
            };
            created.secret
        }
    };
    output::println(&secret)?;
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

async fn list(args: &TokenListArgs, environment: &Environment) -> anyhow::Result<ExitStatus> {
    let source = Source::open_at(&args.source.store, args.source.server.as_deref(), environment).await?;
    let tokens: Vec<TokenInfo> = match &source {
        Source::Store(store) => store
            .list_tokens()
            .await?
            .into_iter()
            .map(wire::token_info)
            .collect(),
        Source::Server { client, token } => {
            let list: TokenList = client
                .get_json("/api/v1/tokens", "the list of tokens")
                .await
                .map_err(|error| refused(error, *token, Need::Admin))?;
            list.tokens
        }
    };
    if args.json {
        output::println(&serde_json::to_string_pretty(&TokenList { tokens })?)?;
    } else if tokens.is_empty() {
        output::println("no tokens; `gantry token create` makes one")?;
    } else {
        output::print(&render(&tokens))?;
    }
    Ok(ExitStatus::Success)
}

/// The tokens as a table, by name.
fn render(tokens: &[TokenInfo]) -> String {
    let rows: Vec<[String; 5]> = tokens
        .iter()
        .map(|token| {
            let scopes: Vec<String> = token
                .scopes
                .iter()
                .map(|scope| scope_name(*scope).to_owned())
                .collect();
            [
                token.name.clone(),
                scopes.join(","),
                token.user.clone().unwrap_or_else(|| "- (machine)".to_owned()),
                token.created_at.format("%Y-%m-%d %H:%M").to_string(),
                token.last_used_at.map_or_else(
                    || "never".to_owned(),
                    |at| at.format("%Y-%m-%d %H:%M").to_string(),
                ),
            ]
        })
        .collect();
    table(
        &["NAME", "SCOPES", "USER", "CREATED (UTC)", "LAST USED (UTC)"],
        &rows,
    )
}

fn scope_name(scope: gantry_api::Scope) -> &'static str {
    match scope {
        gantry_api::Scope::Read => "read",
        gantry_api::Scope::Report => "report",
        gantry_api::Scope::Agent => "agent",
        gantry_api::Scope::Admin => "admin",
    }
}

async fn revoke(args: &TokenRevokeArgs, environment: &Environment) -> anyhow::Result<ExitStatus> {
    let source = Source::open_at(&args.source.store, args.source.server.as_deref(), environment).await?;
    let name = &args.name;
    let unknown = || {
        CommandError::usage(format!("no token is named `{name}`"))
            .hint("`gantry token list` lists the tokens")
    };
    match &source {
        Source::Store(store) => match store.revoke_token(name).await {
            Ok(true) => {}
            Ok(false) => return Err(unknown().into()),
            Err(gantry_store::TokenError::Store(error)) => return Err(error.into()),
            Err(error) => {
                return Err(CommandError::usage(format!("cannot revoke token `{name}`: {error}")).into());
            }
        },
        Source::Server { client, token } => {
            match client
                .delete(&format!("/api/v1/tokens/{}", encode(name)), "the revocation")
                .await
            {
                Ok(()) => {}
                Err(ClientError::Refused { status: 404, .. }) => return Err(unknown().into()),
                Err(ClientError::Refused {
                    status: 409, message, ..
                }) => {
                    return Err(
                        CommandError::usage(format!("cannot revoke token `{name}`: {message}")).into(),
                    );
                }
                Err(error) => return Err(refused(error, *token, Need::Admin)),
            }
        }
    }
    eprintln!("token `{name}` revoked: requests with it are refused from now on");
    Ok(ExitStatus::Success)
}
