//! The engine: executes a [`Plan`](gantry_model::Plan) and reports everything that happens as
//! [`RunEvent`]s, its only output.
//!
//! It runs the same way on a laptop, on an agent and in a mock run: [`execute`] takes a
//! [`RunRequest`] and a channel, and returns the run's result once the last event is sent.
//!
//! - [`request`]: [`RunRequest`] and [`MockSettings`], what the caller decides before a run.
//! - `dispatcher`: the dispatcher, which owns the run's state and sends every event.
//! - `executor`: the executor, which runs one attempt of one task.
//! - `lane`: tasks that run one after another, the unit the dispatcher schedules.
//! - `process_group`: stopping a task's processes, grandchildren included.
//! - `output`: a task's pipes read as lines.
//! - `context`: variables tasks pass on to later tasks (`GANTRY_CONTEXT`).
//! - [`mask`](mod@mask): [`Masker`], which hides secret values in output.
//! - [`artifact`]: files a task produced, with size and sha256.
//! - `mock`: the stand-ins of a mock run.

pub mod artifact;
mod context;
mod dispatcher;
mod executor;
mod lane;
pub mod mask;
mod mock;
mod output;
mod process_group;
pub mod request;

pub use artifact::{Artifact, ArtifactError};
pub use mask::{MASK, MIN_SECRET_CHARS, Masker, mask};
pub use request::{DEFAULT_GRACE, MockSettings, RunRequest};

use gantry_model::{RunEvent, RunResult};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Executes a run: sends its events, in order, to `events`, and returns its result.
///
/// Every event is sent: the channel is bounded and each send is awaited, so receive events
/// while the run goes on, not after it. The last event is `RunFinished`.
///
/// [`Stop::cancel`] stops running tasks (`SIGTERM`, the grace period, then `SIGKILL`), keeps
/// the rest from starting and still runs `finally`; the result is then
/// [`RunResult::Cancelled`]. [`Stop::force`] stops `finally` as well. Dropping the receiver
/// cancels the run like [`Stop::cancel`], since what nobody records must not go on.
pub async fn execute(request: RunRequest, events: mpsc::Sender<RunEvent>, stop: Stop) -> RunResult {
    let (dispatcher, plan) = dispatcher::Dispatcher::new(request, events, &stop);
    dispatcher.run(plan).await
}

/// How a run is stopped from outside, in two steps: the first Ctrl-C cancels, a second one
/// forces. Clones stop the same run.
#[derive(Debug, Clone)]
pub struct Stop {
    /// Stops every task, `finally`'s included.
    force: CancellationToken,
    /// Stops the tasks of setup and stages; a child of `force`, so forcing cancels too.
    cancel: CancellationToken,
}

impl Stop {
    pub fn new() -> Self {
        let force = CancellationToken::new();
        let cancel = force.child_token();
        Self { force, cancel }
    }

    /// Cancels the run: running tasks are stopped, the rest do not start, `finally` still runs.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// Stops everything now, `finally`'s tasks included (for a `finally` that hangs): the run
    /// is cancelled, and what was left of `finally` is stopped or skipped.
    pub fn force(&self) {
        self.force.cancel();
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    pub fn is_forced(&self) -> bool {
        self.force.is_cancelled()
    }
}

impl Default for Stop {
    fn default() -> Self {
        Self::new()
    }
}
