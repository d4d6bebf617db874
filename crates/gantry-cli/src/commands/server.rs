//! `gantry server`: the build data repository server, until Ctrl-C or SIGTERM.

use gantry_server::{Server, ServerConfig, is_postgres_url};

use crate::args::ServerArgs;
use crate::exit::{ExitStatus, UsageError};

pub async fn server(args: &ServerArgs) -> anyhow::Result<ExitStatus> {
    if is_postgres_url(&args.db) && args.artifacts.is_none() {
        return Err(UsageError::new(
            "a PostgreSQL store needs `--artifacts`: there is no file to keep artifacts beside",
        )
        .hint(
            "pass `--artifacts s3://BUCKET/PREFIX` or `--artifacts DIR` (or set `GANTRY_ARTIFACTS`), the same for every replica",
        )
        .into());
    }
    let config = ServerConfig {
        artifacts: args.artifacts.clone(),
        anonymous_read: args.anonymous_read,
        admin_token: std::env::var("GANTRY_ADMIN_TOKEN")
            .ok()
            .filter(|token| !token.is_empty()),
        max_upload_bytes: args.max_upload_bytes,
        ..ServerConfig::new(args.listen, args.db.clone())
    };
    let server = Server::bind(config).await?;
    announce(&server);
    server.serve(shutdown_signal()).await?;
    eprintln!("gantry server stopped");
    Ok(ExitStatus::Success)
}

/// Prints where the server listens and, on its first start, the bootstrap admin token.
pub(crate) fn announce(server: &Server) {
    println!("gantry server listening on http://{}", server.local_addr());
    if let Some(token) = server.bootstrap_token() {
        println!("bootstrap admin token (shown once, keep it safe): {token}");
    }
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
    eprintln!("shutting down: finishing requests in flight");
}
