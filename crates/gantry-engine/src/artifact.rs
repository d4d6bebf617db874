//! Artifact collection: the files a task's `artifacts` patterns name, with their size and sha256.
//!
//! Patterns are relative to the task's working directory. A plain path names a file, or every
//! file under a directory; a glob (`*`, `?`, `[..]`, `{..}`, `**`) is matched against paths
//! relative to the working directory, `*` staying within one directory and `**` crossing any
//! number. A pattern that names nothing is an error: a task that promised a file and did not
//! produce it has failed. Symbolic links to files are followed; links to directories are only
//! entered when a pattern names them, so a link cycle cannot make the walk endless.
//!
//! This is blocking file IO; the executor runs it on a blocking thread.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read as _};
use std::path::{Component, Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};
use sha2::{Digest as _, Sha256};

/// A collected file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// Its path relative to the working directory, with `/` separators.
    pub name: String,
    /// Where it is.
    pub source: PathBuf,
    pub size: u64,
    /// Lowercase hex.
    pub sha256: String,
}

/// Why a task's artifacts could not be collected.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("artifact pattern `{pattern}` matched no file in `{}`", dir.display())]
    NoMatch { pattern: String, dir: PathBuf },
    #[error("artifact pattern `{pattern}` leaves the working directory `{}`", dir.display())]
    OutsideWorkdir { pattern: String, dir: PathBuf },
    #[error("artifact pattern `{pattern}` is not a valid glob")]
    InvalidPattern {
        pattern: String,
        #[source]
        source: globset::Error,
    },
    #[error("failed to read `{}`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Collects the files `patterns` name in `dir`, each once, ordered by name.
pub fn collect(dir: &Path, patterns: &[String]) -> Result<Vec<Artifact>, ArtifactError> {
    let mut found = BTreeMap::new();
    for pattern in patterns {
        let named = matches(dir, pattern)?;
        if named.is_empty() {
            return Err(ArtifactError::NoMatch {
                pattern: pattern.clone(),
                dir: dir.to_owned(),
            });
        }
        found.extend(named);
    }
    found
        .into_iter()
        .map(|(name, source)| {
            let (size, sha256) = digest(&source)?;
            Ok(Artifact {
                name,
                source,
                size,
                sha256,
            })
        })
        .collect()
}

/// The files `pattern` names in `dir`, by name.
fn matches(dir: &Path, pattern: &str) -> Result<BTreeMap<String, PathBuf>, ArtifactError> {
    let outside = || ArtifactError::OutsideWorkdir {
        pattern: pattern.to_owned(),
        dir: dir.to_owned(),
    };
    let mut parts = Vec::new();
    for component in Path::new(pattern).components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return Err(outside()),
        }
    }
    if parts.is_empty() {
        return Err(outside());
    }
    let literal = parts.iter().take_while(|part| !is_glob(part)).count();
    let base_name = parts[..literal].join("/");
    let base = dir.join(&base_name);
    let mut found = BTreeMap::new();
    if literal == parts.len() {
        add(&base, &base_name, &mut found)?;
        return Ok(found);
    }
    let glob = GlobBuilder::new(&parts.join("/"))
        .literal_separator(true)
        .build()
        .map_err(|source| ArtifactError::InvalidPattern {
            pattern: pattern.to_owned(),
            source,
        })?
        .compile_matcher();
    let rest = &parts[literal..];
    let depth = if rest.iter().any(|part| part.contains("**")) {
        usize::MAX
    } else {
        rest.len()
    };
    if fs::metadata(&base).is_ok_and(|meta| meta.is_dir()) {
        walk(&base, &base_name, depth, &glob, &mut found)?;
    }
    Ok(found)
}

/// Whether a path segment has glob syntax in it.
fn is_glob(part: &str) -> bool {
    part.contains(['*', '?', '[', '{'])
}

/// Matches the entries under `path` (named `name`), `depth` levels down, against `glob`.
fn walk(
    path: &Path,
    name: &str,
    depth: usize,
    glob: &GlobMatcher,
    found: &mut BTreeMap<String, PathBuf>,
) -> Result<(), ArtifactError> {
    if depth == 0 {
        return Ok(());
    }
    for (entry_path, entry_name) in entries(path, name)? {
        let meta = fs::symlink_metadata(&entry_path).map_err(|source| ArtifactError::Read {
            path: entry_path.clone(),
            source,
        })?;
        if glob.is_match(&entry_name) {
            add(&entry_path, &entry_name, found)?;
        } else if meta.is_dir() {
            walk(&entry_path, &entry_name, depth - 1, glob, found)?;
        }
    }
    Ok(())
}

/// Adds what a pattern named: a file, or every file under a directory.
fn add(path: &Path, name: &str, found: &mut BTreeMap<String, PathBuf>) -> Result<(), ArtifactError> {
    match fs::metadata(path) {
        Ok(meta) if meta.is_dir() => add_tree(path, name, found),
        Ok(meta) if meta.is_file() => {
            found.insert(name.to_owned(), path.to_owned());
            Ok(())
        }
        // A dangling link or a special file (a socket, a fifo) is not an artifact.
        Ok(_) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(ArtifactError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Adds every file under the directory `path`, not entering links to directories.
fn add_tree(path: &Path, name: &str, found: &mut BTreeMap<String, PathBuf>) -> Result<(), ArtifactError> {
    for (entry_path, entry_name) in entries(path, name)? {
        let meta = fs::symlink_metadata(&entry_path).map_err(|source| ArtifactError::Read {
            path: entry_path.clone(),
            source,
        })?;
        if meta.is_dir() {
            add_tree(&entry_path, &entry_name, found)?;
        } else if fs::metadata(&entry_path).is_ok_and(|meta| meta.is_file()) {
            found.insert(entry_name, entry_path);
        }
    }
    Ok(())
}

/// The entries of a directory with their names relative to the working directory.
fn entries(path: &Path, name: &str) -> Result<Vec<(PathBuf, String)>, ArtifactError> {
    let read = |source| ArtifactError::Read {
        path: path.to_owned(),
        source,
    };
    let mut entries = Vec::new();
    for entry in fs::read_dir(path).map_err(read)? {
        let entry = entry.map_err(read)?;
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let entry_name = if name.is_empty() {
            file_name
        } else {
            format!("{name}/{file_name}")
        };
        entries.push((entry.path(), entry_name));
    }
    entries.sort();
    Ok(entries)
}

/// The size and sha256 of a file, read in chunks so big files take little memory.
fn digest(path: &Path) -> Result<(u64, String), ArtifactError> {
    let read = |source| ArtifactError::Read {
        path: path.to_owned(),
        source,
    };
    let mut file = fs::File::open(path).map_err(read)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 64 * 1024];
    let mut size: u64 = 0;
    loop {
        let count = match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(count) => count,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(source) => return Err(read(source)),
        };
        hasher.update(&buffer[..count]);
        size += count as u64;
    }
    Ok((size, hex::encode(hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, content) in [
            ("app.bin", "binary"),
            ("notes.txt", "notes"),
            ("dist/a.js", "a"),
            ("dist/nested/b.js", "b"),
            ("dist/nested/c.css", "c"),
            ("reports/unit.xml", "unit"),
        ] {
            let path = dir.path().join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, content).unwrap();
        }
        dir
    }

    #[test]
    fn collects() {
        let dir = tree();
        let check = |patterns: &[&str], expect: Result<&[&str], &str>| {
            let patterns: Vec<String> = patterns.iter().map(|p| (*p).to_owned()).collect();
            match (collect(dir.path(), &patterns), expect) {
                (Ok(found), Ok(names)) => {
                    let found: Vec<&str> = found.iter().map(|a| a.name.as_str()).collect();
                    assert_eq!(found, names, "{patterns:?}");
                }
                (Err(err), Err(fragment)) => {
                    assert!(err.to_string().contains(fragment), "{patterns:?}: {err}");
                }
                (got, _) => panic!("{patterns:?}: unexpected {got:?}"),
            }
        };
        check(&["app.bin"], Ok(&["app.bin"]));
        check(&["./app.bin"], Ok(&["app.bin"]));
        check(
            &["dist"],
            Ok(&["dist/a.js", "dist/nested/b.js", "dist/nested/c.css"]),
        );
        check(&["dist/*.js"], Ok(&["dist/a.js"]));
        check(&["dist/**/*.js"], Ok(&["dist/a.js", "dist/nested/b.js"]));
        check(&["**/*.js"], Ok(&["dist/a.js", "dist/nested/b.js"]));
        check(
            &["*"],
            Ok(&[
                "app.bin",
                "dist/a.js",
                "dist/nested/b.js",
                "dist/nested/c.css",
                "notes.txt",
                "reports/unit.xml",
            ]),
        );
        check(&["*.{bin,txt}", "app.bin"], Ok(&["app.bin", "notes.txt"]));
        check(&["d*/nested"], Ok(&["dist/nested/b.js", "dist/nested/c.css"]));
        check(&["missing.zip"], Err("`missing.zip` matched no file"));
        check(&["app.bin", "*.zip"], Err("`*.zip` matched no file"));
        check(&["nowhere/*.js"], Err("matched no file"));
        check(&["../escape"], Err("leaves the working directory"));
        check(&["/etc/passwd"], Err("leaves the working directory"));
        check(&["dist/[a"], Err("not a valid glob"));
    }

    #[test]
    fn digests() {
        let dir = tree();
        let found = collect(dir.path(), &["app.bin".to_owned()]).unwrap();
        assert_eq!(found[0].size, 6);
        // printf binary | sha256sum
        assert_eq!(
            found[0].sha256,
            "9a3a45d01531a20e89ac6ae10b0b0beb0492acd7216a368aa062d1a5fecaf9cd"
        );
        assert_eq!(found[0].source, dir.path().join("app.bin"));
    }
}
