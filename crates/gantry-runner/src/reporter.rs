//! [`Reporter`]: what a person or a program sees of a run while it goes on.

use gantry_model::{RunEvent, RunResult};

/// Shows a run: every event, in order, as it is recorded. The runner itself never prints;
/// the command line's terminal view and its JSON lines are reporters, and an agent's may be
/// silent.
///
/// A reporter that fails (its reader went away) is not asked again; the run is cancelled and
/// still recorded to its end, and the run fails with [`Error::Report`](crate::Error::Report).
pub trait Reporter: Send {
    /// One event of the run.
    fn event(&mut self, event: &RunEvent) -> std::io::Result<()>;

    /// Called a few times a second while no event comes, for a live progress line.
    fn tick(&mut self) {}

    /// Called after each batch of events: a reporter may keep what it shows in a buffer until
    /// then (or until a later call, to draw a terminal at a bounded frame rate), rather than
    /// write each event on its own. What it keeps is shown by the next call, `tick` or
    /// `finish`.
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }

    /// The run ended with `result`, as `version`.
    fn finish(&mut self, result: RunResult, version: &str) -> std::io::Result<()> {
        let _ = (result, version);
        Ok(())
    }
}

/// Shows nothing: for runs only recorded.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Reporter for Silent {
    fn event(&mut self, _event: &RunEvent) -> std::io::Result<()> {
        Ok(())
    }
}
