//! `gantry sync`: send what `gantry run --server` kept in the spool while the server was away.

use gantry_client::{Client, Spool};

use crate::args::SyncArgs;
use crate::exit::{ExitStatus, UsageError};
use crate::workspace;

pub async fn sync(args: &SyncArgs) -> anyhow::Result<ExitStatus> {
    let root = workspace::current_root()?;
    let spool = Spool::new(root.join(workspace::STATE_DIR).join("spool"));
    let runs = spool.pending()?;
    if runs.is_empty() {
        println!("nothing to send: the spool is empty");
        return Ok(ExitStatus::Success);
    }
    let token = std::env::var("GANTRY_TOKEN")
        .ok()
        .filter(|token| !token.is_empty());
    let mut failed = 0;
    for mut run in runs {
        let url = args.server.clone().unwrap_or_else(|| run.server().to_owned());
        let client = Client::new(&url, token.clone()).map_err(|err| UsageError::new(err.to_string()))?;
        let unsent = run.unsent()?.len();
        let finished = run.is_finished()?;
        match gantry_client::send(&client, &mut run, finished).await {
            Ok(()) => println!("run {}: sent {unsent} events to {url}", run.run_id()),
            Err(err) => {
                failed += 1;
                eprintln!("error: run {}: {err}", run.run_id());
            }
        }
    }
    if failed > 0 {
        let runs = if failed == 1 {
            "1 run is".to_owned()
        } else {
            format!("{failed} runs are")
        };
        eprintln!("  hint: {runs} still in the spool; `gantry sync` again once the server answers");
        if token.is_none() {
            eprintln!("  hint: the server may need a token: set `GANTRY_TOKEN`");
        }
        return Ok(ExitStatus::Failure);
    }
    Ok(ExitStatus::Success)
}
