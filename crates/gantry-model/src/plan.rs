//! The [`Plan`]: which tasks of a [`Pipeline`] run, in which order, and which run concurrently,
//! once `when` conditions and a selection (`--to`, `--only`) are applied.
//!
//! Tasks whose `when` is false stay in the plan, marked skipped, so that plans, logs and the
//! recorded run show them; tasks cut away by a selection are not in the plan at all.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::pipeline::{Pipeline, Stage, Task, TaskKind};

/// Where a task sits: `stage/task`, `stage/group/task`, `setup/task` or `finally/task`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskPath(pub String);

impl TaskPath {
    #[must_use]
    pub fn child(&self, name: &str) -> Self {
        Self(format!("{}/{name}", self.0))
    }

    /// The last segment: the task's own name.
    pub fn name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TaskPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which part of the pipeline a run covers; recorded with the run, so that a partial run is
/// never taken for a whole one. Serialized as `"all"`, `{"to": NAME}` or `{"only": NAME}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Selection {
    #[default]
    All,
    /// Everything up to and including this stage or task (setup and finally included).
    To(String),
    /// Just this stage or task (no setup, no finally).
    Only(String),
}

impl Selection {
    pub fn is_all(&self) -> bool {
        *self == Self::All
    }
}

/// As the flag that asks for it: `--to build`, `--only test/unit`; `all` for a whole run.
impl fmt::Display for Selection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::All => f.write_str("all"),
            Self::To(name) => write!(f, "--to {name}"),
            Self::Only(name) => write!(f, "--only {name}"),
        }
    }
}

/// What runs, in which order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Every setup task runs, even after one fails.
    pub setup: Vec<PlanNode>,
    /// Stages run one after another; a stage starts only if every earlier one succeeded.
    pub stages: Vec<PlanStage>,
    /// Always runs, after success, failure or cancellation.
    pub finally: Vec<PlanNode>,
}

/// A stage as planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanStage {
    pub name: String,
    pub parallel: bool,
    /// Why the whole stage is skipped (its `when` is false), if it is.
    pub skipped: Option<String>,
    pub nodes: Vec<PlanNode>,
}

/// A task or a serial group as planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "node", rename_all = "snake_case")]
pub enum PlanNode {
    Task {
        path: TaskPath,
        /// The task as defined; its `kind` is always [`TaskKind::Run`].
        task: Task,
        skipped: Option<String>,
    },
    /// Runs its nodes one after another; in a parallel stage, beside its siblings.
    Group {
        path: TaskPath,
        skipped: Option<String>,
        nodes: Vec<PlanNode>,
    },
}

impl PlanNode {
    pub fn path(&self) -> &TaskPath {
        match self {
            Self::Task { path, .. } | Self::Group { path, .. } => path,
        }
    }

    pub fn skipped(&self) -> Option<&str> {
        match self {
            Self::Task { skipped, .. } | Self::Group { skipped, .. } => skipped.as_deref(),
        }
    }

    /// Every task under this node, depth first, in declaration order.
    pub fn tasks(&self) -> Vec<(&TaskPath, &Task)> {
        let mut out = Vec::new();
        self.collect_tasks(&mut out);
        out
    }

    fn collect_tasks<'a>(&'a self, out: &mut Vec<(&'a TaskPath, &'a Task)>) {
        match self {
            Self::Task { path, task, .. } => out.push((path, task)),
            Self::Group { nodes, .. } => nodes.iter().for_each(|node| node.collect_tasks(out)),
        }
    }
}

impl Plan {
    /// Every task of the plan in order: setup, stages, finally.
    pub fn tasks(&self) -> Vec<(&TaskPath, &Task)> {
        self.setup
            .iter()
            .chain(self.stages.iter().flat_map(|stage| stage.nodes.iter()))
            .chain(self.finally.iter())
            .flat_map(PlanNode::tasks)
            .collect()
    }
}

/// Why a selection cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectionError {
    #[error("no stage or task is named `{name}`")]
    NotFound { name: String, hint: Option<String> },
    #[error("`{name}` is ambiguous: it names {}", candidates.join(", "))]
    Ambiguous { name: String, candidates: Vec<String> },
}

impl SelectionError {
    /// A `hint:` line for the user, where there is one.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::NotFound { hint, .. } => hint.clone(),
            Self::Ambiguous { candidates, .. } => {
                Some(format!("use a full path, such as `{}`", candidates[0]))
            }
        }
    }
}

/// What a selection name resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Stage(usize),
    /// A task or group by its path inside stage `usize`.
    Node(usize, TaskPath),
}

impl Plan {
    /// Plans `pipeline` for a run on `branch` (`None`: no branch), restricted to `selection`.
    pub fn new(
        pipeline: &Pipeline,
        branch: Option<&str>,
        selection: &Selection,
    ) -> Result<Self, SelectionError> {
        let target = match selection {
            Selection::All => None,
            Selection::To(name) | Selection::Only(name) => Some(resolve(pipeline, name)?),
        };
        let only = matches!(selection, Selection::Only(_));
        let mut plan = Plan {
            setup: Vec::new(),
            stages: Vec::new(),
            finally: Vec::new(),
        };
        if !only {
            let root = TaskPath("setup".to_owned());
            plan.setup = pipeline
                .setup
                .iter()
                .map(|task| plan_node(&root, task, branch, None))
                .collect();
            let root = TaskPath("finally".to_owned());
            plan.finally = pipeline
                .finally
                .iter()
                .map(|task| plan_node(&root, task, branch, None))
                .collect();
        }
        for (index, stage) in pipeline.stages.iter().enumerate() {
            let include = match &target {
                None => true,
                Some(Target::Stage(at) | Target::Node(at, _)) if only => index == *at,
                Some(Target::Stage(at) | Target::Node(at, _)) => index <= *at,
            };
            if !include {
                continue;
            }
            let cut = match &target {
                Some(Target::Node(at, path)) if *at == index => Some(path),
                _ => None,
            };
            plan.stages.push(plan_stage(stage, branch, cut, only));
        }
        Ok(plan)
    }
}

fn plan_stage(stage: &Stage, branch: Option<&str>, cut: Option<&TaskPath>, only: bool) -> PlanStage {
    let root = TaskPath(stage.name.clone());
    let skipped = skip_reason(stage.when.as_ref(), branch);
    let mut nodes = Vec::new();
    for task in &stage.tasks {
        let path = root.child(&task.name);
        match cut {
            None => nodes.push(plan_node(&root, task, branch, None)),
            Some(cut) => {
                let contains = cut == &path || cut.0.starts_with(&format!("{}/", path.0));
                if contains {
                    nodes.push(plan_node(&root, task, branch, Some((cut, only))));
                    // In a serial stage, `--to` stops after the target; in a parallel one the
                    // siblings are independent of the target, so only the target runs.
                    break;
                } else if !only && !stage.parallel {
                    nodes.push(plan_node(&root, task, branch, None));
                }
            }
        }
    }
    PlanStage {
        name: stage.name.clone(),
        parallel: stage.parallel,
        skipped,
        nodes,
    }
}

/// Plans one task under `parent`; `cut` restricts a group to the path of a selection.
fn plan_node(
    parent: &TaskPath,
    task: &Task,
    branch: Option<&str>,
    cut: Option<(&TaskPath, bool)>,
) -> PlanNode {
    let path = parent.child(&task.name);
    let skipped = skip_reason(task.when.as_ref(), branch);
    match &task.kind {
        TaskKind::Run { .. } => PlanNode::Task {
            path,
            task: task.clone(),
            skipped,
        },
        TaskKind::Group { tasks } => {
            let mut nodes = Vec::new();
            for child in tasks {
                let child_path = path.child(&child.name);
                match cut {
                    Some((cut, only)) if cut != &path => {
                        let contains = cut == &child_path || cut.0.starts_with(&format!("{}/", child_path.0));
                        if contains {
                            nodes.push(plan_node(&path, child, branch, Some((cut, only))));
                            break;
                        } else if !only {
                            nodes.push(plan_node(&path, child, branch, None));
                        }
                    }
                    _ => nodes.push(plan_node(&path, child, branch, None)),
                }
            }
            PlanNode::Group { path, skipped, nodes }
        }
    }
}

fn skip_reason(when: Option<&crate::pipeline::When>, branch: Option<&str>) -> Option<String> {
    let when = when?;
    if when.matches(branch) {
        return None;
    }
    Some(match branch {
        Some(branch) => format!("branch `{branch}` matches none of {}", when.branch.join(", ")),
        None => "not on a branch".to_owned(),
    })
}

/// Resolves a selection name: a stage name, a task name, or a `stage/task` path.
fn resolve(pipeline: &Pipeline, name: &str) -> Result<Target, SelectionError> {
    let mut found = Vec::new();
    let mut every = Vec::new();
    for (index, stage) in pipeline.stages.iter().enumerate() {
        every.push(stage.name.clone());
        if stage.name == name {
            found.push((stage.name.clone(), Target::Stage(index)));
        }
        let root = TaskPath(stage.name.clone());
        let mut stack: Vec<(TaskPath, &Task)> =
            stage.tasks.iter().map(|t| (root.child(&t.name), t)).collect();
        while let Some((path, task)) = stack.pop() {
            every.push(path.0.clone());
            every.push(task.name.clone());
            if path.0 == name || task.name == name {
                found.push((path.0.clone(), Target::Node(index, path.clone())));
            }
            if let TaskKind::Group { tasks } = &task.kind {
                stack.extend(tasks.iter().map(|t| (path.child(&t.name), t)));
            }
        }
    }
    // An exact path wins over a bare name that happens to match too.
    if let Some((_, target)) = found.iter().find(|(path, _)| path == name) {
        return Ok(target.clone());
    }
    match found.len() {
        1 => Ok(found.remove(0).1),
        0 => {
            let in_phase = [("setup", &pipeline.setup), ("finally", &pipeline.finally)]
                .into_iter()
                .find(|(phase, tasks)| {
                    name == *phase
                        || tasks
                            .iter()
                            .any(|task| task.name == name || name == format!("{phase}/{}", task.name))
                })
                .map(|(phase, _)| phase);
            let near = every
                .iter()
                .map(|candidate| (strsim::jaro_winkler(candidate, name), candidate))
                .filter(|(score, _)| *score > 0.8)
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, candidate)| format!("did you mean `{candidate}`?"));
            let stages: Vec<&str> = pipeline.stages.iter().map(|stage| stage.name.as_str()).collect();
            let hint = match in_phase {
                Some(phase) => Some(format!(
                    "`{phase}` cannot be selected: `--to` and `--only` name a stage or a task of one \
                     (`--to` runs setup and finally as well, `--only` neither)"
                )),
                None => near.or_else(|| Some(format!("the stages are: {}", stages.join(", ")))),
            };
            Err(SelectionError::NotFound {
                name: name.to_owned(),
                hint,
            })
        }
        _ => {
            let mut candidates: Vec<String> = found.into_iter().map(|(path, _)| path).collect();
            candidates.sort();
            Err(SelectionError::Ambiguous {
                name: name.to_owned(),
                candidates,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use indexmap::IndexMap;

    use super::*;
    use crate::pipeline::{Traceability, When};

    fn stage(name: &str, parallel: bool, tasks: Vec<Task>) -> Stage {
        Stage {
            name: name.into(),
            parallel,
            when: None,
            tasks,
        }
    }

    fn group(name: &str, tasks: Vec<Task>) -> Task {
        Task {
            kind: TaskKind::Group { tasks },
            ..Task::script(name, "")
        }
    }

    fn pipeline() -> Pipeline {
        let mut deploy_only_main = Task::script("deploy", "true");
        deploy_only_main.when = Some(When {
            branch: vec!["main".into()],
        });
        Pipeline {
            app: "demo".into(),
            version: "{build}".into(),
            env: IndexMap::new(),
            secrets: Vec::new(),
            traceable: Traceability::Optional,
            setup: vec![Task::script("tools", "true")],
            stages: vec![
                stage(
                    "build",
                    false,
                    vec![Task::script("compile", "true"), Task::script("package", "true")],
                ),
                stage(
                    "test",
                    true,
                    vec![
                        Task::script("unit", "true"),
                        group(
                            "acceptance",
                            vec![Task::script("start", "true"), Task::script("check", "true")],
                        ),
                    ],
                ),
                stage("ship", false, vec![deploy_only_main]),
            ],
            finally: vec![Task::script("notify", "true")],
        }
    }

    /// Renders a plan as one line per task: `path` or `path (skipped)`.
    fn render(plan: &Plan) -> Vec<String> {
        plan.setup
            .iter()
            .chain(plan.stages.iter().flat_map(|s| s.nodes.iter()))
            .chain(plan.finally.iter())
            .flat_map(PlanNode::tasks)
            .map(|(path, _)| path.0.clone())
            .collect()
    }

    #[test]
    fn selections() {
        let check = |selection: Selection, expect: &[&str]| {
            let plan = Plan::new(&pipeline(), Some("main"), &selection).unwrap();
            assert_eq!(render(&plan), expect, "{selection:?}");
        };
        check(
            Selection::All,
            &[
                "setup/tools",
                "build/compile",
                "build/package",
                "test/unit",
                "test/acceptance/start",
                "test/acceptance/check",
                "ship/deploy",
                "finally/notify",
            ],
        );
        check(
            Selection::To("build".into()),
            &["setup/tools", "build/compile", "build/package", "finally/notify"],
        );
        check(
            Selection::To("compile".into()),
            &["setup/tools", "build/compile", "finally/notify"],
        );
        check(
            Selection::To("test/acceptance/start".into()),
            &[
                "setup/tools",
                "build/compile",
                "build/package",
                "test/acceptance/start",
                "finally/notify",
            ],
        );
        check(
            Selection::Only("test".into()),
            &["test/unit", "test/acceptance/start", "test/acceptance/check"],
        );
        check(Selection::Only("check".into()), &["test/acceptance/check"]);
        check(Selection::Only("package".into()), &["build/package"]);
    }

    #[test]
    fn when_marks_skipped() {
        let plan = Plan::new(&pipeline(), Some("feature/x"), &Selection::All).unwrap();
        let deploy = &plan.stages[2].nodes[0];
        assert!(deploy.skipped().unwrap().contains("feature/x"));
    }

    #[test]
    fn selection_errors() {
        let err = Plan::new(&pipeline(), None, &Selection::Only("complie".into())).unwrap_err();
        assert_eq!(err.hint().as_deref(), Some("did you mean `compile`?"));
        let mut twice = pipeline();
        twice.stages[2].tasks.push(Task::script("unit", "true"));
        let err = Plan::new(&twice, None, &Selection::Only("unit".into())).unwrap_err();
        assert!(matches!(err, SelectionError::Ambiguous { .. }), "{err:?}");
        // Setup and finally tasks exist, but are not selectable: say so.
        for name in ["notify", "finally/notify", "finally", "tools", "setup"] {
            let err = Plan::new(&pipeline(), None, &Selection::Only(name.into())).unwrap_err();
            let hint = err.hint().unwrap_or_default();
            assert!(hint.contains("cannot be selected"), "{name}: {hint}");
        }
        let err = Plan::new(&pipeline(), None, &Selection::To("zzzz".into())).unwrap_err();
        assert_eq!(err.hint().as_deref(), Some("the stages are: build, test, ship"));
    }
}
