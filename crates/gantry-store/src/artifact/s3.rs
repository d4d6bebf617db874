//! The S3-compatible backend: a bucket (and a key prefix in it) reached with the standard AWS
//! settings, checked once when it is opened so that a wrong bucket or refused credentials stop
//! a server at startup instead of failing its first upload.

use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, RetryConfig};

use super::{ArtifactError, S3Location};

/// Connects to `location`'s bucket and lists it once.
pub(crate) async fn open(location: &S3Location) -> Result<Arc<dyn ObjectStore>, ArtifactError> {
    // object_store's HTTP client carries rustls without a crypto provider of its own; this
    // is the one the rest of Gantry's TLS uses. Installed already on a second call: fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(&location.bucket);
    for (name, value) in location.settings() {
        let key = name
            .parse::<AmazonS3ConfigKey>()
            .map_err(|_| ArtifactError::InvalidLocation {
                location: location.to_string(),
                reason: format!("`{name}` is not an AWS setting"),
            })?;
        builder = builder.with_config(key, value);
    }
    let configured = |builder: AmazonS3Builder| -> Result<Arc<dyn ObjectStore>, ArtifactError> {
        let bucket = builder.build().map_err(|source| ArtifactError::Backend {
            operation: "configure access to",
            location: location.to_string(),
            source: Box::new(source),
        })?;
        Ok(if location.prefix.is_empty() {
            Arc::new(bucket)
        } else {
            Arc::new(PrefixStore::new(bucket, location.prefix.as_str()))
        })
    };
    // The check at startup gives up after a few seconds (a wrong endpoint is told at once);
    // requests later keep object_store's patient retries, which ride out a brief outage.
    let probe = configured(builder.clone().with_retry(RetryConfig {
        max_retries: 2,
        retry_timeout: Duration::from_secs(10),
        ..RetryConfig::default()
    }))?;
    let objects = configured(builder)?;
    if let Err(source) = probe.list_with_delimiter(Some(&ObjectPath::from("sha256"))).await {
        return Err(ArtifactError::BucketUnusable {
            bucket: location.bucket.clone(),
            location: location.to_string(),
            reason: reason(&source),
            source: Box::new(source),
        });
    }
    Ok(objects)
}

/// The likely cause, in words, of a failed first listing.
fn reason(error: &object_store::Error) -> &'static str {
    match error {
        object_store::Error::NotFound { .. } => "the bucket does not exist",
        object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. } => {
            "the credentials were refused (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)"
        }
        other if other.to_string().contains("NoSuchBucket") => "the bucket does not exist",
        other
            if ["InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied"]
                .iter()
                .any(|code| other.to_string().contains(code)) =>
        {
            "the credentials were refused (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)"
        }
        _ => "the object store did not answer as expected (AWS_ENDPOINT_URL, AWS_REGION)",
    }
}
