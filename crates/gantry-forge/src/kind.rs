//! The forges Gantry speaks to, and secrets that never reach a log.

use std::fmt;
use std::str::FromStr;

/// A kind of forge. Forgejo is a fork of Gitea that keeps Gitea's webhooks and API, so it is
/// spoken to as Gitea; it has its own name so that settings say what they mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ForgeKind {
    GitHub,
    Gitea,
    Forgejo,
    GitLab,
}

impl ForgeKind {
    /// Every kind, in the order the docs list them.
    pub const ALL: [ForgeKind; 4] = [
        ForgeKind::GitHub,
        ForgeKind::Gitea,
        ForgeKind::Forgejo,
        ForgeKind::GitLab,
    ];

    /// The name settings use: `github`, `gitea`, `forgejo`, `gitlab`.
    pub fn as_str(self) -> &'static str {
        match self {
            ForgeKind::GitHub => "github",
            ForgeKind::Gitea => "gitea",
            ForgeKind::Forgejo => "forgejo",
            ForgeKind::GitLab => "gitlab",
        }
    }
}

impl fmt::Display for ForgeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A forge kind that is none of ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown forge kind `{0}`; expected one of `github`, `gitea`, `forgejo`, `gitlab`")]
pub struct UnknownForgeKind(pub String);

impl FromStr for ForgeKind {
    type Err = UnknownForgeKind;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        ForgeKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| UnknownForgeKind(text.to_owned()))
    }
}

/// A token or webhook secret. Its `Debug` shows no byte of it, so a struct holding one can be
/// logged whole.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself, for the one place that sends or checks it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_back_as_written() {
        for kind in ForgeKind::ALL {
            assert_eq!(kind.as_str().parse::<ForgeKind>(), Ok(kind));
        }
        assert_eq!(
            "bitbucket".parse::<ForgeKind>().unwrap_err().to_string(),
            "unknown forge kind `bitbucket`; expected one of `github`, `gitea`, `forgejo`, `gitlab`"
        );
    }

    #[test]
    fn a_secret_is_never_shown() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "Secret(***)");
    }
}
