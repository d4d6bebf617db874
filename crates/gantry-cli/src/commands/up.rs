//! `gantry up`: a local server with the web UI on an embedded SQLite store, and one run of the
//! current directory's pipeline recorded in it; then serves until Ctrl-C.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};

use gantry_runner::{Destination, PreparedRun, RunSettings, workspace};
use gantry_server::{Server, ServerConfig};

use crate::args::UpArgs;
use crate::commands::run::{checkout, execute, status};
use crate::commands::server::{announce, shutdown_signal};
use crate::exit::{ExitStatus, UsageError};
use crate::reporter::{Terminal, TerminalReporter};

pub async fn up(args: UpArgs) -> anyhow::Result<ExitStatus> {
    let checkout = checkout(&args.pipeline)?;
    let located = if args.no_run { None } else { checkout.locate().ok() };
    let data = if let Some(dir) = &args.data {
        fs_err::create_dir_all(dir)?;
        dir.clone()
    } else {
        let root = located
            .as_ref()
            .map_or_else(|| workspace::store_root(&checkout.dir), |ws| ws.root.clone());
        workspace::ensure_state_dir(&root)?
    };
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
            format!("sqlite://{}", data.join("gantry.db").display()),
        )
    };
    let server = Server::bind(config).await?;
    announce(&server);
    let url = format!("http://{}", server.local_addr());
    let store = server.store().clone();
    let serving = tokio::spawn(server.serve(shutdown_signal()));

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
fn default_listen() -> Result<SocketAddr, UsageError> {
    let at = |port| SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    (8080..=8099)
        .map(at)
        .find(|address| TcpListener::bind(address).is_ok())
        .ok_or_else(|| {
            UsageError::new("ports 8080 to 8099 of 127.0.0.1 are all taken")
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
