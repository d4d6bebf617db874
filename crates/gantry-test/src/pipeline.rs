//! Pipelines built in code, for tests that start after validation (the engine, the store, the
//! server); tests of the file itself write YAML instead.

use gantry_model::{Pipeline, Stage, Task, TaskKind, Traceability, When};
use indexmap::IndexMap;

/// A script task: `run: SCRIPT`.
pub fn task(name: &str, script: &str) -> Task {
    Task::script(name, script)
}

/// A serial group of tasks (as inside a parallel stage).
pub fn group(name: &str, tasks: Vec<Task>) -> Task {
    Task {
        kind: TaskKind::Group { tasks },
        ..Task::script(name, "")
    }
}

/// `task` with `when: { branch: [BRANCH] }`.
pub fn when_branch(task: Task, branch: &str) -> Task {
    Task {
        when: Some(When {
            branch: vec![branch.to_owned()],
        }),
        ..task
    }
}

/// Builds a [`Pipeline`]: `PipelineBuilder::new("demo").stage("build", vec![..]).build()`.
#[derive(Debug, Clone)]
pub struct PipelineBuilder {
    pipeline: Pipeline,
}

impl PipelineBuilder {
    /// A pipeline of `app` with nothing in it, versioned `1.0.{build}`.
    pub fn new(app: &str) -> Self {
        Self {
            pipeline: Pipeline {
                app: app.to_owned(),
                version: "1.0.{build}".to_owned(),
                env: IndexMap::new(),
                secrets: Vec::new(),
                traceable: Traceability::Optional,
                setup: Vec::new(),
                stages: Vec::new(),
                finally: Vec::new(),
            },
        }
    }

    /// The pipeline most store and server tests record: `tools` in setup, `build/compile`,
    /// `test/unit` and `test/lint`, `notify` in finally; versioned `1.4.{build}`.
    pub fn standard(app: &str) -> Self {
        Self::new(app)
            .version("1.4.{build}")
            .setup(vec![task("tools", "true")])
            .stage("build", vec![task("compile", "cargo build")])
            .stage(
                "test",
                vec![task("unit", "cargo test"), task("lint", "cargo clippy")],
            )
            .finally(vec![task("notify", "true")])
    }

    #[must_use]
    pub fn version(mut self, template: &str) -> Self {
        template.clone_into(&mut self.pipeline.version);
        self
    }

    #[must_use]
    pub fn setup(mut self, tasks: Vec<Task>) -> Self {
        self.pipeline.setup = tasks;
        self
    }

    /// A serial stage.
    #[must_use]
    pub fn stage(self, name: &str, tasks: Vec<Task>) -> Self {
        self.stage_value(Stage {
            name: name.to_owned(),
            parallel: false,
            when: None,
            tasks,
        })
    }

    /// A parallel stage.
    #[must_use]
    pub fn parallel(self, name: &str, tasks: Vec<Task>) -> Self {
        self.stage_value(Stage {
            name: name.to_owned(),
            parallel: true,
            when: None,
            tasks,
        })
    }

    /// A stage as given (with `when`, say).
    #[must_use]
    pub fn stage_value(mut self, stage: Stage) -> Self {
        self.pipeline.stages.push(stage);
        self
    }

    #[must_use]
    pub fn finally(mut self, tasks: Vec<Task>) -> Self {
        self.pipeline.finally = tasks;
        self
    }

    #[must_use]
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.pipeline.env.insert(key.to_owned(), value.to_owned());
        self
    }

    /// Declares a secret by name (its value is the run's business).
    #[must_use]
    pub fn secret(mut self, name: &str) -> Self {
        self.pipeline.secrets.push(name.to_owned());
        self
    }

    /// The app's name.
    pub fn app(&self) -> &str {
        &self.pipeline.app
    }

    pub fn build(self) -> Pipeline {
        self.pipeline
    }
}
