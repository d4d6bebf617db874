//! Crash recovery: which process owns a run, and whether that process is still alive.
//!
//! Every run row carries its [`Owner`] (host, pid, and the process start time, so that a pid
//! reused by a later process is not mistaken for the owner). A run still `running` whose owner
//! on this host is gone was interrupted: [`crate::Store::recover_interrupted`] marks it so.
//! Runs owned by live processes (other `gantry run`s going on at the same time) and runs owned
//! by other hosts are never touched.

use serde::{Deserialize, Serialize};

/// The process that records a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub host: String,
    pub pid: u32,
    /// When the process started, in clock ticks after boot (field 22 of `/proc/PID/stat`);
    /// `None` where that is unknown.
    pub start_time: Option<u64>,
}

/// What can be said about an owner from this host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Liveness {
    Alive,
    Gone,
    /// Another host's process: nothing can be said from here.
    Unknown,
}

impl Owner {
    /// The current process.
    pub fn current() -> Self {
        let pid = std::process::id();
        Self {
            host: hostname(),
            pid,
            start_time: process_start_time(pid),
        }
    }

    /// Whether this owner is still running, seen from `host`.
    pub(crate) fn liveness(&self, host: &str) -> Liveness {
        if self.host != host {
            return Liveness::Unknown;
        }
        // Pid 0 and negative pids address process groups with kill(2); no owner has them.
        let Ok(raw) = i32::try_from(self.pid) else {
            return Liveness::Gone;
        };
        if raw <= 0 {
            return Liveness::Gone;
        }
        match nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), None) {
            Err(nix::errno::Errno::ESRCH) => Liveness::Gone,
            // EPERM: the process exists but belongs to another user.
            Ok(()) | Err(_) => match (self.start_time, process_start_time(self.pid)) {
                (Some(recorded), Some(now)) if recorded != now => Liveness::Gone,
                _ => Liveness::Alive,
            },
        }
    }
}

/// This host's name, as recorded in run owners.
pub(crate) fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|name| name.into_string().ok())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Field 22 (`starttime`) of `/proc/PID/stat`, where there is a `/proc`.
pub(crate) fn process_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_start_time(&stat)
}

/// The command name (field 2) is in parentheses and may itself hold spaces and parentheses, so
/// fields are counted from the last `)`.
fn parse_start_time(stat: &str) -> Option<u64> {
    let (_, rest) = stat.rsplit_once(')')?;
    // `rest` starts at field 3 (state); field 22 is the 20th after it.
    rest.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_start_time_after_the_command_name() {
        let check = |stat: &str, expect: Option<u64>| assert_eq!(parse_start_time(stat), expect, "{stat}");
        let tail = "S 1 1 1 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 10";
        check(&format!("42 (gantry) {tail}"), Some(98765));
        check(&format!("42 (a) b (c)) {tail}"), Some(98765));
        check("42 (gantry) S 1", None);
        check("garbage", None);
    }

    #[test]
    fn current_process_is_alive_and_others_are_judged() {
        let me = Owner::current();
        assert_eq!(me.liveness(&me.host), Liveness::Alive);
        assert_eq!(me.liveness("another-host"), Liveness::Unknown);
        let reused = Owner {
            start_time: me.start_time.map(|time| time + 1),
            ..me.clone()
        };
        if me.start_time.is_some() {
            assert_eq!(reused.liveness(&me.host), Liveness::Gone);
        }
        let absurd = Owner {
            pid: u32::MAX,
            ..me.clone()
        };
        assert_eq!(absurd.liveness(&me.host), Liveness::Gone);
        let zero = Owner { pid: 0, ..me.clone() };
        assert_eq!(zero.liveness(&me.host), Liveness::Gone);
    }
}
