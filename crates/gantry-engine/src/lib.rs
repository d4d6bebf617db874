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
pub use mask::{MASK, Masker, mask};
pub use request::{DEFAULT_GRACE, MockSettings, RunRequest};

use gantry_model::{RunEvent, RunResult};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Executes a run: sends its events, in order, to `events`, and returns its result.
///
/// Every event is sent: the channel is bounded and each send is awaited, so receive events
/// while the run goes on, not after it. The last event is `RunFinished`.
///
/// Cancelling `cancel` stops running tasks (`SIGTERM`, the grace period, then `SIGKILL`),
/// keeps the rest from starting and still runs `finally`; the result is then
/// [`RunResult::Cancelled`]. Dropping the receiver cancels the run the same way, since what
/// nobody records must not go on.
pub async fn execute(
    request: RunRequest,
    events: mpsc::Sender<RunEvent>,
    cancel: CancellationToken,
) -> RunResult {
    let (dispatcher, plan) = dispatcher::Dispatcher::new(request, events, &cancel);
    dispatcher.run(plan).await
}
