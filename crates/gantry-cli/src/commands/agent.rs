//! `gantry agent`: takes jobs from a server and runs them ([`gantry_runner::agent`]), until
//! stopped. The first Ctrl-C or `SIGTERM` drains (the jobs held finish, no new one is taken,
//! exit 0); the second cancels the jobs held (their `finally` runs, they are recorded
//! `cancelled`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use gantry_runner::agent::{AgentSettings, Phase};
use gantry_runner::{Environment, Escalation, Signals, Token};
use tokio::sync::watch;

use crate::args::AgentArgs;
use crate::exit::{CommandError, ExitStatus};

pub async fn agent(args: &AgentArgs, environment: &Environment) -> anyhow::Result<ExitStatus> {
    crate::logging::init(args.log.log_format, "info");
    let Some(url) = args.server.clone().or_else(|| environment.server.clone()) else {
        return Err(CommandError::usage("an agent needs its server: `--server URL`")
            .hint("or set `GANTRY_SERVER`")
            .into());
    };
    let token = match &args.token {
        Some(secret) => Token::new(secret.clone()),
        None => environment.token.clone(),
    };
    if token.is_none() {
        return Err(
            CommandError::usage("an agent needs a token with the `agent` scope: `--token TOKEN`")
                .hint(
                    "create one with `gantry token create --name NAME --scopes agent`, or set `GANTRY_TOKEN`",
                )
                .into(),
        );
    }
    let labels = parse_labels(&args.labels).map_err(CommandError::usage)?;
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| gantry_store::Owner::current().host);
    let workdir = match &args.workdir {
        Some(dir) => dir.clone(),
        None => default_workdir(),
    };
    let settings = AgentSettings {
        server: gantry_runner::ServerSettings::new(url, token),
        name,
        labels,
        concurrency: args.concurrency.max(1),
        workdir,
        grace: gantry_runner::agent::DEFAULT_GRACE,
    };
    let (phase, watched) = watch::channel(Phase::Running);
    let signals = Signals::listen()?;
    let listening = tokio::spawn(signals.stop(gantry_runner::Stop::new(), move |escalation| {
        let next = match escalation {
            Escalation::Cancel => Phase::Draining,
            Escalation::Force | Escalation::AlreadyStopping => Phase::Cancelling,
        };
        if next == Phase::Draining {
            tracing::info!("draining: the jobs held finish, no new one is taken");
        } else {
            tracing::warn!("cancelling the jobs held");
        }
        let _ = phase.send(next);
    }));
    tracing::info!(name = %settings.name, labels = ?settings.labels, server = %settings.server.url, "agent started");
    let served = gantry_runner::agent::serve(settings, watched).await;
    listening.abort();
    let report = served?;
    tracing::info!(jobs = report.jobs, "agent stopped");
    Ok(ExitStatus::Success)
}

/// `k=v,k=v` pairs (each flag may hold several, and the flag may repeat).
fn parse_labels(flags: &[String]) -> Result<BTreeMap<String, String>, String> {
    let mut labels = BTreeMap::new();
    for pair in flags.iter().flat_map(|flag| flag.split(',')) {
        let pair = pair.trim();
        if pair.is_empty() {
            continue;
        }
        let Some((name, value)) = pair.split_once('=') else {
            return Err(format!("label `{pair}` is not `name=value`"));
        };
        let (name, value) = (name.trim(), value.trim());
        if name.is_empty() {
            return Err(format!("label `{pair}` has no name"));
        }
        labels.insert(name.to_owned(), value.to_owned());
    }
    Ok(labels)
}

/// `$XDG_CACHE_HOME/gantry/agent`, else `~/.cache/gantry/agent`, else `.gantry-agent`.
fn default_workdir() -> PathBuf {
    if let Some(cache) = std::env::var_os("XDG_CACHE_HOME").filter(|dir| !dir.is_empty()) {
        return PathBuf::from(cache).join("gantry").join("agent");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|dir| !dir.is_empty()) {
        return PathBuf::from(home).join(".cache").join("gantry").join("agent");
    }
    PathBuf::from(".gantry-agent")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_name_value_pairs() {
        let parsed = parse_labels(&["os=linux, arch=x86_64".to_owned(), "gpu=no".to_owned()]).unwrap();
        assert_eq!(parsed.len(), 3);
        assert_eq!(parsed["arch"], "x86_64");
        assert!(
            parse_labels(&["linux".to_owned()])
                .unwrap_err()
                .contains("`linux`")
        );
        assert!(parse_labels(&["=x".to_owned()]).is_err());
        assert!(parse_labels(&[]).unwrap().is_empty());
    }
}
