//! `gantry server`: the build data repository server, until Ctrl-C or SIGTERM.
//!
//! Its store is found as every command finds one (`--db`, `GANTRY_DB`, the project's
//! `.gantry/gantry.db`); it creates a new one only where it was named on purpose, and says on
//! start which store and which artifact location it serves.

use gantry_runner::{Environment, StoreLocation};
use gantry_server::{Server, ServerConfig, is_postgres_url};

use crate::args::ServerArgs;
use crate::exit::{CommandError, ExitStatus};

pub async fn server(args: &ServerArgs, environment: &Environment) -> anyhow::Result<ExitStatus> {
    crate::logging::init(args.log.log_format, "info");
    let location = StoreLocation::resolve(args.db.as_deref(), environment, &std::env::current_dir()?)?;
    // A store found (not named) must be there: an empty new one is not what anyone starting a
    // server in a project means to serve.
    if !location.is_named() {
        location.require_existing()?;
    }
    if is_postgres_url(&location.url) && args.artifacts.is_none() {
        return Err(CommandError::usage(
            "a PostgreSQL store needs `--artifacts`: there is no file to keep artifacts beside",
        )
        .hint(
            "pass `--artifacts s3://BUCKET/PREFIX` or `--artifacts DIR` (or set `GANTRY_ARTIFACTS`), the same for every replica",
        )
        .into());
    }
    let created = !location.exists();
    let config = ServerConfig {
        artifacts: args.artifacts.clone(),
        anonymous_read: args.anonymous_read,
        admin_token: std::env::var("GANTRY_ADMIN_TOKEN")
            .ok()
            .filter(|token| !token.is_empty()),
        max_upload_bytes: args.max_upload_bytes,
        trust_proxy: args.trust_proxy,
        job_lease: args.job_lease,
        ..ServerConfig::new(args.listen, location.url.clone())
    };
    let server = Server::bind(config).await?;
    announce(&server, &location, created);
    // The server logs its shutdown: stderr is its log, JSON lines with `--log-format json`.
    server.serve(shutdown_signal()).await?;
    Ok(ExitStatus::Success)
}

/// Prints where the server listens, which store and artifact location it serves (the store's
/// password hidden), and, on its first start, the bootstrap admin token.
///
/// A reader that stops reading after the address (a script, a test) must not stop the server:
/// a line that cannot be written is dropped.
pub(crate) fn announce(server: &Server, location: &StoreLocation, created: bool) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    let new = if created { ", created now" } else { "" };
    let _ = writeln!(
        stdout,
        "gantry server listening on http://{}",
        server.local_addr()
    );
    let _ = writeln!(
        stdout,
        "store: {} ({location}{new})",
        gantry_server::config::redact_password(&location.url)
    );
    let _ = writeln!(stdout, "artifacts: {}", server.store().artifacts().location());
    if let Some(token) = server.bootstrap_token() {
        let _ = writeln!(
            stdout,
            "bootstrap admin token (shown once, keep it safe): {token}"
        );
    }
    let _ = stdout.flush();
}

/// Resolves on Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    if let Ok(mut terminate) = signal(SignalKind::terminate()) {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    } else {
        let _ = tokio::signal::ctrl_c().await;
    }
}
