//! [`Checkouts`]: exactly one commit of a repository in a clean directory of its own, from a
//! bare clone kept per repository under the agent's work directory, so that a repository is
//! downloaded once and each job only fetches what is new.
//!
//! This asks the `git` program, as [`crate::git`] does: the agent then fetches with the same
//! credentials, config and protocols the machine's own `git` has.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

/// Where repositories and jobs' directories are kept.
#[derive(Debug, Clone)]
pub struct Checkouts {
    root: PathBuf,
}

/// Why a commit could not be checked out.
#[derive(Debug, thiserror::Error)]
pub enum CheckoutError {
    #[error("failed to create `{path}`")]
    Dir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to run `git {args}`")]
    Spawn {
        args: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`git {args}` failed: {stderr}")]
    Git { args: String, stderr: String },
    #[error("commit `{revision}` is not in `{repository}`")]
    NoSuchCommit { repository: String, revision: String },
}

impl Checkouts {
    /// Keeps everything under `root` (`repos/`, `jobs/`).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// `revision` of `repository` checked out (detached) in `jobs/<name>`, a directory made
    /// anew; returns its path.
    pub fn checkout(&self, repository: &str, revision: &str, name: &str) -> Result<PathBuf, CheckoutError> {
        let bare = self.mirror(repository, revision)?;
        let dir = self.root.join("jobs").join(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|source| CheckoutError::Dir {
                path: dir.clone(),
                source,
            })?;
        }
        let parent = self.root.join("jobs");
        std::fs::create_dir_all(&parent).map_err(|source| CheckoutError::Dir { path: parent, source })?;
        git(
            None,
            &[
                "clone".as_ref(),
                "--quiet".as_ref(),
                "--no-checkout".as_ref(),
                bare.as_os_str(),
                dir.as_os_str(),
            ],
        )?;
        git(
            Some(&dir),
            &[
                "checkout".as_ref(),
                "--quiet".as_ref(),
                "--detach".as_ref(),
                revision.as_ref(),
            ],
        )?;
        Ok(dir)
    }

    /// Removes a job's directory (when nothing in it is still needed).
    pub fn remove(&self, dir: &Path) {
        let _ = std::fs::remove_dir_all(dir);
    }

    /// The bare clone of `repository`, fetched until it has `revision`.
    fn mirror(&self, repository: &str, revision: &str) -> Result<PathBuf, CheckoutError> {
        let digest = Sha256::digest(repository.as_bytes());
        let key = digest.iter().take(12).fold(String::new(), |mut key, byte| {
            let _ = write!(key, "{byte:02x}");
            key
        });
        let bare = self.root.join("repos").join(format!("{key}.git"));
        if !bare.join("HEAD").exists() {
            let parent = self.root.join("repos");
            std::fs::create_dir_all(&parent).map_err(|source| CheckoutError::Dir { path: parent, source })?;
            let partial = bare.with_extension("partial");
            let _ = std::fs::remove_dir_all(&partial);
            git(
                None,
                &[
                    "clone".as_ref(),
                    "--quiet".as_ref(),
                    "--bare".as_ref(),
                    repository.as_ref(),
                    partial.as_os_str(),
                ],
            )?;
            std::fs::rename(&partial, &bare).map_err(|source| CheckoutError::Dir {
                path: bare.clone(),
                source,
            })?;
        }
        if has_commit(&bare, revision) {
            return Ok(bare);
        }
        git(
            Some(&bare),
            &[
                "fetch".as_ref(),
                "--quiet".as_ref(),
                "--prune".as_ref(),
                repository.as_ref(),
                "+refs/heads/*:refs/heads/*".as_ref(),
                "+refs/tags/*:refs/tags/*".as_ref(),
            ],
        )?;
        if !has_commit(&bare, revision) {
            // A commit on no branch (a pull request's, say): servers that allow it send it.
            let _ = git(
                Some(&bare),
                &[
                    "fetch".as_ref(),
                    "--quiet".as_ref(),
                    repository.as_ref(),
                    revision.as_ref(),
                ],
            );
        }
        if has_commit(&bare, revision) {
            Ok(bare)
        } else {
            Err(CheckoutError::NoSuchCommit {
                repository: repository.to_owned(),
                revision: revision.to_owned(),
            })
        }
    }
}

fn has_commit(repo: &Path, revision: &str) -> bool {
    git(
        Some(repo),
        &[
            "cat-file".as_ref(),
            "-e".as_ref(),
            format!("{revision}^{{commit}}").as_ref(),
        ],
    )
    .is_ok()
}

/// Runs `git [-C dir] ARGS`, without a terminal prompt for credentials.
fn git(dir: Option<&Path>, args: &[&std::ffi::OsStr]) -> Result<(), CheckoutError> {
    let shown = args
        .iter()
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let mut command = Command::new("git");
    if let Some(dir) = dir {
        command.arg("-C").arg(dir);
    }
    let output = command
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .map_err(|source| CheckoutError::Spawn {
            args: shown.clone(),
            source,
        })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(CheckoutError::Git {
            args: shown,
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}
