//! `gantry sync`: send what `gantry run --server` kept in the spool while the server was away.

use gantry_runner::{Environment, Synced, workspace};

use crate::args::SyncArgs;
use crate::exit::{CommandError, ExitStatus};

pub async fn sync(args: &SyncArgs, environment: &Environment) -> anyhow::Result<ExitStatus> {
    let cwd = std::env::current_dir()?;
    let spool = workspace::store_root(&cwd)
        .join(workspace::STATE_DIR)
        .join("spool");
    // `--server`, else `GANTRY_SERVER`, else the server each run was reported to.
    let server = environment.server(args.server.as_deref(), false);
    let mut failed = 0;
    let each = |run: Synced| match run.sent {
        Ok(()) => println!("run {}: sent {} events to {}", run.run_id, run.events, run.server),
        Err(err) => {
            failed += 1;
            crate::report_error(
                &anyhow::Error::new(err)
                    .context(format!("failed to send run {} to {}", run.run_id, run.server)),
            );
        }
    };
    let count = gantry_runner::sync(&spool, server.as_ref(), environment.token.as_ref(), each).await?;
    if count == 0 {
        println!("nothing to send: the spool is empty");
        return Ok(ExitStatus::Success);
    }
    if failed > 0 {
        let runs = if failed == 1 {
            "1 run is".to_owned()
        } else {
            format!("{failed} runs are")
        };
        let mut hint = "`gantry sync` again once the server answers".to_owned();
        if environment.token.is_none() {
            hint.push_str("; the server may need a token: set `GANTRY_TOKEN`");
        }
        return Err(CommandError::failed(format!("{runs} still in the spool"))
            .hint(hint)
            .into());
    }
    Ok(ExitStatus::Success)
}
