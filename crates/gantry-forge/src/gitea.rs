//! Gitea and Forgejo: their webhook payloads.
//!
//! Events (<https://docs.gitea.com/usage/webhooks>): `push` covers branches and tags (Gitea
//! sends a `push` of `refs/tags/NAME` for every tag pushed, and one with an all-zero `after`
//! for a tag deleted: `services/repository/push.go`), so the `create` and `delete` events sent
//! beside them are ignored rather than acted on twice; a deleted branch arrives only as
//! `delete`, and is ignored. `pull_request` with the actions `opened`, `reopened` and
//! `synchronized`. Gitea has no ping: its "Test delivery" sends a `push`.

use serde::Deserialize;

use crate::event::{Commit, ForgeEvent, Person, PullRequest, PullRequestAction, RefUpdate, Repository};
use crate::webhook::{WebhookError, from_json};

pub(crate) fn parse(event_kind: &str, body: &[u8]) -> Result<ForgeEvent, WebhookError> {
    match event_kind {
        "push" => {
            let push: RawPush = from_json(event_kind, body)?;
            Ok(RefUpdate {
                reference: push.reference,
                before: push.before,
                after: push.after,
                deleted: false,
                head_commit: push.head_commit.map(|commit| commit.id),
                commits: push.commits.into_iter().map(RawCommit::into_commit).collect(),
                pusher: push.pusher.login,
                repository: push.repository.into_repository(),
            }
            .into_event())
        }
        "pull_request" => {
            let event: RawPullRequestEvent = from_json(event_kind, body)?;
            let action = match event.action.as_str() {
                "opened" => PullRequestAction::Opened,
                "reopened" => PullRequestAction::Reopened,
                "synchronized" => PullRequestAction::Synchronize,
                other => {
                    return Ok(ForgeEvent::ignored(format!(
                        "pull request #{} `{other}` is not built",
                        event.number
                    )));
                }
            };
            let pull = event.pull_request;
            Ok(ForgeEvent::PullRequest(PullRequest {
                action,
                number: event.number,
                title: pull.title,
                head_branch: pull.head.reference,
                head_sha: pull.head.sha,
                base_branch: pull.base.reference,
                author: pull.user.login,
                repository: event.repository.into_repository(),
            }))
        }
        "create" | "delete" => Ok(ForgeEvent::ignored(format!(
            "a `{event_kind}` event is acted on through the `push` Gitea sends with it"
        ))),
        other => Ok(ForgeEvent::ignored(format!("event `{other}` is not acted on"))),
    }
}

#[derive(Deserialize)]
struct RawPush {
    #[serde(rename = "ref")]
    reference: String,
    before: String,
    after: String,
    commits: Vec<RawCommit>,
    head_commit: Option<RawCommit>,
    pusher: RawUser,
    repository: RawRepository,
}

#[derive(Deserialize)]
struct RawUser {
    login: String,
}

#[derive(Deserialize)]
struct RawCommit {
    id: String,
    message: String,
    url: String,
    author: RawAuthor,
}

#[derive(Deserialize)]
struct RawAuthor {
    name: String,
    email: Option<String>,
}

impl RawCommit {
    fn into_commit(self) -> Commit {
        Commit {
            id: self.id,
            message: self.message,
            author: Person {
                name: self.author.name,
                email: self.author.email.filter(|email| !email.is_empty()),
            },
            url: self.url,
        }
    }
}

#[derive(Deserialize)]
struct RawRepository {
    full_name: String,
    html_url: String,
    clone_url: String,
}

impl RawRepository {
    fn into_repository(self) -> Repository {
        Repository {
            full_name: self.full_name,
            web_url: self.html_url,
            clone_url: self.clone_url,
        }
    }
}

#[derive(Deserialize)]
struct RawPullRequestEvent {
    action: String,
    number: u64,
    pull_request: RawPull,
    repository: RawRepository,
}

#[derive(Deserialize)]
struct RawPull {
    title: String,
    user: RawUser,
    head: RawBranch,
    base: RawBranch,
}

#[derive(Deserialize)]
struct RawBranch {
    #[serde(rename = "ref")]
    reference: String,
    sha: String,
}
