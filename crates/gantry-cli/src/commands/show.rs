//! `gantry show RUN`: one run with its tasks, artifacts and traceability; with `--json`, the
//! run's document as the API gives it (`GET /api/v1/runs/{id}`), CDEvents included.

use std::fmt::Write as _;

use gantry_api::RunDocument;

use crate::args::ShowArgs;
use crate::commands::history::table;
use crate::commands::source::Source;
use crate::exit::ExitStatus;
use crate::output;
use crate::reporter::format_seconds;

pub async fn show(args: &ShowArgs, environment: &gantry_runner::Environment) -> anyhow::Result<ExitStatus> {
    let run = Source::open(&args.source, environment)
        .await?
        .find_run(&args.run)
        .await?;
    if args.json {
        output::println(&serde_json::to_string_pretty(&run)?)?;
    } else {
        output::print(&render(&run))?;
    }
    Ok(ExitStatus::Success)
}

fn render(run: &RunDocument) -> String {
    let summary = &run.summary;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "run        {}#{}  ({})",
        summary.app, summary.build, summary.id
    );
    let _ = writeln!(out, "version    {}", summary.version);
    let _ = writeln!(out, "result     {}", summary.result);
    let _ = writeln!(out, "revision   {}", summary.revision.as_deref().unwrap_or("-"));
    let _ = writeln!(out, "branch     {}", summary.branch.as_deref().unwrap_or("-"));
    let traceable = match (&summary.untraceable_reason, summary.traceable) {
        (_, true) => "yes".to_owned(),
        (Some(reason), false) => format!("no: {reason}"),
        (None, false) => "no".to_owned(),
    };
    let _ = writeln!(out, "traceable  {traceable}");
    if let Some(runner) = &run.runner {
        let _ = writeln!(out, "ran on     {} (pid {})", runner.host, runner.pid);
    }
    let _ = writeln!(out, "queued     {}", summary.queued_at.to_rfc3339());
    if let Some(ms) = summary.duration_ms {
        let _ = writeln!(out, "duration   {}", millis(ms));
    }
    if !summary.selection.is_all() {
        let _ = writeln!(out, "partial    {} (not the whole pipeline)", summary.selection);
    }
    if summary.mock {
        let _ = writeln!(out, "mock       yes (stand-in tasks)");
    }
    if !run.tasks.is_empty() {
        let rows: Vec<[String; 5]> = run
            .tasks
            .iter()
            .map(|task| {
                let mut status = task.status.to_string();
                if task.allowed_failure {
                    status.push_str(" (allowed)");
                }
                if let Some(reason) = &task.skip_reason {
                    status.push_str(&format!(": {reason}"));
                }
                [
                    task.path.clone(),
                    task.attempts.to_string(),
                    task.exit_code
                        .map_or_else(|| "-".to_owned(), |code| code.to_string()),
                    task.duration_ms.map_or_else(|| "-".to_owned(), millis),
                    status,
                ]
            })
            .collect();
        out.push('\n');
        out.push_str(&table(&["TASK", "ATTEMPTS", "EXIT", "DURATION", "RESULT"], &rows));
    }
    if !run.artifacts.is_empty() {
        let rows: Vec<[String; 4]> = run
            .artifacts
            .iter()
            .map(|artifact| {
                [
                    artifact.name.clone(),
                    artifact.size.to_string(),
                    format!("sha256:{}", artifact.sha256),
                    artifact.task_path.clone(),
                ]
            })
            .collect();
        out.push('\n');
        out.push_str(&table(&["ARTIFACT", "BYTES", "DIGEST", "TASK"], &rows));
    }
    out
}

fn millis(ms: u64) -> String {
    format_seconds(i64::try_from(ms).unwrap_or(i64::MAX))
}
