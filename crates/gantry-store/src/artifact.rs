//! Artifacts, kept by sha256 digest behind one interface, [`ArtifactStore`], over two backends:
//! a local directory ([`local`], the default, beside a SQLite store) and any S3-compatible object
//! store ([`s3`], `s3://BUCKET/PREFIX`), so that server replicas on several machines need no
//! shared file system. Both are reached through the `object_store` crate, and both lay
//! artifacts out alike: `sha256/<first 2 hex>/<full hex>` ([`digest`]).
//!
//! Writing streams the content while it is hashed and counted, as a multipart upload that is
//! completed only when the digest is right: a wrong digest, a cut connection or an oversized
//! body aborts it, and nothing becomes visible under the key. A digest stored already is
//! acknowledged without reading its content: the bytes are the same by definition.
//!
//! - [`location`]: [`ArtifactLocation`], what `--artifacts` names.
//! - [`error`]: [`ArtifactError`], what went wrong and where.

mod digest;
mod error;
mod local;
mod location;
mod s3;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt, TryStreamExt};
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use sha2::{Digest, Sha256};

use digest::normalize_digest;
pub use error::ArtifactError;
pub use location::{ArtifactLocation, S3Location};

/// How many parts of one upload are sent to the object store at once; with its 5 MiB parts,
/// this bounds the memory an upload holds.
const PARTS_IN_FLIGHT: usize = 4;

/// Where artifacts are kept, whichever backend that is; cheap to clone.
#[derive(Debug, Clone)]
pub struct ArtifactStore {
    location: ArtifactLocation,
    objects: Arc<dyn ObjectStore>,
}

/// What [`ArtifactStore::put`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredArtifact {
    /// The digest, lowercase.
    pub sha256: String,
    /// The stored content's size in bytes.
    pub size: u64,
    /// `false` when the artifact was stored already (its content was not read).
    pub created: bool,
}

/// An artifact being read: its size, then its content as a stream.
pub struct ArtifactReader {
    pub size: u64,
    pub content: BoxStream<'static, Result<Bytes, ArtifactError>>,
}

impl ArtifactStore {
    /// Opens the artifact store at `location`: a directory is created when missing; a bucket
    /// is listed once, so that a missing bucket or refused credentials are told now.
    pub async fn open(location: ArtifactLocation) -> Result<Self, ArtifactError> {
        let objects = match &location {
            ArtifactLocation::Dir(root) => local::open(root)?,
            ArtifactLocation::S3(bucket) => s3::open(bucket).await?,
        };
        Ok(Self { location, objects })
    }

    /// Where this store keeps artifacts.
    pub fn location(&self) -> &ArtifactLocation {
        &self.location
    }

    /// Where the artifact with this digest is (or would be) stored: a file path in a local
    /// directory, an `s3://BUCKET/KEY` url in a bucket.
    pub fn stored_at(&self, sha256: &str) -> Result<PathBuf, ArtifactError> {
        let digest = normalize_digest(sha256)?;
        Ok(self.describe(&digest).into())
    }

    /// The size of the artifact with this digest, `None` when it is not stored.
    pub async fn size(&self, sha256: &str) -> Result<Option<u64>, ArtifactError> {
        let digest = normalize_digest(sha256)?;
        match self.objects.head(&digest::object_key(&digest)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(source) => Err(self.failed("read the size of", &digest, source)),
        }
    }

    /// Stores `content` under `sha256` unless that digest is stored already, refusing content
    /// of more than `limit` bytes or of another digest (then nothing is stored).
    pub async fn put<S>(&self, sha256: &str, content: S, limit: u64) -> Result<StoredArtifact, ArtifactError>
    where
        S: Stream<Item = Result<Bytes, ArtifactError>> + Send,
    {
        let digest = normalize_digest(sha256)?;
        if let Some(stored) = self.already_stored(&digest).await? {
            return Ok(stored);
        }
        self.write(digest, content, limit).await
    }

    /// Stores the file at `path` under `sha256`, unless that digest is stored already (then
    /// the file is not read).
    pub async fn put_file(&self, path: &Path, sha256: &str) -> Result<StoredArtifact, ArtifactError> {
        let digest = normalize_digest(sha256)?;
        if let Some(stored) = self.already_stored(&digest).await? {
            return Ok(stored);
        }
        let from = || format!("`{}`", path.display());
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|source| ArtifactError::Source { from: from(), source })?;
        let content = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024)
            .map_err(move |source| ArtifactError::Source { from: from(), source });
        self.write(digest, content, u64::MAX).await
    }

    /// The artifact with this digest, `None` when it is not stored.
    pub async fn get(&self, sha256: &str) -> Result<Option<ArtifactReader>, ArtifactError> {
        let digest = normalize_digest(sha256)?;
        let result = match self.objects.get(&digest::object_key(&digest)).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(source) => return Err(self.failed("read", &digest, source)),
        };
        let size = result.meta.size;
        let location = self.describe(&digest);
        let content = result
            .into_stream()
            .map_err(move |source| ArtifactError::Backend {
                operation: "read",
                location: location.clone(),
                source: Box::new(source),
            })
            .boxed();
        Ok(Some(ArtifactReader { size, content }))
    }

    /// Removes what unfinished writes older than `max_age` left in a local directory (a crash
    /// mid-upload). An object store keeps unfinished multipart uploads out of sight; a bucket
    /// lifecycle rule (`AbortIncompleteMultipartUpload`) removes them.
    pub fn remove_stale_uploads(&self, max_age: Duration) {
        if let ArtifactLocation::Dir(root) = &self.location {
            local::remove_stale_uploads(root, max_age);
        }
    }

    async fn already_stored(&self, digest: &str) -> Result<Option<StoredArtifact>, ArtifactError> {
        Ok(self.size(digest).await?.map(|size| StoredArtifact {
            sha256: digest.to_owned(),
            size,
            created: false,
        }))
    }

    /// Streams `content` into a multipart upload of `digest`'s key while hashing it; completes
    /// the upload only when everything was read and the digest is right, aborts it otherwise.
    async fn write<S>(&self, digest: String, content: S, limit: u64) -> Result<StoredArtifact, ArtifactError>
    where
        S: Stream<Item = Result<Bytes, ArtifactError>> + Send,
    {
        let upload = self
            .objects
            .put_multipart(&digest::object_key(&digest))
            .await
            .map_err(|source| self.failed("start writing", &digest, source))?;
        let mut writer = WriteMultipart::new(upload);
        let received = self.receive(&mut writer, &digest, content, limit).await;
        let failure = match received {
            Ok((size, actual)) if actual == digest => {
                return match writer.finish().await {
                    Ok(_) => Ok(StoredArtifact {
                        sha256: digest,
                        size,
                        created: true,
                    }),
                    Err(source) => Err(self.failed("write", &digest, source)),
                };
            }
            Ok((_, actual)) => ArtifactError::DigestMismatch {
                expected: digest.clone(),
                actual,
            },
            Err(error) => error,
        };
        // Best effort: an abort that fails leaves an unfinished upload, never a visible object.
        let _ = writer.abort().await;
        Err(failure)
    }

    /// Feeds `content` to `writer`, returning its size and sha256.
    async fn receive<S>(
        &self,
        writer: &mut WriteMultipart,
        digest: &str,
        content: S,
        limit: u64,
    ) -> Result<(u64, String), ArtifactError>
    where
        S: Stream<Item = Result<Bytes, ArtifactError>> + Send,
    {
        let mut content = std::pin::pin!(content);
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        while let Some(chunk) = content.next().await {
            let chunk = chunk?;
            size = size.saturating_add(chunk.len() as u64);
            if size > limit {
                return Err(ArtifactError::TooLarge { limit });
            }
            hasher.update(&chunk);
            writer
                .wait_for_capacity(PARTS_IN_FLIGHT)
                .await
                .map_err(|source| self.failed("write", digest, source))?;
            writer.put(chunk);
        }
        Ok((size, hex::encode(hasher.finalize())))
    }

    /// The stored copy of `digest`, for people and error messages.
    fn describe(&self, digest: &str) -> String {
        let key = digest::key(digest);
        match &self.location {
            ArtifactLocation::Dir(root) => root.join(key).display().to_string(),
            ArtifactLocation::S3(bucket) => format!("{bucket}/{key}"),
        }
    }

    fn failed(&self, operation: &'static str, digest: &str, source: object_store::Error) -> ArtifactError {
        ArtifactError::Backend {
            operation,
            location: self.describe(digest),
            source: Box::new(source),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO_SHA256: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    fn chunks(parts: &[&'static [u8]]) -> impl Stream<Item = Result<Bytes, ArtifactError>> + Send + use<> {
        futures_util::stream::iter(
            parts
                .iter()
                .map(|part| Ok(Bytes::from_static(part)))
                .collect::<Vec<_>>(),
        )
    }

    async fn read_all(store: &ArtifactStore, sha256: &str) -> Option<Vec<u8>> {
        let reader = store.get(sha256).await.unwrap()?;
        let parts: Vec<Bytes> = reader.content.try_collect().await.unwrap();
        let content = parts.concat();
        assert_eq!(content.len() as u64, reader.size);
        Some(content)
    }

    #[tokio::test]
    async fn stores_once_by_digest_in_the_directory_layout_and_checks_it() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("artifacts");
        let store = ArtifactStore::open(ArtifactLocation::Dir(root.clone()))
            .await
            .unwrap();
        let source = dir.path().join("hello.txt");
        std::fs::write(&source, "hello").unwrap();

        let stored = store
            .put_file(&source, &HELLO_SHA256.to_uppercase())
            .await
            .unwrap();
        assert_eq!(
            stored,
            StoredArtifact {
                sha256: HELLO_SHA256.into(),
                size: 5,
                created: true
            }
        );
        let path = root.join("sha256/2c").join(HELLO_SHA256);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "hello");
        assert_eq!(store.stored_at(HELLO_SHA256).unwrap(), path);
        assert_eq!(read_all(&store, HELLO_SHA256).await.unwrap(), b"hello");

        // Present already: the source is not read again.
        std::fs::remove_file(&source).unwrap();
        let again = store.put_file(&source, HELLO_SHA256).await.unwrap();
        assert!(!again.created && again.size == 5, "{again:?}");
    }

    #[tokio::test]
    async fn refused_content_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("artifacts");
        let store = ArtifactStore::open(ArtifactLocation::Dir(root.clone()))
            .await
            .unwrap();
        let wrong = "0".repeat(64);

        let err = store
            .put(&wrong, chunks(&[b"not ", b"hello"]), u64::MAX)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, ArtifactError::DigestMismatch { expected, actual }
                if *expected == wrong && actual.len() == 64),
            "{err:?}"
        );
        let err = store
            .put(HELLO_SHA256, chunks(&[b"hel", b"lo"]), 4)
            .await
            .unwrap_err();
        assert!(matches!(err, ArtifactError::TooLarge { limit: 4 }), "{err:?}");
        let cut = futures_util::stream::iter([
            Ok(Bytes::from_static(b"hel")),
            Err(ArtifactError::Source {
                from: "the request".into(),
                source: std::io::Error::other("connection reset"),
            }),
        ]);
        let err = store.put(HELLO_SHA256, cut, u64::MAX).await.unwrap_err();
        assert!(matches!(err, ArtifactError::Source { .. }), "{err:?}");

        assert_eq!(store.size(&wrong).await.unwrap(), None);
        assert_eq!(store.size(HELLO_SHA256).await.unwrap(), None);
        assert!(store.get(HELLO_SHA256).await.unwrap().is_none());
        for shard in ["00", "2c"] {
            let left: Vec<_> = std::fs::read_dir(root.join("sha256").join(shard))
                .map(|entries| entries.flatten().map(|entry| entry.file_name()).collect())
                .unwrap_or_default();
            assert!(left.is_empty(), "{shard}: {left:?}");
        }

        let stored = store
            .put(HELLO_SHA256, chunks(&[b"hel", b"lo"]), 5)
            .await
            .unwrap();
        assert!(stored.created && stored.size == 5, "{stored:?}");
    }

    #[tokio::test]
    async fn removes_only_stale_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("artifacts");
        let store = ArtifactStore::open(ArtifactLocation::Dir(root.clone()))
            .await
            .unwrap();
        let shard = root.join("sha256/2c");
        std::fs::create_dir_all(&shard).unwrap();
        std::fs::create_dir_all(root.join(".uploads")).unwrap();
        let temporary = [
            shard.join(format!("{HELLO_SHA256}#1")),
            shard.join(format!(".{HELLO_SHA256}.12.partial")),
            root.join(".uploads/0a.partial"),
        ];
        let kept = shard.join(HELLO_SHA256);
        for path in temporary.iter().chain([&kept]) {
            std::fs::write(path, "x").unwrap();
        }
        store.remove_stale_uploads(Duration::from_hours(1));
        assert!(temporary.iter().all(|path| path.exists()), "young files stay");
        std::thread::sleep(Duration::from_millis(20));
        store.remove_stale_uploads(Duration::from_millis(1));
        assert!(temporary.iter().all(|path| !path.exists()));
        assert!(kept.exists());
    }
}
