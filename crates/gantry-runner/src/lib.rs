//! A run as a library: resolved settings in, a recorded run out.
//!
//! `gantry run`, `gantry up` and agents all run pipelines through [`run`] (or
//! [`PreparedRun::new`] then [`PreparedRun::execute`]): locate and load the pipeline, plan it,
//! take a build number, execute the plan with the engine, and record every event in a store
//! or on a server, while a [`Reporter`] shows them. The runner never prints for people and
//! never reads the process's arguments; whoever calls it resolves those into [`RunSettings`].
//!
//! - [`settings`]: [`RunSettings`], [`Mode`], [`Destination`]: what a run needs decided.
//! - [`environment`]: [`Environment`], `GANTRY_SERVER`, `GANTRY_TOKEN` and `GANTRY_DB`, read once.
//! - [`server`]: [`ServerSettings`] and [`Token`], a server and how to authenticate to it.
//! - [`workspace`]: [`Checkout`] and [`Workspace`], finding and loading the pipeline file and
//!   its library; the project and its `.gantry/` directory.
//! - [`store_location`]: [`StoreLocation`], which store a command opens (`--db`, `GANTRY_DB`,
//!   the project's), and whether it must exist already.
//! - [`git`]: [`Revision`], revision, branch and traceability of a checkout.
//! - [`secrets`]: [`Secrets`], where secret values come from.
//! - [`prepared`]: [`PreparedRun`], a valid, planned run before it has a number.
//! - [`run`](mod@run): [`run`] and [`RunOutcome`], executing and recording.
//! - `recorder`, `sink`: where a run's events are recorded, before and while it runs; `backlog`:
//!   what the store has not taken yet, in memory and then on disk.
//! - [`reporter`]: the [`Reporter`] trait, what a person or a program sees of a run.
//! - [`signals`]: [`Signals`], Ctrl-C and `SIGTERM` turned into a [`Stop`].
//! - [`sync`](mod@sync): [`sync`], sending what the spool kept while a server was away.
//! - [`error`]: [`Error`], why a run could not start or be recorded.
//! - [`agent`]: [`agent::serve`], an agent taking jobs from a server and running each through
//!   the same [`PreparedRun::execute`]; [`checkout`]: the commit of a job, from a bare clone
//!   cached per repository.

pub mod agent;
mod backlog;
pub mod checkout;
pub mod environment;
pub mod error;
pub mod git;
#[cfg(test)]
mod layers;
pub mod prepared;
mod recorder;
pub mod reporter;
pub mod run;
pub mod secrets;
pub mod server;
pub mod settings;
pub mod signals;
mod sink;
pub mod store_location;
pub mod sync;
pub mod workspace;

pub use environment::Environment;
pub use error::Error;
pub use gantry_engine::{MockSettings, Stop};
pub use git::Revision;
pub use prepared::PreparedRun;
pub use recorder::{open_store, open_store_with};
pub use reporter::{Reporter, Silent};
pub use run::{RunOutcome, run};
pub use secrets::Secrets;
pub use server::{ServerSettings, Token};
pub use settings::{Destination, Mode, RunSettings};
pub use signals::{Escalation, Signals};
pub use sink::Unsent;
pub use store_location::{ChosenBy, StoreLocation};
pub use sync::{Synced, sync};
pub use workspace::{Checkout, Workspace};
