//! GitLab: its webhook payloads.
//!
//! Events (<https://docs.gitlab.com/user/project/integrations/webhook_events/>), named by the
//! `X-Gitlab-Event` header: `Push Hook` (branches; a deleted branch has an all-zero `after`
//! and is ignored), `Tag Push Hook` (tags pushed or deleted; `checkout_sha` is the commit an
//! annotated tag points to), `Merge Request Hook` with the actions `open`, `reopen`, and
//! `update` when it carries an `oldrev` (new commits; an update without one changed only the
//! title, labels or the like). GitLab has no ping: "Test" sends a sample of the event.

use serde::Deserialize;

use crate::event::{Commit, ForgeEvent, Person, PullRequest, PullRequestAction, RefUpdate, Repository};
use crate::webhook::{WebhookError, from_json};

pub(crate) fn parse(event_kind: &str, body: &[u8]) -> Result<ForgeEvent, WebhookError> {
    match event_kind {
        "Push Hook" | "Tag Push Hook" => {
            let push: RawPush = from_json(event_kind, body)?;
            Ok(RefUpdate {
                reference: push.reference,
                before: push.before,
                after: push.after,
                deleted: false,
                head_commit: push.checkout_sha,
                commits: push.commits.into_iter().map(RawCommit::into_commit).collect(),
                pusher: push.user_username.or(push.user_name).unwrap_or_default(),
                repository: push.project.into_repository(),
            }
            .into_event())
        }
        "Merge Request Hook" => {
            let event: RawMergeRequestEvent = from_json(event_kind, body)?;
            let request = event.object_attributes;
            let action = match (request.action.as_deref(), &request.oldrev) {
                (Some("open"), _) => PullRequestAction::Opened,
                (Some("reopen"), _) => PullRequestAction::Reopened,
                (Some("update"), Some(_)) => PullRequestAction::Synchronize,
                (Some("update"), None) => {
                    return Ok(ForgeEvent::ignored(format!(
                        "merge request !{} was updated without new commits",
                        request.iid
                    )));
                }
                (other, _) => {
                    return Ok(ForgeEvent::ignored(format!(
                        "merge request !{} `{}` is not built",
                        request.iid,
                        other.unwrap_or("(no action)")
                    )));
                }
            };
            Ok(ForgeEvent::PullRequest(PullRequest {
                action,
                number: request.iid,
                title: request.title,
                head_branch: request.source_branch,
                head_sha: request.last_commit.id,
                base_branch: request.target_branch,
                author: event.user.username,
                repository: event.project.into_repository(),
            }))
        }
        other => Ok(ForgeEvent::ignored(format!("event `{other}` is not acted on"))),
    }
}

#[derive(Deserialize)]
struct RawPush {
    #[serde(rename = "ref")]
    reference: String,
    before: String,
    after: String,
    checkout_sha: Option<String>,
    user_username: Option<String>,
    user_name: Option<String>,
    commits: Vec<RawCommit>,
    project: RawProject,
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
struct RawProject {
    path_with_namespace: String,
    web_url: String,
    git_http_url: String,
}

impl RawProject {
    fn into_repository(self) -> Repository {
        Repository {
            full_name: self.path_with_namespace,
            web_url: self.web_url,
            clone_url: self.git_http_url,
        }
    }
}

#[derive(Deserialize)]
struct RawMergeRequestEvent {
    user: RawUser,
    project: RawProject,
    object_attributes: RawMergeRequest,
}

#[derive(Deserialize)]
struct RawUser {
    username: String,
}

#[derive(Deserialize)]
struct RawMergeRequest {
    iid: u64,
    title: String,
    source_branch: String,
    target_branch: String,
    last_commit: RawLastCommit,
    action: Option<String>,
    oldrev: Option<String>,
}

#[derive(Deserialize)]
struct RawLastCommit {
    id: String,
}
