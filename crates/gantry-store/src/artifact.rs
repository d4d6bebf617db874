//! The content-addressed artifact directory: `artifacts/sha256/<first 2 hex>/<full hex>`.
//!
//! A file is copied in once per digest, its digest checked while it is copied, and written under
//! a temporary name first, so that a file under its digest is always complete and right.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::StoreError;

/// Where artifacts live.
#[derive(Debug, Clone)]
pub(crate) struct ArtifactStore {
    root: PathBuf,
}

impl ArtifactStore {
    pub(crate) fn new(root: PathBuf) -> Self {
        Self { root }
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// Where the artifact with this digest is (or would be) stored.
    pub(crate) fn path(&self, sha256: &str) -> Result<PathBuf, StoreError> {
        let digest = normalize_digest(sha256)?;
        Ok(self.root.join("sha256").join(&digest[..2]).join(&digest))
    }

    /// Copies `source` in under `sha256`, unless an artifact with that digest is already stored.
    /// Blocking: call it from a blocking thread.
    pub(crate) fn store(&self, source: &Path, sha256: &str) -> Result<PathBuf, StoreError> {
        let expected = normalize_digest(sha256)?;
        let target = self.path(&expected)?;
        if target.is_file() {
            return Ok(target);
        }
        let dir = target.parent().unwrap_or(&self.root).to_path_buf();
        fs::create_dir_all(&dir).map_err(|source| StoreError::CreateDir {
            path: dir.clone(),
            source,
        })?;
        let temporary = dir.join(format!(".{expected}.{}.partial", std::process::id()));
        let copied = copy_hashing(source, &temporary);
        let actual = match copied {
            Ok(actual) => actual,
            Err(err) => {
                let _ = fs::remove_file(&temporary);
                return Err(err);
            }
        };
        if actual != expected {
            let _ = fs::remove_file(&temporary);
            return Err(StoreError::DigestMismatch {
                path: source.to_path_buf(),
                expected,
                actual,
            });
        }
        // Another process may have stored the same digest meanwhile; the bytes are the same.
        fs::rename(&temporary, &target).map_err(|source| StoreError::ArtifactIo {
            operation: "move the artifact into place at",
            path: target.clone(),
            source,
        })?;
        Ok(target)
    }
}

/// Copies `source` to `target`, returning the sha256 of what was copied.
fn copy_hashing(source: &Path, target: &Path) -> Result<String, StoreError> {
    let read_error = |source_error: io::Error| StoreError::ArtifactIo {
        operation: "read the artifact",
        path: source.to_path_buf(),
        source: source_error,
    };
    let write_error = |source_error: io::Error| StoreError::ArtifactIo {
        operation: "write the artifact copy",
        path: target.to_path_buf(),
        source: source_error,
    };
    let mut input = File::open(source).map_err(read_error)?;
    let mut output = File::create(target).map_err(write_error)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0_u8; 256 * 1024];
    loop {
        let read = match input.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(read_error(err)),
        };
        hasher.update(&buffer[..read]);
        output.write_all(&buffer[..read]).map_err(write_error)?;
    }
    output.sync_all().map_err(write_error)?;
    Ok(hex::encode(hasher.finalize()))
}

/// Lowercase hex of exactly 64 digits; anything else (which could also escape the directory
/// when joined to a path) is refused.
pub(crate) fn normalize_digest(digest: &str) -> Result<String, StoreError> {
    if digest.len() == 64 && digest.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        Ok(digest.to_ascii_lowercase())
    } else {
        Err(StoreError::InvalidDigest {
            digest: digest.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO_SHA256: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    #[test]
    fn stores_once_by_digest_and_checks_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::new(dir.path().join("artifacts"));
        let source = dir.path().join("hello.txt");
        fs::write(&source, "hello").unwrap();

        let stored = store.store(&source, &HELLO_SHA256.to_uppercase()).unwrap();
        assert_eq!(stored, dir.path().join("artifacts/sha256/2c").join(HELLO_SHA256));
        assert_eq!(fs::read_to_string(&stored).unwrap(), "hello");

        // Present already: the source is not read again.
        fs::remove_file(&source).unwrap();
        assert_eq!(store.store(&source, HELLO_SHA256).unwrap(), stored);

        let other = dir.path().join("other.txt");
        fs::write(&other, "not hello").unwrap();
        let wrong = "0".repeat(64);
        let err = store.store(&other, &wrong).unwrap_err();
        assert!(matches!(err, StoreError::DigestMismatch { .. }), "{err:?}");
        assert!(!store.path(&wrong).unwrap().exists());
        assert_eq!(
            fs::read_dir(dir.path().join("artifacts/sha256/00"))
                .unwrap()
                .count(),
            0
        );
    }

    #[test]
    fn refuses_what_is_not_a_digest() {
        for digest in ["", "../../etc/passwd", &"g".repeat(64), &"a".repeat(63)] {
            assert!(
                matches!(normalize_digest(digest), Err(StoreError::InvalidDigest { .. })),
                "{digest}"
            );
        }
    }
}
