//! [`Signals`]: Ctrl-C and `SIGTERM` turned into a [`Stop`], in two steps.

use gantry_engine::Stop;
use tokio::signal::unix::{Signal, SignalKind, signal};

/// What one more signal did to the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escalation {
    /// The first: running tasks are stopped, the rest do not start, `finally` still runs.
    Cancel,
    /// The second: `finally` is stopped too.
    Force,
    /// Any later one: nothing more to do; each task gets its grace period, then is killed.
    AlreadyStopping,
}

impl Escalation {
    /// What the `count`th signal (from 1) does.
    pub fn of(count: usize) -> Self {
        match count {
            0 | 1 => Self::Cancel,
            2 => Self::Force,
            _ => Self::AlreadyStopping,
        }
    }
}

/// Ctrl-C (`SIGINT`) and `SIGTERM`, listened to from the moment [`Signals::listen`] returns.
#[derive(Debug)]
pub struct Signals {
    interrupt: Signal,
    terminate: Signal,
}

impl Signals {
    /// Starts listening: from now on these signals no longer end the process, they are for
    /// [`Signals::stop`] to act on.
    pub fn listen() -> std::io::Result<Self> {
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// Cancels `stop` on the first signal and forces it on the second; tells `announce` what
    /// each signal did (a person may want to know). Runs until dropped or aborted.
    pub async fn stop(mut self, stop: Stop, mut announce: impl FnMut(Escalation) + Send) {
        let mut count = 0;
        loop {
            tokio::select! {
                _ = self.interrupt.recv() => {}
                _ = self.terminate.recv() => {}
            }
            count += 1;
            let escalation = Escalation::of(count);
            match escalation {
                Escalation::Cancel => stop.cancel(),
                Escalation::Force => stop.force(),
                Escalation::AlreadyStopping => {}
            }
            announce(escalation);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_escalate_from_cancel_to_force() {
        let rows = [
            (1, Escalation::Cancel),
            (2, Escalation::Force),
            (3, Escalation::AlreadyStopping),
            (9, Escalation::AlreadyStopping),
        ];
        for (count, expect) in rows {
            assert_eq!(Escalation::of(count), expect, "signal {count}");
        }
    }

    /// A real `SIGTERM` to this process cancels, a second forces. The handlers stay installed
    /// for the rest of this test process, which is what keeps the signal from ending it.
    #[tokio::test]
    async fn a_signal_cancels_and_a_second_forces() {
        let signals = Signals::listen().unwrap();
        let stop = Stop::new();
        let (told, mut heard) = tokio::sync::mpsc::unbounded_channel();
        let listening = tokio::spawn(signals.stop(stop.clone(), move |escalation| {
            let _ = told.send(escalation);
        }));
        nix::sys::signal::raise(nix::sys::signal::Signal::SIGTERM).unwrap();
        assert_eq!(heard.recv().await, Some(Escalation::Cancel));
        assert!(stop.is_cancelled() && !stop.is_forced());
        nix::sys::signal::raise(nix::sys::signal::Signal::SIGTERM).unwrap();
        assert_eq!(heard.recv().await, Some(Escalation::Force));
        assert!(stop.is_forced());
        listening.abort();
    }
}
