//! [`RunRequest`]: everything the engine needs to execute one run, decided before it starts.
//!
//! The caller (the command line, later an agent) resolves the pipeline, plans it, allocates the
//! build number and reads the secrets; the engine only executes what it is handed.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use gantry_model::event::RunInfo;
use gantry_model::{Plan, RunId};

use crate::mask::MASK;

/// How long a task gets between `SIGTERM` and `SIGKILL` unless the caller says otherwise.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(5);

/// One run to execute.
#[derive(Clone)]
pub struct RunRequest {
    pub run_id: RunId,
    /// What the run is; sent as is in the first event and the source of the `GANTRY_*` variables.
    pub info: RunInfo,
    pub plan: Plan,
    /// The repository root: the working directory of tasks without a `workdir`.
    pub root: PathBuf,
    /// Secret values by name: exported to every task and masked in every line of output.
    pub secrets: Vec<(String, String)>,
    /// How many task processes may run at once, across the whole run (0 counts as 1).
    pub jobs: usize,
    /// `Some`: every task is replaced by a stand-in that runs no process.
    pub mock: Option<MockSettings>,
    /// How long a stopped task gets between `SIGTERM` and `SIGKILL`; see [`DEFAULT_GRACE`].
    pub grace: Duration,
}

/// Shows the secrets' names only: a request may well end up in a log.
impl fmt::Debug for RunRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secrets: Vec<(&str, &str)> = self
            .secrets
            .iter()
            .map(|(name, _)| (name.as_str(), MASK))
            .collect();
        f.debug_struct("RunRequest")
            .field("run_id", &self.run_id)
            .field("info", &self.info)
            .field("plan", &self.plan)
            .field("root", &self.root)
            .field("secrets", &secrets)
            .field("jobs", &self.jobs)
            .field("mock", &self.mock)
            .field("grace", &self.grace)
            .finish()
    }
}

/// How stand-in tasks behave in a mock run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MockSettings {
    /// Task names or paths (`stage/task`) whose stand-in fails.
    pub fail: Vec<String>,
}

impl MockSettings {
    /// Whether the stand-in for the task at `path` fails.
    pub fn fails(&self, path: &gantry_model::TaskPath) -> bool {
        self.fail
            .iter()
            .any(|entry| entry == path.as_str() || entry == path.name())
    }
}

#[cfg(test)]
mod tests {
    use gantry_model::{Pipeline, Traceability};

    use super::*;

    #[test]
    fn debug_hides_secret_values() {
        let pipeline = Pipeline {
            app: "demo".into(),
            version: "1".into(),
            env: indexmap::IndexMap::new(),
            secrets: vec!["TOKEN".into()],
            traceable: Traceability::Optional,
            setup: Vec::new(),
            stages: Vec::new(),
            finally: Vec::new(),
        };
        let request = RunRequest {
            run_id: RunId("run".into()),
            info: RunInfo {
                app: "demo".into(),
                version: "1".into(),
                build: 1,
                revision: None,
                branch: None,
                traceable: true,
                untraceable_reason: None,
                pipeline,
                mock: false,
                selection: gantry_model::Selection::All,
                runner: None,
            },
            plan: Plan {
                setup: Vec::new(),
                stages: Vec::new(),
                finally: Vec::new(),
            },
            root: PathBuf::from("/repo"),
            secrets: vec![("TOKEN".into(), "hunter2".into())],
            jobs: 1,
            mock: None,
            grace: DEFAULT_GRACE,
        };
        let shown = format!("{request:?}");
        assert!(shown.contains("TOKEN") && !shown.contains("hunter2"), "{shown}");
    }
}
