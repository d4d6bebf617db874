//! [`ProcessGroup`]: a task's shell and every process it started, signalled as one.
//!
//! Each task runs in a process group of its own, so a timeout or a cancellation reaches the
//! grandchildren too (`sleep 1000 &` in a script): `SIGTERM` to the group, a grace period for
//! cleanup traps, then `SIGKILL`. A process that starts a session of its own (`setsid`) leaves
//! the group on purpose and is out of reach, as in every engine built on process groups.

use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::process::Child;
use tokio::time::Instant;

/// How often a stopping group is checked for remaining processes.
const POLL: Duration = Duration::from_millis(20);

/// Longer than any grace period anyone means.
const FOREVER: Duration = Duration::from_hours(100 * 365 * 24);

/// How long a killed shell may take to be reaped before it is left to the runtime.
const REAP: Duration = Duration::from_secs(5);

/// The process group led by a task's shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProcessGroup {
    id: Pid,
}

impl ProcessGroup {
    /// The group of a shell started with `process_group(0)`; `None` once the shell was reaped.
    pub(crate) fn of(child: &Child) -> Option<Self> {
        let id = i32::try_from(child.id()?).ok()?;
        Some(Self {
            id: Pid::from_raw(id),
        })
    }

    /// Sends `signal` to every process of the group; a group that is gone is not an error.
    pub(crate) fn signal(self, signal: Signal) {
        let _ = killpg(self.id, signal);
    }

    /// Whether any process of the group is still running.
    ///
    /// `kill(2)` also reaches zombies: grandchildren that exited after their shell and wait for
    /// their new parent to reap them, which some container init processes never do. On Linux
    /// the process table tells the two apart; elsewhere a zombie counts as running.
    pub(crate) fn is_alive(self) -> bool {
        match killpg(self.id, None) {
            Err(Errno::ESRCH) => false,
            _ => running_members(self.id).is_none_or(|count| count > 0),
        }
    }

    /// Waits until every process of the group has exited, at most until `deadline`; whether
    /// the group is gone.
    pub(crate) async fn wait_gone(self, deadline: Instant) -> bool {
        loop {
            if !self.is_alive() {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Stops the group: `SIGTERM`, up to `grace` for the shell and the rest of the group to
    /// exit, then `SIGKILL` to whatever is left. Reaps the shell.
    pub(crate) async fn stop(self, shell: &mut Child, grace: Duration) {
        self.signal(Signal::SIGTERM);
        // A grace period too long to add up is as good as forever.
        let deadline = Instant::now()
            .checked_add(grace)
            .unwrap_or_else(|| Instant::now() + FOREVER);
        loop {
            let shell_done = !matches!(shell.try_wait(), Ok(None));
            if shell_done && !self.is_alive() {
                break;
            }
            if Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(POLL).await;
        }
        // Unconditional: a process that ignored `SIGTERM` may still be there even when the
        // checks above could not see it.
        self.signal(Signal::SIGKILL);
        // `SIGKILL` cannot be caught; the bound only guards against a process stuck in the
        // kernel, which `kill_on_drop` then leaves to the runtime.
        let _ = tokio::time::timeout(REAP, shell.wait()).await;
    }
}

/// How many processes of group `id` are running (not zombies), from `/proc`; `None` where
/// there is no `/proc`.
fn running_members(id: Pid) -> Option<usize> {
    let entries = std::fs::read_dir("/proc").ok()?;
    let mut count = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name.bytes().all(|byte| byte.is_ascii_digit()) {
            continue;
        }
        // The process may exit between listing and reading: then it is not running.
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        if let Some((state, group)) = parse_stat(&stat)
            && group == id.as_raw()
            && state != 'Z'
            && state != 'X'
        {
            count += 1;
        }
    }
    Some(count)
}

/// The state and process group of `/proc/PID/stat`: `pid (comm) state ppid pgrp ...`, where
/// `comm` may itself hold spaces and parentheses.
fn parse_stat(stat: &str) -> Option<(char, i32)> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let _parent = fields.next()?;
    let group = fields.next()?.parse().ok()?;
    Some((state, group))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat() {
        let check = |stat: &str, expect: Option<(char, i32)>| assert_eq!(parse_stat(stat), expect, "{stat}");
        check("12 (bash) S 1 12 12 0 -1", Some(('S', 12)));
        check("13 (my (odd) name) Z 1 12 12 0", Some(('Z', 12)));
        check("14 (sleep) R", None);
        check("garbage", None);
    }
}
