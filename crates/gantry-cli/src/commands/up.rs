//! `gantry up`: a local server with the web UI on an embedded SQLite store, and one run of the
//! current directory's pipeline recorded in it; then serves until Ctrl-C.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};

use gantry_runner::{ChosenBy, Destination, Environment, PreparedRun, RunSettings, StoreLocation};
use gantry_server::{Server, ServerConfig, is_postgres_url};

use crate::args::UpArgs;
use crate::commands::run::{checkout, execute, status};
use crate::commands::server::{announce, shutdown_signal};
use crate::exit::{CommandError, ExitStatus};
use crate::reporter::{Terminal, TerminalReporter};

pub async fn up(args: UpArgs, environment: &Environment) -> anyhow::Result<ExitStatus> {
    // Warnings only by default: the run's terminal view shares stderr's terminal.
    crate::logging::init(args.log.log_format, "warn");
    let checkout = checkout(&args.pipeline)?;
    let located = if args.no_run { None } else { checkout.locate().ok() };
    // The store `gantry run` would record into: the one named, else the pipeline's project's.
    let mut location = StoreLocation::resolve(args.store.db.as_deref(), environment, &checkout.dir)?;
    if let (ChosenBy::Project(_), Some(workspace)) = (&location.chosen_by, &located) {
        location = StoreLocation::of_project(&workspace.root);
    }
    if is_postgres_url(&location.url) {
        return Err(CommandError::usage(format!(
            "`gantry up` serves an embedded SQLite store, not the PostgreSQL database {location}"
        ))
        .hint("serve PostgreSQL with `gantry server --db URL --artifacts …`, or pass `--db sqlite://PATH`")
        .into());
    }
    location.prepare()?;
    let created = !location.exists();
    let config = ServerConfig {
        artifacts: None,
        // A local, loopback server: reading needs no token; reporting and admin still do.
        anonymous_read: true,
        admin_token: std::env::var("GANTRY_ADMIN_TOKEN")
            .ok()
            .filter(|token| !token.is_empty()),
        max_upload_bytes: gantry_server::DEFAULT_MAX_UPLOAD_BYTES,
        ..ServerConfig::new(
            match args.listen {
                Some(address) => address,
                None => default_listen()?,
            },
            location.url.clone(),
        )
    };
    let server = Server::bind(config).await?;
    announce(&server, &location, created);
    let url = format!("http://{}", server.local_addr());
    let store = server.store().clone();
    let serving = tokio::spawn(server.serve(async {
        shutdown_signal().await;
        // The log shows warnings only, by default: say it here for the person at the terminal.
        eprintln!("shutting down: finishing requests in flight");
    }));

    if located.is_some() {
        // The in-process run records straight into the server's store: the embedded agent.
        let settings = RunSettings::new(checkout, Destination::Store(store));
        match PreparedRun::new(settings) {
            Ok(prepared) => {
                let app = prepared.app().to_owned();
                let mut reporter = TerminalReporter::new(Terminal::detect(), prepared.plan());
                match execute(prepared, &mut reporter).await {
                    Ok(outcome) => {
                        let word = match status(outcome.result) {
                            ExitStatus::Success => "succeeded",
                            ExitStatus::Cancelled => "was cancelled",
                            ExitStatus::Failure | ExitStatus::Usage => "failed",
                        };
                        println!("\nthe run of `{app}` {word}; see it at {url}/apps/{app}");
                    }
                    Err(err) => {
                        crate::report_error(
                            &anyhow::Error::new(err).context(format!("the run of `{app}` failed")),
                        );
                    }
                }
            }
            Err(err) => {
                crate::report_error(&anyhow::Error::new(err).context("not running the pipeline"));
            }
        }
    }
    println!("\nopen {url} in your browser; Ctrl-C stops the server");
    serving.await??;
    Ok(ExitStatus::Success)
}

/// The loopback's port 8080, or the next free one up to 8099 when another program (another
/// `gantry up`, say) has it.
fn default_listen() -> Result<SocketAddr, CommandError> {
    let at = |port| SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    (8080..=8099)
        .map(at)
        .find(|address| TcpListener::bind(address).is_ok())
        .ok_or_else(|| {
            CommandError::usage("ports 8080 to 8099 of 127.0.0.1 are all taken")
                .hint("choose an address with `--listen` (`127.0.0.1:0` takes any free port)")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_default_port_moves_on_to_a_free_one() {
        let Ok(first) = default_listen() else {
            return; // All taken by others: nothing to check.
        };
        let Ok(_held) = TcpListener::bind(first) else {
            return; // Taken meanwhile by someone else: nothing to check.
        };
        let next = default_listen().unwrap();
        assert_ne!(next, first);
        assert!((8080..=8099).contains(&next.port()), "{next}");
    }
}
