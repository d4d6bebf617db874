//! `gantry plan`: what would run and in which order; nothing is executed and nothing recorded.

use std::fmt::Write as _;

use gantry_model::{Pipeline, Plan, PlanNode};

use gantry_runner::git;
use gantry_runner::prepared::refused_selection;

use crate::args::PlanArgs;
use crate::commands::run::checkout;
use crate::commands::selection;
use crate::exit::ExitStatus;
use crate::output;

pub fn plan(args: &PlanArgs) -> anyhow::Result<ExitStatus> {
    let workspace = checkout(&args.pipeline)?.locate()?;
    let pipeline = workspace.load_pipeline()?;
    let branch = args
        .selection
        .branch
        .clone()
        .or_else(|| git::inspect(&workspace.root).branch);
    let plan = Plan::new(&pipeline, branch.as_deref(), &selection(&args.selection))
        .map_err(|err| refused_selection(&err))?;
    if args.json {
        let json = serde_json::json!({
            "app": pipeline.app,
            "version": pipeline.version,
            "branch": branch,
            "plan": plan,
        });
        output::println(&serde_json::to_string_pretty(&json)?)?;
    } else {
        output::print(&render(&pipeline, branch.as_deref(), &plan))?;
    }
    Ok(ExitStatus::Success)
}

/// The plan as a person reads it: numbered steps; tasks of one step run concurrently.
pub fn render(pipeline: &Pipeline, branch: Option<&str>, plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "app `{}`, version `{}`, branch {}",
        pipeline.app,
        pipeline.version,
        branch.map_or_else(|| "(none)".to_owned(), |b| format!("`{b}`"))
    );
    let mut step = 0;
    if !plan.setup.is_empty() {
        step += 1;
        let _ = writeln!(out, "\n{step}. setup (every task runs, one after another)");
        for node in &plan.setup {
            render_node(&mut out, node, 1);
        }
    }
    for stage in &plan.stages {
        step += 1;
        let mode = match (&stage.skipped, stage.parallel) {
            (Some(reason), _) => format!("skipped: {reason}"),
            (None, true) => "parallel: these run concurrently".to_owned(),
            (None, false) => "serial".to_owned(),
        };
        let _ = writeln!(out, "\n{step}. stage `{}` ({mode})", stage.name);
        for node in &stage.nodes {
            render_node(&mut out, node, 1);
        }
    }
    if !plan.finally.is_empty() {
        step += 1;
        let _ = writeln!(out, "\n{step}. finally (always runs)");
        for node in &plan.finally {
            render_node(&mut out, node, 1);
        }
    }
    out
}

fn render_node(out: &mut String, node: &PlanNode, depth: usize) {
    let indent = "   ".repeat(depth);
    let skipped = node
        .skipped()
        .map(|reason| format!("  [skipped: {reason}]"))
        .unwrap_or_default();
    match node {
        PlanNode::Task { path, task, .. } => {
            let command = match &task.kind {
                gantry_model::TaskKind::Run { script } => {
                    script.lines().next().unwrap_or("").trim().to_owned()
                }
                gantry_model::TaskKind::Group { .. } => String::new(),
            };
            let _ = writeln!(out, "{indent}- {}  $ {command}{skipped}", path.name());
        }
        PlanNode::Group { path, nodes, .. } => {
            let _ = writeln!(out, "{indent}- {} (serial group){skipped}", path.name());
            for child in nodes {
                render_node(out, child, depth + 1);
            }
        }
    }
}
