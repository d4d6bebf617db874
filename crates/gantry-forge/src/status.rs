//! A commit status, and the request each forge's API takes for it.
//!
//! A status is keyed on the forge by its commit and its context (`gantry/APP`): setting it
//! again replaces the one shown, so a build sets `pending` when it starts and its outcome when
//! it ends.

use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::json;

use crate::client::{DeliveryError, Prepared};
use crate::kind::{ForgeKind, Secret};

/// Where statuses of a project go: its forge settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusTarget {
    pub kind: ForgeKind,
    /// GitHub: the API's root (`https://api.github.com`, or `https://HOST/api/v3` for GitHub
    /// Enterprise Server). Gitea, Forgejo, GitLab: the instance's root (`https://gitea.example`),
    /// to which `/api/v1` or `/api/v4` is added.
    pub api_url: String,
    /// `owner/name`; on GitLab the project's full path, subgroups included (`group/sub/name`).
    pub repository: String,
    /// A token allowed to set statuses: GitHub `repo:status` (classic) or "Commit statuses:
    /// write" (fine-grained); Gitea/Forgejo `write:repository`; GitLab `api` with the Developer
    /// role.
    pub token: Secret,
}

/// One commit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitStatus {
    /// The full commit id.
    pub sha: String,
    pub state: StatusState,
    /// The page of the build, linked from the forge.
    pub target_url: String,
    /// Which status this is among others on the commit: [`CommitStatus::context_for`].
    pub context: String,
    /// One line for people; cut to [`MAX_DESCRIPTION`] characters.
    pub description: String,
}

/// The longest description sent, in characters: a bound that keeps it to the one line every
/// forge shows it on.
pub const MAX_DESCRIPTION: usize = 140;

impl CommitStatus {
    /// The context of an app's statuses: `gantry/APP`.
    pub fn context_for(app: &str) -> String {
        format!("gantry/{app}")
    }
}

/// A build's state as forges show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusState {
    /// Queued or running.
    Pending,
    Success,
    /// The build ran and failed.
    Failure,
    /// The build could not run or finish (cancelled, interrupted, an invalid pipeline file).
    Error,
}

impl StatusState {
    /// GitHub's and Gitea's names.
    fn github(self) -> &'static str {
        match self {
            StatusState::Pending => "pending",
            StatusState::Success => "success",
            StatusState::Failure => "failure",
            StatusState::Error => "error",
        }
    }

    /// GitLab's names, which have no `error`: a build that could not finish is `failed` there
    /// too (GitLab's `canceled` is kept for a person cancelling in GitLab).
    fn gitlab(self) -> &'static str {
        match self {
            StatusState::Pending => "pending",
            StatusState::Success => "success",
            StatusState::Failure | StatusState::Error => "failed",
        }
    }
}

/// The characters a path segment keeps as they are (RFC 3986's unreserved ones).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The request that sets `status` on `target`'s forge.
pub(crate) fn request(target: &StatusTarget, status: &CommitStatus) -> Result<Prepared, DeliveryError> {
    let invalid = |reason: String| DeliveryError::InvalidTarget {
        what: "commit status",
        reason,
    };
    let root = target.api_url.trim_end_matches('/');
    let parsed = reqwest::Url::parse(root)
        .map_err(|error| invalid(format!("API URL `{root}` is not a URL: {error}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid(format!("API URL `{root}` is not http or https")));
    }
    let sha = status.sha.as_str();
    if !(7..=64).contains(&sha.len()) || !sha.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return Err(invalid(format!("`{sha}` is not a commit id")));
    }
    let description = cut(&status.description, MAX_DESCRIPTION);
    let token = target.token.expose();
    let header = |value: String| {
        HeaderValue::from_str(&value)
            .map(|mut value| {
                value.set_sensitive(true);
                value
            })
            .map_err(|_| invalid("the token holds characters a header cannot".to_owned()))
    };
    let json_type = HeaderValue::from_static("application/json");
    match target.kind {
        // https://docs.github.com/en/rest/commits/statuses#create-a-commit-status
        ForgeKind::GitHub => {
            let (owner, name) = owner_and_name(&target.repository).map_err(invalid)?;
            Ok(Prepared {
                url: format!("{root}/repos/{owner}/{name}/statuses/{sha}"),
                headers: vec![
                    (ACCEPT, HeaderValue::from_static("application/vnd.github+json")),
                    (AUTHORIZATION, header(format!("Bearer {token}"))?),
                    (
                        HeaderName::from_static("x-github-api-version"),
                        HeaderValue::from_static("2022-11-28"),
                    ),
                    (CONTENT_TYPE, json_type),
                ],
                body: json!({
                    "state": status.state.github(),
                    "target_url": status.target_url,
                    "description": description,
                    "context": status.context,
                }),
            })
        }
        // https://docs.gitea.com/api/ (`repoCreateStatus`, body `CreateStatusOption`); Forgejo
        // keeps the same route: https://forgejo.org/docs/latest/user/api-usage/
        ForgeKind::Gitea | ForgeKind::Forgejo => {
            let (owner, name) = owner_and_name(&target.repository).map_err(invalid)?;
            Ok(Prepared {
                url: format!("{root}/api/v1/repos/{owner}/{name}/statuses/{sha}"),
                headers: vec![
                    (ACCEPT, json_type.clone()),
                    (AUTHORIZATION, header(format!("token {token}"))?),
                    (CONTENT_TYPE, json_type),
                ],
                body: json!({
                    "state": status.state.github(),
                    "target_url": status.target_url,
                    "description": description,
                    "context": status.context,
                }),
            })
        }
        // https://docs.gitlab.com/api/commits/#set-the-pipeline-status-of-a-commit: the
        // project is its id or its URL-encoded path; `name` is the context.
        ForgeKind::GitLab => {
            let path = target.repository.trim_matches('/');
            if path.is_empty() || path.split('/').any(str::is_empty) {
                return Err(invalid(format!(
                    "`{}` is not a GitLab project path (`group/name`)",
                    target.repository
                )));
            }
            let project = utf8_percent_encode(path, SEGMENT);
            Ok(Prepared {
                url: format!("{root}/api/v4/projects/{project}/statuses/{sha}"),
                headers: vec![
                    (
                        HeaderName::from_static("private-token"),
                        header(token.to_owned())?,
                    ),
                    (CONTENT_TYPE, json_type),
                ],
                body: json!({
                    "state": status.state.gitlab(),
                    "name": status.context,
                    "target_url": status.target_url,
                    "description": description,
                }),
            })
        }
    }
}

/// `owner/name`, each percent-encoded for a path.
fn owner_and_name(repository: &str) -> Result<(String, String), String> {
    match repository.split('/').collect::<Vec<_>>()[..] {
        [owner, name] if !owner.is_empty() && !name.is_empty() => Ok((
            utf8_percent_encode(owner, SEGMENT).to_string(),
            utf8_percent_encode(name, SEGMENT).to_string(),
        )),
        _ => Err(format!("`{repository}` is not `owner/name`")),
    }
}

/// `text` cut to `limit` characters, an ellipsis marking the cut.
fn cut(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(limit - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(kind: ForgeKind, repository: &str) -> StatusTarget {
        StatusTarget {
            kind,
            api_url: "https://forge.example/".into(),
            repository: repository.into(),
            token: Secret::new("t0ken"),
        }
    }

    fn status(sha: &str) -> CommitStatus {
        CommitStatus {
            sha: sha.into(),
            state: StatusState::Error,
            target_url: "https://gantry.example/runs/1".into(),
            context: CommitStatus::context_for("web"),
            description: "x".repeat(200),
        }
    }

    const SHA: &str = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";

    #[test]
    fn each_forge_gets_its_own_path() {
        let url = |kind, repository| request(&target(kind, repository), &status(SHA)).unwrap().url;
        assert_eq!(
            url(ForgeKind::GitHub, "octo/hello-world"),
            format!("https://forge.example/repos/octo/hello-world/statuses/{SHA}")
        );
        assert_eq!(
            url(ForgeKind::Forgejo, "octo/hello world"),
            format!("https://forge.example/api/v1/repos/octo/hello%20world/statuses/{SHA}")
        );
        assert_eq!(
            url(ForgeKind::GitLab, "group/sub/hello.world"),
            format!("https://forge.example/api/v4/projects/group%2Fsub%2Fhello.world/statuses/{SHA}")
        );
    }

    #[test]
    fn descriptions_are_cut_and_states_named_per_forge() {
        let github = request(&target(ForgeKind::GitHub, "o/r"), &status(SHA)).unwrap();
        let description = github.body["description"].as_str().unwrap();
        assert_eq!(description.chars().count(), MAX_DESCRIPTION);
        assert!(description.ends_with('…'));
        assert_eq!(github.body["state"], "error");
        let gitlab = request(&target(ForgeKind::GitLab, "o/r"), &status(SHA)).unwrap();
        assert_eq!(gitlab.body["state"], "failed");
        assert_eq!(gitlab.body["name"], "gantry/web");
    }

    #[test]
    fn targets_that_cannot_be_right_are_refused_before_sending() {
        let refused = |target: StatusTarget, sha: &str| match request(&target, &status(sha)) {
            Ok(prepared) => panic!("accepted: {}", prepared.url),
            Err(error) => error.to_string(),
        };
        assert_eq!(
            refused(target(ForgeKind::GitHub, "just-a-name"), SHA),
            "invalid commit status target: `just-a-name` is not `owner/name`"
        );
        assert_eq!(
            refused(target(ForgeKind::Gitea, "o/r"), "../../admin"),
            "invalid commit status target: `../../admin` is not a commit id"
        );
        assert_eq!(
            refused(target(ForgeKind::GitLab, "group//name"), SHA),
            "invalid commit status target: `group//name` is not a GitLab project path (`group/name`)"
        );
        let mut ftp = target(ForgeKind::GitHub, "o/r");
        ftp.api_url = "ftp://forge.example".into();
        assert_eq!(
            refused(ftp, SHA),
            "invalid commit status target: API URL `ftp://forge.example` is not http or https"
        );
    }
}
