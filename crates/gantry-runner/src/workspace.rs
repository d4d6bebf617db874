//! Finding things on disk: the repository root, the pipeline file, the library, the store.
//!
//! This is the other side of the model's "no IO" rule: it reads files into
//! [`gantry_model::Source`]s and hands them over. It looks from a directory it is given (the
//! current one for `gantry run`, a checkout for an agent), never from the process's own.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use fs_err as fs;
use gantry_model::{Diagnostic, Diagnostics, Library, Pipeline, Source};

use crate::{Error, git};

/// The names a pipeline file may have at the repository root, in order of preference.
pub const PIPELINE_FILES: [&str; 2] = ["gantry.yml", ".gantry.yml"];

/// The directory of Gantry's own files inside a repository.
pub const STATE_DIR: &str = ".gantry";

/// Where to look for a pipeline, as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkout {
    /// The directory to look from (the current directory, or a checked-out repository);
    /// diagnostics name files relative to it.
    pub dir: PathBuf,
    /// The pipeline file (relative to `dir`) [default: `gantry.yml` or `.gantry.yml` in `dir`,
    /// or else at the repository root].
    pub file: Option<PathBuf>,
    /// The pipeline library [default: `.gantry/library` at the root, if there is one].
    pub library: Option<PathBuf>,
}

impl Checkout {
    /// The pipeline found from `dir` by the default names, with the default library.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            file: None,
            library: None,
        }
    }
}

/// A located pipeline: the directory it runs in and the file that defines it.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// Where tasks run (their `workdir` is relative to it), and where `.gantry/` lives: the
    /// directory of the pipeline file, or with `-f` the repository root.
    pub root: PathBuf,
    pub file: PathBuf,
    /// The library given; else `.gantry/library` at `root` is used when it exists.
    library: Option<PathBuf>,
    /// What diagnostics show paths relative to.
    base: PathBuf,
}

/// The repository root for `dir`: the git top level, or else `dir` itself.
pub fn root_of(dir: &Path) -> PathBuf {
    git::toplevel(dir).unwrap_or_else(|| dir.to_path_buf())
}

impl Checkout {
    /// Finds the pipeline file: the one given, or `gantry.yml`/`.gantry.yml` in `dir`, or else
    /// at the repository root.
    pub fn locate(&self) -> Result<Workspace, Error> {
        let cwd = &self.dir;
        let found = |root: PathBuf, file: PathBuf| Workspace {
            root,
            file,
            library: self.library.as_ref().map(|dir| cwd.join(dir)),
            base: cwd.clone(),
        };
        if let Some(file) = &self.file {
            let file = cwd.join(file);
            if !file.is_file() {
                return Err(Error::refused(format!(
                    "pipeline file `{}` does not exist",
                    file.display()
                )));
            }
            return Ok(found(root_of(cwd), file));
        }
        let root = root_of(cwd);
        for dir in [cwd, &root] {
            for name in PIPELINE_FILES {
                let file = dir.join(name);
                if file.is_file() {
                    return Ok(found(dir.clone(), file));
                }
            }
        }
        Err(Error::refused_with_hint(
            format!("no `gantry.yml` or `.gantry.yml` in `{}`", cwd.display()),
            "run `gantry init` to write a starter pipeline, or pass `-f FILE`",
        ))
    }
}

impl Workspace {
    /// Reads and validates the pipeline, with its library.
    pub fn load_pipeline(&self) -> Result<Pipeline, Error> {
        let text = match fs::read_to_string(&self.file) {
            Err(err) if err.kind() == std::io::ErrorKind::InvalidData => {
                return Err(Error::InvalidPipeline {
                    diagnostics: Diagnostics(vec![Diagnostic::whole_file(
                        self.display_path(&self.file),
                        "the file is not UTF-8 text",
                    )]),
                });
            }
            text => text?,
        };
        let source = Source {
            path: self.display_path(&self.file),
            text,
        };
        let library = match self.library_dir() {
            Some(dir) => self.read_library(&dir)?,
            None => Library::default(),
        };
        gantry_model::load(&source, &library).map_err(|diagnostics| Error::InvalidPipeline { diagnostics })
    }

    /// The library directory: the one given, or `.gantry/library` at the root.
    fn library_dir(&self) -> Option<PathBuf> {
        if let Some(dir) = &self.library {
            return Some(dir.clone());
        }
        let dir = self.root.join(STATE_DIR).join("library");
        dir.is_dir().then_some(dir)
    }

    /// Reads `DIR/{pipelines,fragments,tasks}/NAME.yml` (or `.yaml`) into a [`Library`].
    fn read_library(&self, dir: &Path) -> Result<Library, Error> {
        if !dir.is_dir() {
            return Err(Error::refused(format!(
                "library directory `{}` does not exist",
                dir.display()
            )));
        }
        let mut library = Library::default();
        for (sub, map) in [
            ("pipelines", &mut library.pipelines),
            ("fragments", &mut library.fragments),
            ("tasks", &mut library.tasks),
        ] {
            self.read_library_part(&dir.join(sub), map)?;
        }
        Ok(library)
    }

    /// A path as diagnostics show it: relative to the directory looked from, when below it.
    pub fn display_path(&self, path: &Path) -> String {
        path.strip_prefix(&self.base)
            .unwrap_or(path)
            .display()
            .to_string()
    }

    fn read_library_part(&self, dir: &Path, map: &mut BTreeMap<String, Source>) -> Result<(), Error> {
        if !dir.is_dir() {
            return Ok(());
        }
        for entry in fs::read_dir(dir)? {
            let path = entry?.path();
            let is_yaml = path.extension().is_some_and(|ext| ext == "yml" || ext == "yaml");
            let Some(name) = path.file_stem().and_then(|stem| stem.to_str()) else {
                continue;
            };
            if !is_yaml || !path.is_file() {
                continue;
            }
            let text = fs::read_to_string(&path)?;
            map.insert(
                name.to_owned(),
                Source {
                    path: self.display_path(&path),
                    text,
                },
            );
        }
        Ok(())
    }
}

/// The URL of the store in `.gantry/` at `root`, whose directory is created with a
/// `.gitignore` of its own so that it never dirties the repository.
pub fn default_store_url(root: &Path) -> Result<String, Error> {
    let location = crate::StoreLocation::of_project(root);
    location.prepare()?;
    Ok(location.url)
}

/// Creates `.gantry/` with its own `.gitignore`: everything in it is ignored, itself included,
/// except the pipeline library, which teams commit.
pub fn ensure_state_dir(root: &Path) -> Result<PathBuf, Error> {
    let dir = root.join(STATE_DIR);
    fs::create_dir_all(&dir)?;
    let ignore = dir.join(".gitignore");
    if !ignore.exists() {
        fs::write(&ignore, GITIGNORE)?;
    }
    Ok(dir)
}

const GITIGNORE: &str = "\
# Gantry's local state (build data repository, artifacts) stays out of git;
# the pipeline library in `library/` is meant to be committed.
*
!library/
!library/**
";

/// The project `dir` is in, whose `.gantry/` holds its store and spool: `dir` if it holds a
/// pipeline file or `.gantry/`, else its git repository's top level; `None` outside both.
pub fn project_root(dir: &Path) -> Option<PathBuf> {
    let here = dir.join(STATE_DIR).is_dir() || PIPELINE_FILES.iter().any(|name| dir.join(name).is_file());
    if here {
        Some(dir.to_path_buf())
    } else {
        git::toplevel(dir)
    }
}

/// The root to keep Gantry's state in for `dir` (the spool of `gantry sync`, say): its project
/// ([`project_root`]), or else `dir` itself.
pub fn store_root(dir: &Path) -> PathBuf {
    project_root(dir).unwrap_or_else(|| dir.to_path_buf())
}
