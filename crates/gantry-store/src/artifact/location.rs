//! [`ArtifactLocation`]: where artifacts are kept, as `--artifacts` names it: a directory, or
//! `s3://BUCKET/PREFIX` in an S3-compatible object store.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use super::ArtifactError;

/// Where artifacts are kept.
#[derive(Clone, PartialEq, Eq)]
pub enum ArtifactLocation {
    /// A local directory, laid out as `sha256/<first 2 hex>/<full hex>`.
    Dir(PathBuf),
    /// An S3-compatible bucket, objects under `PREFIX/sha256/<first 2 hex>/<full hex>`.
    S3(S3Location),
}

/// A bucket and a key prefix in an S3-compatible object store.
///
/// Credentials, region and endpoint come from the standard AWS environment variables
/// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION` or
/// `AWS_DEFAULT_REGION`, `AWS_ENDPOINT_URL` and `AWS_ALLOW_HTTP` for other S3-compatible
/// stores) when the store is opened; [`S3Location::with_setting`] overrides one of them.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Location {
    /// The bucket's name.
    pub bucket: String,
    /// The key prefix without leading or trailing `/`; empty for the bucket's root.
    pub prefix: String,
    /// Settings that take precedence over the environment, by lowercase AWS variable name
    /// (`aws_endpoint_url`, `aws_access_key_id`, ...).
    settings: BTreeMap<String, String>,
}

impl S3Location {
    /// `s3://bucket/prefix`, configured from the environment when opened.
    pub fn new(bucket: impl Into<String>, prefix: &str) -> Self {
        Self {
            bucket: bucket.into(),
            prefix: prefix.trim_matches('/').to_owned(),
            settings: BTreeMap::new(),
        }
    }

    /// The same location with an AWS setting (named like its environment variable, in any
    /// case: `AWS_ENDPOINT_URL`) that wins over the environment's.
    #[must_use]
    pub fn with_setting(mut self, name: &str, value: impl Into<String>) -> Self {
        self.settings.insert(name.to_ascii_lowercase(), value.into());
        self
    }

    /// The settings given with [`S3Location::with_setting`].
    pub(crate) fn settings(&self) -> impl Iterator<Item = (&str, &str)> {
        self.settings
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }
}

impl fmt::Display for S3Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "s3://{}", self.bucket)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

/// Shows the setting names only: their values may be secrets.
impl fmt::Debug for S3Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Location")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("settings", &self.settings.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl fmt::Display for ArtifactLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dir(path) => write!(f, "{}", path.display()),
            Self::S3(location) => location.fmt(f),
        }
    }
}

impl fmt::Debug for ArtifactLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dir(path) => f.debug_tuple("Dir").field(path).finish(),
            Self::S3(location) => f.debug_tuple("S3").field(location).finish(),
        }
    }
}

impl From<PathBuf> for ArtifactLocation {
    fn from(path: PathBuf) -> Self {
        Self::Dir(path)
    }
}

/// `s3://BUCKET[/PREFIX]`, or anything without a scheme as a directory path.
impl FromStr for ArtifactLocation {
    type Err = ArtifactError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: &str| ArtifactError::InvalidLocation {
            location: text.to_owned(),
            reason: reason.to_owned(),
        };
        let Some((scheme, rest)) = text.split_once("://") else {
            if text.is_empty() {
                return Err(invalid("it is empty"));
            }
            return Ok(Self::Dir(PathBuf::from(text)));
        };
        if !scheme.eq_ignore_ascii_case("s3") {
            return Err(invalid(
                "the scheme is not `s3`; give a directory or `s3://BUCKET/PREFIX`",
            ));
        }
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        // S3's own rule for bucket names (3 to 63 of a-z, 0-9, `.`, `-`), so that a typo is
        // told here rather than as a failed request.
        let valid_bucket = (3..=63).contains(&bucket.len())
            && bucket.bytes().all(|byte| {
                byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'.' || byte == b'-'
            });
        if !valid_bucket {
            return Err(invalid(
                "the bucket name must be 3 to 63 lowercase letters, digits, `.` or `-`",
            ));
        }
        if prefix.split('/').any(|part| part == "." || part == "..") {
            return Err(invalid("the prefix may not contain `.` or `..` segments"));
        }
        Ok(Self::S3(S3Location::new(bucket, prefix)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_directories_and_buckets() {
        let check = |text: &str, expect: Option<ArtifactLocation>| {
            assert_eq!(text.parse::<ArtifactLocation>().ok(), expect, "{text}");
        };
        check("artifacts", Some(ArtifactLocation::Dir("artifacts".into())));
        check(
            "/var/lib/gantry",
            Some(ArtifactLocation::Dir("/var/lib/gantry".into())),
        );
        check(
            "s3://gantry-artifacts",
            Some(ArtifactLocation::S3(S3Location::new("gantry-artifacts", ""))),
        );
        check(
            "s3://gantry-artifacts/team/a/",
            Some(ArtifactLocation::S3(S3Location::new(
                "gantry-artifacts",
                "team/a",
            ))),
        );
        check("", None);
        check("s3://", None);
        check("s3://Upper", None);
        check("s3://ab", None);
        check("s3://bucket/../x", None);
        check("gs://bucket/prefix", None);
    }

    #[test]
    fn shows_the_url_and_hides_setting_values() {
        let location = S3Location::new("b-1", "/p/q/").with_setting("AWS_SECRET_ACCESS_KEY", "hunter22");
        assert_eq!(location.to_string(), "s3://b-1/p/q");
        let shown = format!("{:?}", ArtifactLocation::S3(location));
        assert!(
            shown.contains("aws_secret_access_key") && !shown.contains("hunter22"),
            "{shown}"
        );
    }
}
