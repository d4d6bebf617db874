//! What git says about the repository a run starts from: its revision, its branch, and whether
//! the run is traceable to a pushed, clean revision.
//!
//! This asks the `git` program (three read-only queries) rather than linking a git library: the
//! answers must be exactly what the user's own `git` says, including their config and hooks for
//! status, and it keeps the binary small.

use std::path::Path;
use std::process::Command;

/// The revision a run starts from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Revision {
    /// The full commit id of `HEAD`.
    pub sha: Option<String>,
    /// The checked-out branch; `None` when detached or outside git.
    pub branch: Option<String>,
    /// Why the run cannot be traced to a pushed, clean revision; `None` when it can.
    pub untraceable: Option<String>,
}

/// Inspects the repository at `root`.
pub fn inspect(root: &Path) -> Revision {
    let Some(sha) = git(root, &["rev-parse", "--verify", "--quiet", "HEAD"]) else {
        let reason = if git(root, &["rev-parse", "--git-dir"]).is_some() {
            "the repository has no commit yet"
        } else {
            "not in a git repository"
        };
        return Revision {
            sha: None,
            branch: None,
            untraceable: Some(reason.to_owned()),
        };
    };
    let branch = git(root, &["symbolic-ref", "--quiet", "--short", "HEAD"]);
    let dirty = git(root, &["status", "--porcelain", "--untracked-files=normal"])
        .is_none_or(|status| !status.is_empty());
    let pushed =
        git(root, &["branch", "--remotes", "--contains", "HEAD"]).is_some_and(|remotes| !remotes.is_empty());
    let untraceable = if dirty {
        Some("the working tree has uncommitted changes".to_owned())
    } else if !pushed {
        Some(format!(
            "commit {} is on no remote-tracking branch (not pushed)",
            &sha[..sha.len().min(7)]
        ))
    } else {
        None
    };
    Revision {
        sha: Some(sha),
        branch,
        untraceable,
    }
}

/// The repository's top-level directory, if `dir` is inside one.
pub fn toplevel(dir: &Path) -> Option<std::path::PathBuf> {
    git(dir, &["rev-parse", "--show-toplevel"]).map(Into::into)
}

/// Runs `git -C root ARGS`; `None` if git is missing or the command failed.
fn git(root: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git").arg("-C").arg(root).args(args).output().ok()?;
    if !output.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}
