//! [`ArtifactError`]: what can go wrong storing or reading an artifact, with the location or
//! the digest it concerns.

use std::io;
use std::path::PathBuf;

/// A failed artifact operation. (`object_store`'s errors are boxed: they are large, and rare.)
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("`{location}` is not an artifact location: {reason}")]
    InvalidLocation { location: String, reason: String },

    #[error("`{digest}` is not a sha256 digest (64 hexadecimal digits)")]
    InvalidDigest { digest: String },

    /// The content does not have the digest it is stored under; nothing was stored.
    #[error("the content has sha256 {actual}, not {expected}")]
    DigestMismatch { expected: String, actual: String },

    /// The content is larger than the caller accepts; nothing was stored.
    #[error("the artifact is larger than {limit} bytes")]
    TooLarge { limit: u64 },

    /// The content could not be read to the end (a cut connection, a failed read).
    #[error("failed to read the artifact's content from {from}")]
    Source {
        from: String,
        #[source]
        source: io::Error,
    },

    #[error("failed to create the directory `{}`", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// The bucket could not be listed when it was opened.
    #[error("cannot use the bucket `{bucket}` for artifacts (`{location}`): listing it failed: {reason}")]
    BucketUnusable {
        bucket: String,
        location: String,
        reason: &'static str,
        #[source]
        source: Box<object_store::Error>,
    },

    /// The directory or the object store refused or failed; `operation` says what was tried
    /// ("list", "write", ...), `location` where (`s3://bucket/prefix/...` or a path).
    #[error("failed to {operation} `{location}`")]
    Backend {
        operation: &'static str,
        location: String,
        #[source]
        source: Box<object_store::Error>,
    },
}
