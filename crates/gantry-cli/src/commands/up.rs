//! `gantry up`: a local server with the web UI on an embedded SQLite store, and one run of the
//! current directory's pipeline recorded in it; then serves until Ctrl-C.

use gantry_server::{Server, ServerConfig};

use crate::args::{RunArgs, SelectionArgs, StoreArgs, UpArgs};
use crate::commands::run::{self, Recorder};
use crate::commands::server::{announce, shutdown_signal};
use crate::exit::ExitStatus;
use crate::workspace;

pub async fn up(args: UpArgs) -> anyhow::Result<ExitStatus> {
    let located = if args.no_run {
        None
    } else {
        workspace::locate(&args.pipeline).ok()
    };
    let data = if let Some(dir) = &args.data {
        fs_err::create_dir_all(dir)?;
        dir.clone()
    } else {
        let root = located
            .as_ref()
            .map_or_else(workspace::current_root, |ws| Ok(ws.root.clone()))?;
        workspace::ensure_state_dir(&root)?
    };
    let config = ServerConfig {
        artifact_dir: None,
        // A local, loopback server: reading needs no token; reporting and admin still do.
        anonymous_read: true,
        admin_token: std::env::var("GANTRY_ADMIN_TOKEN")
            .ok()
            .filter(|token| !token.is_empty()),
        max_upload_bytes: gantry_server::DEFAULT_MAX_UPLOAD_BYTES,
        ..ServerConfig::new(
            args.listen,
            format!("sqlite://{}", data.join("gantry.db").display()),
        )
    };
    let server = Server::bind(config).await?;
    announce(&server);
    let url = format!("http://{}", server.local_addr());
    let store = server.store().clone();
    let serving = tokio::spawn(server.serve(shutdown_signal()));

    if located.is_some() {
        let run_args = RunArgs {
            pipeline: args.pipeline,
            selection: SelectionArgs {
                to: None,
                only: None,
                branch: None,
            },
            store: StoreArgs { db: None },
            server: None,
            mock: false,
            fail: Vec::new(),
            json: false,
            jobs: None,
            secrets_file: None,
            require_traceable: false,
            grace: gantry_engine::DEFAULT_GRACE,
        };
        // The in-process run records straight into the server's store: the embedded agent.
        match run::prepare(&run_args) {
            Ok(prepared) => {
                let app = prepared.pipeline.app.clone();
                let status = run::execute(&run_args, prepared, Recorder::Store(store)).await;
                match status {
                    Ok(status) => {
                        let word = match status {
                            ExitStatus::Success => "succeeded",
                            ExitStatus::Cancelled => "was cancelled",
                            ExitStatus::Failure | ExitStatus::Usage => "failed",
                        };
                        println!("\nthe run of `{app}` {word}; see it at {url}/apps/{app}");
                    }
                    Err(err) => eprintln!("error: the run of `{app}` failed to start: {err:#}"),
                }
            }
            Err(err) => eprintln!("error: not running the pipeline: {err:#}"),
        }
    }
    println!("\nopen {url} in your browser; Ctrl-C stops the server");
    serving.await??;
    Ok(ExitStatus::Success)
}
