//! The local backend: a content-addressed directory, `ROOT/sha256/<first 2 hex>/<full hex>`, as
//! Gantry has always laid it out, so existing stores open unchanged.
//!
//! A file is written under a temporary name beside its final one (`<hex>#<n>`) and renamed into
//! place once complete, synced to disk first, so that a file under a digest is always complete.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use object_store::ObjectStore;
use object_store::local::LocalFileSystem;

use super::ArtifactError;

/// Where earlier versions of the server streamed uploads before moving them into place.
const LEGACY_UPLOADS_DIR: &str = ".uploads";

/// The directory at `root`, created when missing.
pub(crate) fn open(root: &Path) -> Result<Arc<dyn ObjectStore>, ArtifactError> {
    std::fs::create_dir_all(root).map_err(|source| ArtifactError::CreateDir {
        path: root.to_path_buf(),
        source,
    })?;
    let directory = LocalFileSystem::new_with_prefix(root)
        .map_err(|source| ArtifactError::Backend {
            operation: "open the artifact directory",
            location: root.display().to_string(),
            source: Box::new(source),
        })?
        // A crash must never leave a short file under a digest: synced before it is renamed.
        .with_fsync(true);
    Ok(Arc::new(directory))
}

/// Removes temporary files older than `max_age` that a crash left behind; best effort (another
/// process sharing the directory may be writing, hence the age).
pub(crate) fn remove_stale_uploads(root: &Path, max_age: Duration) {
    let is_temporary = |name: &str| name.contains('#') || name.ends_with(".partial");
    let mut dirs = vec![root.join(LEGACY_UPLOADS_DIR)];
    if let Ok(entries) = std::fs::read_dir(root.join("sha256")) {
        dirs.extend(entries.flatten().map(|entry| entry.path()));
    }
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if !name.to_str().is_some_and(is_temporary) {
                continue;
            }
            let modified = entry
                .metadata()
                .and_then(|metadata| metadata.modified())
                .unwrap_or(SystemTime::now());
            if modified.elapsed().is_ok_and(|age| age > max_age) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}
