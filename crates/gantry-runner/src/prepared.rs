//! [`PreparedRun`]: a run that is valid and planned, before it has a number.

use gantry_model::{Pipeline, Plan, SelectionError, Traceability};

use crate::Error;
use crate::git::{self, Revision};
use crate::settings::{Mode, RunSettings};
use crate::workspace::Workspace;

/// A valid, planned run: its pipeline is loaded, its revision known, its secrets found.
/// Nothing has run and nothing is recorded yet; [`PreparedRun::execute`] does both.
#[derive(Debug)]
pub struct PreparedRun {
    pub(crate) settings: RunSettings,
    pub(crate) workspace: Workspace,
    pub(crate) pipeline: Pipeline,
    pub(crate) plan: Plan,
    pub(crate) revision: Revision,
    pub(crate) branch: Option<String>,
    pub(crate) secrets: Vec<(String, String)>,
    /// The run id and build number a server gave (an agent's job); `None`: a new run id, and
    /// the destination's next build number.
    pub(crate) numbered: Option<(String, u64)>,
}

impl PreparedRun {
    /// Loads, validates and plans; checks traceability and secrets. Nothing runs or is
    /// recorded.
    pub fn new(settings: RunSettings) -> Result<Self, Error> {
        let workspace = settings.checkout.locate()?;
        let pipeline = workspace.load_pipeline()?;
        let revision = match &settings.revision {
            Some(revision) => revision.clone(),
            None => git::inspect(&workspace.root),
        };
        let branch = settings.branch.clone().or_else(|| revision.branch.clone());
        let plan = Plan::new(&pipeline, branch.as_deref(), &settings.selection)
            .map_err(|err| refused_selection(&err))?;
        if let Mode::Mock(mock) = &settings.mode {
            check_fail_names(&mock.fail, &plan)?;
        }
        let required = settings.require_traceable || pipeline.traceable == Traceability::Required;
        if let (true, Some(reason)) = (required, &revision.untraceable) {
            return Err(Error::refused_with_hint(
                format!("refusing to start an untraceable run: {reason}"),
                "commit and push your changes, or drop `--require-traceable` / `traceable: required`",
            ));
        }
        let secrets = match &settings.mode {
            Mode::Record { secrets, .. } => secrets.resolve(&pipeline.secrets)?,
            Mode::Mock(_) => Vec::new(),
        };
        Ok(Self {
            settings,
            workspace,
            pipeline,
            plan,
            revision,
            branch,
            secrets,
            numbered: None,
        })
    }

    /// Records the run as `run_id` with build number `build`, as a server handed them out for
    /// a job, instead of taking a new id and number.
    #[must_use]
    pub fn numbered(mut self, run_id: String, build: u64) -> Self {
        self.numbered = Some((run_id, build));
        self
    }

    /// The app the pipeline delivers.
    pub fn app(&self) -> &str {
        &self.pipeline.app
    }

    /// What will run, in which order.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Where the pipeline was found.
    pub fn workspace(&self) -> &Workspace {
        &self.workspace
    }
}

/// Every mock `fail` name must name a task that runs: a typo would silently test nothing.
fn check_fail_names(names: &[String], plan: &Plan) -> Result<(), Error> {
    let tasks = plan.tasks();
    for name in names {
        let found = tasks
            .iter()
            .any(|(path, _)| path.as_str() == name || path.name() == name);
        if !found {
            let known: Vec<&str> = tasks.iter().map(|(path, _)| path.as_str()).collect();
            return Err(Error::refused_with_hint(
                format!("`--fail {name}` names no task of this run"),
                format!("tasks that run: {}", known.join(", ")),
            ));
        }
    }
    Ok(())
}

/// An unknown `--to`/`--only` name, with the model's suggestion.
pub fn refused_selection(err: &SelectionError) -> Error {
    Error::Refused {
        message: err.to_string(),
        hint: err.hint(),
    }
}
