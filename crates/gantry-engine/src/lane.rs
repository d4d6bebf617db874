//! [`Lane`]: tasks that run one after another, the unit the dispatcher schedules.
//!
//! A phase of the run is a set of lanes that run side by side: `setup` and `finally` are one
//! lane, a serial stage is one lane, and a parallel stage has one lane per task or serial group.
//! Groups are flattened into their lane in declaration order; each [`Step`] remembers which
//! top-level node it came from, so a failure can stop just its own group.

use std::collections::VecDeque;

use gantry_model::{PlanNode, PlanStage, Task, TaskKind, TaskPath};
use tokio::sync::OwnedSemaphorePermit;

use crate::context::Context;

/// One task of a lane, as planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Step {
    pub(crate) path: TaskPath,
    pub(crate) task: Task,
    pub(crate) script: String,
    /// Why it does not run: its own `when`, or that of a group around it.
    pub(crate) skipped: Option<String>,
    /// The index of the top-level node it belongs to, within its phase.
    scope: usize,
}

/// What a failed task stops in its lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnFailure {
    /// Everything after it: a serial stage, or one branch of a parallel stage.
    SkipRest,
    /// Only the rest of its own group: `setup` and `finally`, where every task runs.
    SkipGroup,
}

/// The attempt of a step that is under way.
#[derive(Debug)]
pub(crate) struct Running {
    pub(crate) step: Step,
    pub(crate) attempt: u32,
    /// Its job slot, returned when this is dropped.
    pub(crate) permit: OwnedSemaphorePermit,
}

/// Tasks that run one after another, and how they went.
#[derive(Debug)]
pub(crate) struct Lane {
    steps: VecDeque<Step>,
    on_failure: OnFailure,
    /// The context its tasks see; what they add is merged into the run's after the phase.
    pub(crate) context: Context,
    pub(crate) running: Option<Running>,
    /// The first task that failed (not counting allowed failures).
    pub(crate) failed: Option<TaskPath>,
    /// Whether any task ran to an end.
    pub(crate) ran: bool,
    /// Whether cancellation stopped or skipped any of its tasks.
    pub(crate) cancelled: bool,
}

impl Lane {
    fn new(steps: Vec<Step>, on_failure: OnFailure, context: &Context) -> Self {
        Self {
            steps: steps.into(),
            on_failure,
            context: context.fork(),
            running: None,
            failed: None,
            ran: false,
            cancelled: false,
        }
    }

    /// The one lane of `setup` or `finally`, for a run on `branch`.
    pub(crate) fn every_task(nodes: &[PlanNode], branch: Option<&str>, context: &Context) -> Vec<Self> {
        vec![Self::new(steps(nodes, branch), OnFailure::SkipGroup, context)]
    }

    /// The lanes of a stage: one, or one per node if the stage is parallel.
    pub(crate) fn stage(stage: &PlanStage, branch: Option<&str>, context: &Context) -> Vec<Self> {
        if stage.parallel {
            stage
                .nodes
                .iter()
                .map(|node| {
                    Self::new(
                        steps(std::slice::from_ref(node), branch),
                        OnFailure::SkipRest,
                        context,
                    )
                })
                .collect()
        } else {
            vec![Self::new(
                steps(&stage.nodes, branch),
                OnFailure::SkipRest,
                context,
            )]
        }
    }

    /// The next step to run or skip.
    pub(crate) fn next(&mut self) -> Option<Step> {
        self.steps.pop_front()
    }

    /// The next step, left in place.
    pub(crate) fn peek(&self) -> Option<&Step> {
        self.steps.front()
    }

    /// Takes the steps that `failed` stops, in order.
    pub(crate) fn stopped_by(&mut self, failed: &Step) -> Vec<Step> {
        match self.on_failure {
            OnFailure::SkipRest => self.steps.drain(..).collect(),
            OnFailure::SkipGroup => {
                let count = self
                    .steps
                    .iter()
                    .take_while(|step| step.scope == failed.scope)
                    .count();
                self.steps.drain(..count).collect()
            }
        }
    }
}

/// Every task under `nodes`, in order, groups flattened, for a run on `branch`.
pub(crate) fn steps(nodes: &[PlanNode], branch: Option<&str>) -> Vec<Step> {
    let mut out = Vec::new();
    for (scope, node) in nodes.iter().enumerate() {
        flatten_node(node, scope, branch, None, &mut out);
    }
    out
}

fn flatten_node(
    node: &PlanNode,
    scope: usize,
    branch: Option<&str>,
    outer: Option<&str>,
    out: &mut Vec<Step>,
) {
    let skipped = outer.or(node.skipped());
    match node {
        PlanNode::Task { path, task, .. } => flatten_task(path, task, scope, branch, skipped, out),
        PlanNode::Group { nodes, .. } => {
            for child in nodes {
                flatten_node(child, scope, branch, skipped, out);
            }
        }
    }
}

/// A plan's tasks are always scripts; should a group arrive as a task, its tasks run in order,
/// as a planned group's would, their `when` evaluated here.
fn flatten_task(
    path: &TaskPath,
    task: &Task,
    scope: usize,
    branch: Option<&str>,
    skipped: Option<&str>,
    out: &mut Vec<Step>,
) {
    match &task.kind {
        TaskKind::Run { script } => out.push(Step {
            path: path.clone(),
            task: task.clone(),
            script: script.clone(),
            skipped: skipped.map(str::to_owned),
            scope,
        }),
        TaskKind::Group { tasks } => {
            for child in tasks {
                let own = match &child.when {
                    Some(when) if !when.matches(branch) => Some(match branch {
                        Some(branch) => {
                            format!("branch `{branch}` matches none of {}", when.branch.join(", "))
                        }
                        None => "not on a branch".to_owned(),
                    }),
                    _ => None,
                };
                let skipped = skipped.map(str::to_owned).or(own);
                flatten_task(
                    &path.child(&child.name),
                    child,
                    scope,
                    branch,
                    skipped.as_deref(),
                    out,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(path: &str) -> PlanNode {
        let path = TaskPath(path.to_owned());
        PlanNode::Task {
            task: Task::script(path.name(), "true"),
            path,
            skipped: None,
        }
    }

    fn group(path: &str, skipped: Option<&str>, nodes: Vec<PlanNode>) -> PlanNode {
        PlanNode::Group {
            path: TaskPath(path.to_owned()),
            skipped: skipped.map(str::to_owned),
            nodes,
        }
    }

    fn paths(steps: &[Step]) -> Vec<&str> {
        steps.iter().map(|step| step.path.as_str()).collect()
    }

    #[test]
    fn flattens_groups_in_order() {
        let nodes = [
            task("s/a"),
            group(
                "s/g",
                None,
                vec![task("s/g/b"), group("s/g/h", Some("no"), vec![task("s/g/h/c")])],
            ),
            task("s/d"),
        ];
        let steps = steps(&nodes, None);
        assert_eq!(paths(&steps), ["s/a", "s/g/b", "s/g/h/c", "s/d"]);
        assert_eq!(steps[2].skipped.as_deref(), Some("no"));
        assert_eq!(
            steps.iter().map(|step| step.scope).collect::<Vec<_>>(),
            [0, 1, 1, 2]
        );
    }

    #[test]
    fn a_failure_stops_its_group_or_the_rest() {
        let nodes = [
            task("setup/a"),
            group("setup/g", None, vec![task("setup/g/b"), task("setup/g/c")]),
            task("setup/d"),
        ];
        let mut lane = Lane::every_task(&nodes, None, &Context::default()).remove(0);
        lane.next();
        let failed = lane.next().unwrap();
        assert_eq!(paths(&lane.stopped_by(&failed)), ["setup/g/c"]);
        assert_eq!(lane.next().unwrap().path.as_str(), "setup/d");

        let stage = PlanStage {
            name: "s".into(),
            parallel: false,
            skipped: None,
            nodes: nodes.to_vec(),
        };
        let mut lane = Lane::stage(&stage, None, &Context::default()).remove(0);
        let failed = lane.next().unwrap();
        assert_eq!(
            paths(&lane.stopped_by(&failed)),
            ["setup/g/b", "setup/g/c", "setup/d"]
        );
    }
}
