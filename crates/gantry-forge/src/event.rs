//! What a forge told us, the same shape whatever the forge.
//!
//! Deletions trigger nothing by construction: a deleted branch is [`ForgeEvent::Ignored`]
//! (there is nothing left to build), so a [`Push`] always names a commit that exists. A deleted
//! tag is a [`Tag`] with `deleted` set, so that whoever keeps tags can forget it; it names the
//! commit the tag pointed to and [`ForgeEvent::commit_to_build`] is `None` for it.

use serde::Serialize;

/// One webhook delivery, normalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ForgeEvent {
    /// Commits pushed to a branch (also a branch created by a push).
    Push(Push),
    /// A tag pushed or deleted.
    Tag(Tag),
    /// A pull request (GitLab: merge request) opened, reopened or given new commits.
    PullRequest(PullRequest),
    /// The forge checking that the webhook works (GitHub's `ping`); nothing to do but answer.
    Ping,
    /// A delivery we do not act on, and why: another event, a closed pull request, a deleted
    /// branch. The server answers it with success so that the forge does not retry it.
    Ignored { reason: String },
}

impl ForgeEvent {
    /// The commit a build of this event would check out, or `None` when the event starts
    /// nothing (a ping, a deleted tag, anything ignored).
    pub fn commit_to_build(&self) -> Option<&str> {
        match self {
            ForgeEvent::Push(push) => Some(&push.after),
            ForgeEvent::Tag(tag) if !tag.deleted => Some(&tag.sha),
            ForgeEvent::PullRequest(pull) => Some(&pull.head_sha),
            ForgeEvent::Tag(_) | ForgeEvent::Ping | ForgeEvent::Ignored { .. } => None,
        }
    }

    pub(crate) fn ignored(reason: impl Into<String>) -> Self {
        ForgeEvent::Ignored {
            reason: reason.into(),
        }
    }
}

/// Commits pushed to a branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Push {
    /// The branch's name, without `refs/heads/`.
    pub branch: String,
    /// The branch's commit before the push; all zeros when the push created the branch.
    pub before: String,
    /// The branch's commit after the push: the head to build.
    pub after: String,
    /// Whether the push created the branch.
    pub created: bool,
    /// The commits the forge lists for the push, in its order (each forge caps the list; a new
    /// branch may list none).
    pub commits: Vec<Commit>,
    /// Who pushed: a login where the forge gives one, else a display name.
    pub pusher: String,
    pub repository: Repository,
}

/// A tag pushed or deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tag {
    /// The tag's name, without `refs/tags/`.
    pub name: String,
    /// The commit the tag points to (an annotated tag's commit, not the tag object), or, for a
    /// deleted tag, the object it pointed to.
    pub sha: String,
    pub deleted: bool,
    pub pusher: String,
    pub repository: Repository,
}

/// A pull request worth building.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PullRequest {
    pub action: PullRequestAction,
    /// The number people use (GitLab's `iid`).
    pub number: u64,
    pub title: String,
    pub head_branch: String,
    /// The head commit to build.
    pub head_sha: String,
    pub base_branch: String,
    /// GitHub and Gitea: who opened the pull request; GitLab: who acted (its payload names the
    /// author only by id).
    pub author: String,
    /// The repository the pull request is against (its head may be in a fork).
    pub repository: Repository,
}

/// Why a pull request is worth a build; every other action is [`ForgeEvent::Ignored`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PullRequestAction {
    Opened,
    Reopened,
    /// New commits on the head branch (GitHub `synchronize`, Gitea `synchronized`, GitLab
    /// `update` with an `oldrev`).
    Synchronize,
}

/// One commit of a push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Commit {
    pub id: String,
    pub message: String,
    pub author: Person,
    /// The commit's page on the forge.
    pub url: String,
}

/// A commit's author as git recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Person {
    pub name: String,
    /// Absent when the forge sends none (GitHub may send `null`).
    pub email: Option<String>,
}

/// The repository an event is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Repository {
    /// `owner/name` (GitLab: the project's full path, which may hold subgroups).
    pub full_name: String,
    /// Its page on the forge.
    pub web_url: String,
    /// What `git clone` takes over HTTP(S).
    pub clone_url: String,
}

/// A ref moved by a push, as every forge describes one; [`RefUpdate::into_event`] decides
/// what it means for us.
pub(crate) struct RefUpdate {
    /// The full ref: `refs/heads/main`, `refs/tags/v1`.
    pub reference: String,
    pub before: String,
    pub after: String,
    /// Whether the forge says the push deleted the ref (also when `after` is all zeros).
    pub deleted: bool,
    /// The commit the ref now points to when the forge resolves it (an annotated tag's commit
    /// rather than the tag object): GitHub's and Gitea's `head_commit`, GitLab's `checkout_sha`.
    pub head_commit: Option<String>,
    pub commits: Vec<Commit>,
    pub pusher: String,
    pub repository: Repository,
}

impl RefUpdate {
    pub(crate) fn into_event(self) -> ForgeEvent {
        let deleted = self.deleted || is_zero_sha(&self.after);
        if let Some(name) = self.reference.strip_prefix("refs/tags/") {
            let sha = if deleted {
                self.before
            } else {
                self.head_commit.unwrap_or(self.after)
            };
            return ForgeEvent::Tag(Tag {
                name: name.to_owned(),
                sha,
                deleted,
                pusher: self.pusher,
                repository: self.repository,
            });
        }
        let Some(branch) = self.reference.strip_prefix("refs/heads/") else {
            return ForgeEvent::ignored(format!("ref `{}` is neither a branch nor a tag", self.reference));
        };
        if deleted {
            return ForgeEvent::ignored(format!("branch `{branch}` was deleted"));
        }
        ForgeEvent::Push(Push {
            branch: branch.to_owned(),
            created: is_zero_sha(&self.before),
            before: self.before,
            after: self.after,
            commits: self.commits,
            pusher: self.pusher,
            repository: self.repository,
        })
    }
}

/// Git's name for no object: the `before` of a created ref and the `after` of a deleted one.
pub(crate) fn is_zero_sha(sha: &str) -> bool {
    !sha.is_empty() && sha.bytes().all(|byte| byte == b'0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_existing_commits_are_built() {
        let repository = Repository {
            full_name: "o/r".into(),
            web_url: String::new(),
            clone_url: String::new(),
        };
        let tag = |deleted| {
            ForgeEvent::Tag(Tag {
                name: "v1".into(),
                sha: "abc".into(),
                deleted,
                pusher: "p".into(),
                repository: repository.clone(),
            })
        };
        assert_eq!(tag(false).commit_to_build(), Some("abc"));
        assert_eq!(tag(true).commit_to_build(), None);
        assert_eq!(ForgeEvent::Ping.commit_to_build(), None);
        assert_eq!(ForgeEvent::ignored("x").commit_to_build(), None);
    }

    #[test]
    fn zero_shas_are_recognised() {
        assert!(is_zero_sha("0000000000000000000000000000000000000000"));
        assert!(!is_zero_sha("0000000000000000000000000000000000000001"));
        assert!(!is_zero_sha(""));
    }
}
