//! [`RunSettings`]: everything a run needs decided before it starts, resolved from whatever the
//! caller reads (the command line and the environment, or a job handed out by a server).

use std::time::Duration;

use gantry_engine::{DEFAULT_GRACE, MockSettings};
use gantry_model::Selection;
use gantry_store::Store;

use crate::git::Revision;
use crate::secrets::Secrets;
use crate::server::ServerSettings;
use crate::workspace::Checkout;

/// One run, fully decided: what to run, from where, and where it is recorded.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// Where the pipeline file and its library are.
    pub checkout: Checkout,
    /// Which part of the pipeline runs.
    pub selection: Selection,
    /// The branch to plan for [default: the revision's branch].
    pub branch: Option<String>,
    /// The revision the checkout is at, when the caller knows it (an agent that checked it
    /// out); else git is asked.
    pub revision: Option<Revision>,
    /// A real run, recorded; or a mock run, recorded nowhere.
    pub mode: Mode,
    /// Refuse to start unless the run is traceable to a pushed, clean revision (the pipeline
    /// can ask for it too, with `traceable: required`).
    pub require_traceable: bool,
    /// How many tasks may run at once [default: the number of CPUs].
    pub jobs: Option<usize>,
    /// How long a stopped task gets between `SIGTERM` and `SIGKILL`.
    pub grace: Duration,
}

impl RunSettings {
    /// The whole pipeline found from `checkout`, run for real and recorded at `destination`,
    /// with the defaults of `gantry run`.
    pub fn new(checkout: Checkout, destination: Destination) -> Self {
        Self {
            checkout,
            selection: Selection::All,
            branch: None,
            revision: None,
            mode: Mode::Record {
                destination,
                secrets: Secrets::Environment,
            },
            require_traceable: false,
            jobs: None,
            grace: DEFAULT_GRACE,
        }
    }

    /// How many tasks may run at once, the default resolved.
    pub fn jobs(&self) -> usize {
        self.jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get))
            .max(1)
    }
}

/// Whether tasks really run, and where the run is recorded.
#[derive(Debug, Clone)]
pub enum Mode {
    /// Tasks run; the run takes a build number and every event is recorded at `destination`.
    Record {
        destination: Destination,
        secrets: Secrets,
    },
    /// Every task is a stand-in (that fails when `fail` names it). Mock runs exercise the
    /// pipeline, not the product: no build number, no secrets, nothing recorded.
    Mock(MockSettings),
}

/// Where a run's events are recorded.
#[derive(Debug, Clone)]
pub enum Destination {
    /// The build data repository at this URL; `None`: `.gantry/gantry.db` at the workspace
    /// root, created when missing.
    StoreAt(Option<String>),
    /// A store that is already open (the embedded server's own, for `gantry up`).
    Store(Store),
    /// A Gantry server: the build number comes from it, and the events go to it through a
    /// spool in `.gantry/spool`, so that nothing is lost while it is away.
    Server(ServerSettings),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_default_to_the_cpus_and_never_to_zero() {
        let mut settings = RunSettings::new(Checkout::new("."), Destination::StoreAt(None));
        assert!(settings.jobs() >= 1);
        settings.jobs = Some(3);
        assert_eq!(settings.jobs(), 3);
        settings.jobs = Some(0);
        assert_eq!(settings.jobs(), 1);
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let mut settings = RunSettings::new(Checkout::new("."), Destination::StoreAt(None));
        settings.mode = Mode::Record {
            destination: Destination::Server(ServerSettings::new(
                "http://127.0.0.1:1",
                crate::server::Token::new("gantry_t0ken"),
            )),
            secrets: Secrets::Given(vec![("API_KEY".to_owned(), "hunter2-hunter2".to_owned())]),
        };
        let shown = format!("{settings:?}");
        assert!(shown.contains("API_KEY"), "{shown}");
        assert!(!shown.contains("hunter2") && !shown.contains("t0ken"), "{shown}");
    }
}
