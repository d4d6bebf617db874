//! `gantry history`: recorded runs, newest first.

use std::fmt::Write as _;

use gantry_api::RunSummary;
use gantry_store::RunFilter;

use crate::args::HistoryArgs;
use crate::commands::source::Source;
use crate::exit::ExitStatus;
use crate::output;
use crate::reporter::format_seconds;

pub async fn history(
    args: &HistoryArgs,
    environment: &gantry_runner::Environment,
) -> anyhow::Result<ExitStatus> {
    let source = Source::open(&args.source, environment).await?;
    let filter = RunFilter {
        app: args.app.clone(),
        limit: Some(args.limit),
        ..RunFilter::default()
    };
    let runs = source.list_runs(&filter).await?;
    if args.json {
        output::println(&serde_json::to_string_pretty(&runs)?)?;
    } else if runs.is_empty() && args.app.is_some() {
        output::println("no runs of this app")?;
    } else if runs.is_empty() {
        output::println("no runs recorded yet; `gantry run` records one")?;
    } else {
        output::print(&render(&runs))?;
    }
    Ok(ExitStatus::Success)
}

/// The runs as a table.
fn render(runs: &[RunSummary]) -> String {
    let rows: Vec<[String; 8]> = runs
        .iter()
        .map(|run| {
            [
                format!("{}#{}", run.app, run.build),
                run.version.clone(),
                if run.selection.is_all() {
                    run.result.to_string()
                } else {
                    format!("{} (partial)", run.result)
                },
                run.branch.clone().unwrap_or_else(|| "-".to_owned()),
                run.revision
                    .as_deref()
                    .map_or_else(|| "-".to_owned(), |rev| rev.chars().take(7).collect()),
                if run.traceable { "yes" } else { "no" }.to_owned(),
                run.queued_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                run.duration_ms.map_or_else(
                    || "-".to_owned(),
                    |ms| format_seconds(i64::try_from(ms).unwrap_or(i64::MAX)),
                ),
            ]
        })
        .collect();
    let header = [
        "RUN",
        "VERSION",
        "RESULT",
        "BRANCH",
        "REVISION",
        "TRACEABLE",
        "QUEUED (UTC)",
        "DURATION",
    ];
    table(&header, &rows)
}

/// A plain text table with left-aligned columns.
pub(crate) fn table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (index, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            if index + 1 == cells.len() {
                text.push_str(cell);
            } else {
                let _ = write!(text, "{cell:<width$}  ");
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}
