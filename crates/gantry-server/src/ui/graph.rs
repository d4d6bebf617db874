//! The stage graph of a run, drawn from the pipeline definition as it ran: setup, the stages and
//! finally from left to right; a serial stage stacks its tasks as a chain, a parallel stage puts
//! its branches side by side, and a serial group inside one is a chain of its own. Each task is a
//! box in its status colour, with its duration, linking to its log.
//!
//! The recorded tasks fill the boxes in; a task recorded but missing from the definition (or a
//! definition that no longer parses) still gets a box, under its stage.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use gantry_model::{Pipeline, Task, TaskKind};
use gantry_store::{RunDetail, RunStatus, StageRecord, TaskRecord, TaskStatus};
use maud::{Markup, html};

use super::badge;
use super::format;
use super::url;

/// A column of the graph: setup, one stage, or finally.
struct Column<'a> {
    name: String,
    parallel: bool,
    /// Each lane runs beside the others in a parallel column, after the one before in a serial
    /// one.
    lanes: Vec<Node<'a>>,
}

/// A box, or a chain of boxes.
enum Node<'a> {
    Task {
        path: String,
        name: String,
        record: Option<&'a TaskRecord>,
    },
    Group {
        path: String,
        name: String,
        children: Vec<Node<'a>>,
    },
}

/// What the boxes need to know about the run as a whole.
struct Context<'a> {
    run_id: &'a str,
    run_done: bool,
    culprit: Option<&'a str>,
    now: DateTime<Utc>,
}

/// The task that failed the run: the first that failed without `allow_failure`.
pub fn culprit(detail: &RunDetail) -> Option<&TaskRecord> {
    detail.tasks.iter().find(|task| {
        matches!(task.status, TaskStatus::Failure | TaskStatus::TimedOut) && !task.allowed_failure
    })
}

/// The graph of `detail`, as of `now`.
pub fn render(detail: &RunDetail, now: DateTime<Utc>) -> Markup {
    let columns = columns(detail);
    let context = Context {
        run_id: &detail.summary.id,
        run_done: detail.summary.result != RunStatus::Running,
        culprit: culprit(detail).map(|task| task.path.as_str()),
        now,
    };
    html! {
        @if columns.is_empty() {
            p.empty { "No tasks recorded." }
        } @else {
            ol.stages {
                @for column in &columns { (render_column(column, detail, &context)) }
            }
        }
    }
}

/// Whether the task `path` is part of the definition the run was recorded with (or was
/// recorded), so that its log page can exist.
pub fn knows_task(detail: &RunDetail, path: &str) -> bool {
    fn walk(node: &Node<'_>, path: &str) -> bool {
        match node {
            Node::Task { path: own, .. } => own == path,
            Node::Group { children, .. } => children.iter().any(|child| walk(child, path)),
        }
    }
    detail.tasks.iter().any(|task| task.path == path)
        || columns(detail)
            .iter()
            .any(|column| column.lanes.iter().any(|lane| walk(lane, path)))
}

fn columns(detail: &RunDetail) -> Vec<Column<'_>> {
    let mut columns = match serde_json::from_value::<Pipeline>(detail.pipeline.clone()) {
        Ok(pipeline) => from_pipeline(&pipeline, &detail.tasks),
        Err(_) => Vec::new(),
    };
    let mut placed = HashSet::new();
    for column in &columns {
        for lane in &column.lanes {
            collect_paths(lane, &mut placed);
        }
    }
    let placed: HashSet<String> = placed.into_iter().map(str::to_owned).collect();
    for record in detail.tasks.iter().filter(|task| !placed.contains(&task.path)) {
        let node = Node::Task {
            path: record.path.clone(),
            name: record
                .path
                .strip_prefix(&format!("{}/", record.stage))
                .unwrap_or(&record.path)
                .to_owned(),
            record: Some(record),
        };
        if let Some(column) = columns.iter_mut().find(|column| column.name == record.stage) {
            column.lanes.push(node);
        } else {
            // Setup and finally run their tasks side by side, so a column made up from the
            // records alone follows them: a stage's own order is unknown without the definition.
            let parallel = matches!(record.stage.as_str(), "setup" | "finally");
            let column = Column {
                name: record.stage.clone(),
                parallel,
                lanes: vec![node],
            };
            // Finally stays last.
            let at = columns
                .iter()
                .position(|column| column.name == "finally")
                .unwrap_or(columns.len());
            columns.insert(at, column);
        }
    }
    columns
}

fn collect_paths<'a>(node: &'a Node<'_>, out: &mut HashSet<&'a str>) {
    match node {
        Node::Task { path, .. } => {
            out.insert(path.as_str());
        }
        Node::Group { children, .. } => children.iter().for_each(|child| collect_paths(child, out)),
    }
}

fn from_pipeline<'a>(pipeline: &Pipeline, records: &'a [TaskRecord]) -> Vec<Column<'a>> {
    let nodes = |root: &str, tasks: &[Task]| tasks.iter().map(|task| node(root, task, records)).collect();
    let mut columns = Vec::new();
    if !pipeline.setup.is_empty() {
        columns.push(Column {
            name: "setup".into(),
            parallel: true,
            lanes: nodes("setup", &pipeline.setup),
        });
    }
    for stage in &pipeline.stages {
        columns.push(Column {
            name: stage.name.clone(),
            parallel: stage.parallel,
            lanes: nodes(&stage.name, &stage.tasks),
        });
    }
    if !pipeline.finally.is_empty() {
        columns.push(Column {
            name: "finally".into(),
            parallel: true,
            lanes: nodes("finally", &pipeline.finally),
        });
    }
    columns
}

fn node<'a>(root: &str, task: &Task, records: &'a [TaskRecord]) -> Node<'a> {
    let path = format!("{root}/{}", task.name);
    match &task.kind {
        TaskKind::Run { .. } => {
            let record = records.iter().find(|record| record.path == path);
            Node::Task {
                name: task.name.clone(),
                path,
                record,
            }
        }
        TaskKind::Group { tasks } => Node::Group {
            name: task.name.clone(),
            children: tasks.iter().map(|child| node(&path, child, records)).collect(),
            path,
        },
    }
}

/// A column's status: the stage's own where recorded, else made up from its tasks.
fn column_status(column: &Column<'_>, stages: &[StageRecord]) -> Option<TaskStatus> {
    if let Some(stage) = stages.iter().find(|stage| stage.name == column.name) {
        return Some(stage.status);
    }
    let mut statuses = Vec::new();
    for lane in &column.lanes {
        lane_statuses(lane, &mut statuses);
    }
    let any = |wanted: &[TaskStatus]| statuses.iter().any(|status| wanted.contains(status));
    if statuses.is_empty() {
        None
    } else if any(&[TaskStatus::Running]) {
        Some(TaskStatus::Running)
    } else if any(&[TaskStatus::Failure, TaskStatus::TimedOut]) {
        Some(TaskStatus::Failure)
    } else if any(&[TaskStatus::Cancelled, TaskStatus::Interrupted]) {
        Some(TaskStatus::Cancelled)
    } else if any(&[TaskStatus::Success]) {
        Some(TaskStatus::Success)
    } else {
        statuses.first().copied()
    }
}

fn lane_statuses(node: &Node<'_>, out: &mut Vec<TaskStatus>) {
    match node {
        // An allowed failure did not fail its stage.
        Node::Task { record, .. } => out.extend(record.map(|record| {
            if badge::is_allowed_failure(record) {
                TaskStatus::Success
            } else {
                record.status
            }
        })),
        Node::Group { children, .. } => children.iter().for_each(|child| lane_statuses(child, out)),
    }
}

fn render_column(column: &Column<'_>, detail: &RunDetail, context: &Context<'_>) -> Markup {
    let status = column_status(column, &detail.stages);
    let class = status.map_or("s-pending", badge::task_class);
    let stage = detail.stages.iter().find(|stage| stage.name == column.name);
    let duration =
        stage.and_then(|stage| Some(format::millis_between(stage.started_at?, stage.finished_at?)));
    html! {
        li class={ "stage " (class) } data-stage=(column.name) {
            div.stage-head {
                span.stage-name { (column.name) }
                @if column.parallel && column.lanes.len() > 1 {
                    span.tag title="Its tasks run side by side" { "parallel" }
                }
                span.stage-status {
                    @if let Some(status) = status { (badge::task_word(status)) }
                    @if let Some(millis) = duration { " · " span.duration { (format::duration(millis)) } }
                }
            }
            @if column.parallel && column.lanes.len() > 1 {
                ul.branches {
                    @for lane in &column.lanes { li.lane { (render_node(lane, context)) } }
                }
            } @else {
                ol.chain {
                    @for lane in &column.lanes { li { (render_node(lane, context)) } }
                }
            }
        }
    }
}

fn render_node(node: &Node<'_>, context: &Context<'_>) -> Markup {
    match node {
        Node::Task { path, name, record } => task_box(path, name, *record, context),
        Node::Group { path, name, children } => html! {
            div.group data-path=(path) {
                div.group-name title="A serial group: its tasks run one after another" { (name) }
                ol.chain {
                    @for child in children { li { (render_node(child, context)) } }
                }
            }
        },
    }
}

fn task_box(path: &str, name: &str, record: Option<&TaskRecord>, context: &Context<'_>) -> Markup {
    let (class, word) = match record {
        Some(record) => (badge::record_class(record), badge::record_word(record)),
        None if context.run_done => ("s-skipped", "not run"),
        None => ("s-pending", "pending"),
    };
    let culprit = context.culprit == Some(path);
    let title = record
        .and_then(|record| record.skip_reason.as_deref())
        .unwrap_or(path);
    html! {
        a class={ "task " (class) @if culprit { " culprit" } } href=(url::task_log(context.run_id, path)) data-path=(path) title=(title) {
            span.task-name { (name) }
            span.task-meta {
                @if record.is_some_and(badge::is_allowed_failure) {
                    span.status title="allow_failure: the pipeline went on" { (word) }
                } @else {
                    span.status { (word) }
                }
                @if let Some(record) = record {
                    @if record.started_at.is_some() {
                        " · " (format::elapsed(record.started_at, record.duration_ms, record.status == TaskStatus::Running, context.now))
                    }
                    @if let (Some(code), true) = (record.exit_code, record.status != TaskStatus::Success) {
                        " · exit " (code)
                    }
                    @if record.attempts > 1 { " · " (record.attempts) " attempts" }
                }
            }
            @if culprit { span.culprit-label { "failed the run" } }
        }
    }
}
