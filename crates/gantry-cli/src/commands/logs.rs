//! `gantry logs RUN [TASK]`: a run's log (every task, prefixed) or one task's, from the local
//! store or a server, read in pages so a huge log is never held in memory whole; a retried
//! task's attempts each under a header saying how it ended, and with `--timestamps` each line
//! after its time.

use std::io::Write as _;

use gantry_server::log_text::TextOptions;

use crate::args::LogsArgs;
use crate::commands::source::Source;
use crate::exit::{CommandError, ExitStatus};

pub async fn logs(args: &LogsArgs, environment: &gantry_runner::Environment) -> anyhow::Result<ExitStatus> {
    let source = Source::open(&args.source, environment).await?;
    let run = source.find_run(&args.run).await?;
    let paths: Vec<String> = match &args.task {
        Some(task) => {
            let matches: Vec<&str> = run
                .tasks
                .iter()
                .map(|record| record.path.as_str())
                .filter(|path| *path == task || path.rsplit('/').next() == Some(task.as_str()))
                .collect();
            match matches.as_slice() {
                [] => {
                    let known: Vec<&str> = run.tasks.iter().map(|record| record.path.as_str()).collect();
                    return Err(
                        CommandError::usage(format!("run `{}` has no task `{task}`", args.run))
                            .hint(format!("its tasks are: {}", known.join(", ")))
                            .into(),
                    );
                }
                [one] => vec![(*one).to_owned()],
                several if several.contains(&task.as_str()) => vec![task.clone()],
                several => {
                    return Err(CommandError::usage(format!(
                        "`{task}` names several tasks: {}",
                        several.join(", ")
                    ))
                    .hint("use the task's full path")
                    .into());
                }
            }
        }
        None => run.tasks.iter().map(|record| record.path.clone()).collect(),
    };
    let prefix = args.task.is_none();
    let width = paths.iter().map(|path| path.chars().count()).max().unwrap_or(0);
    let mut stdout = std::io::stdout().lock();
    let options = TextOptions {
        timestamps: args.timestamps,
    };
    for path in &paths {
        let attempts = run
            .tasks
            .iter()
            .find(|task| &task.path == path)
            .map_or(0, |task| task.attempts);
        source
            .task_log(&run.summary.id, path, attempts, options, |line| {
                if prefix {
                    writeln!(stdout, "{path:<width$} │ {line}")
                } else {
                    writeln!(stdout, "{line}")
                }
            })
            .await?;
    }
    Ok(ExitStatus::Success)
}
