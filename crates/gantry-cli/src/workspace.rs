//! Finding things on disk: the repository root, the pipeline file, the library, the store.
//!
//! This is the CLI's side of the model's "no IO" rule: it reads files into
//! [`gantry_model::Source`]s and hands them over.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use fs_err as fs;
use gantry_model::{Library, Pipeline, Source};

use crate::args::{PipelineArgs, StoreArgs};
use crate::exit::{InvalidPipeline, UsageError};
use crate::git;

/// The names a pipeline file may have at the repository root, in order of preference.
pub const PIPELINE_FILES: [&str; 2] = ["gantry.yml", ".gantry.yml"];

/// The directory of Gantry's own files inside a repository.
pub const STATE_DIR: &str = ".gantry";

/// A located pipeline: the directory it runs in and the file that defines it.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// Where tasks run (their `workdir` is relative to it), and where `.gantry/` lives: the
    /// directory of the pipeline file, or with `-f` the repository root.
    pub root: PathBuf,
    pub file: PathBuf,
}

/// The repository root for `dir`: the git top level, or else `dir` itself.
pub fn root_of(dir: &Path) -> PathBuf {
    git::toplevel(dir).unwrap_or_else(|| dir.to_path_buf())
}

/// Finds the pipeline file: `-f FILE`, or `gantry.yml`/`.gantry.yml` in the current directory,
/// or else at the repository root.
pub fn locate(args: &PipelineArgs) -> anyhow::Result<Workspace> {
    let cwd = std::env::current_dir().context("failed to read the current directory")?;
    if let Some(file) = &args.file {
        let file = cwd.join(file);
        if !file.is_file() {
            return Err(UsageError::new(format!("pipeline file `{}` does not exist", file.display())).into());
        }
        return Ok(Workspace {
            root: root_of(&cwd),
            file,
        });
    }
    let root = root_of(&cwd);
    for dir in [&cwd, &root] {
        for name in PIPELINE_FILES {
            let file = dir.join(name);
            if file.is_file() {
                return Ok(Workspace {
                    root: dir.clone(),
                    file,
                });
            }
        }
    }
    Err(
        UsageError::new(format!("no `gantry.yml` or `.gantry.yml` in `{}`", cwd.display()))
            .hint("run `gantry init` to write a starter pipeline, or pass `-f FILE`")
            .into(),
    )
}

/// Reads and validates the pipeline, with its library.
pub fn load_pipeline(workspace: &Workspace, args: &PipelineArgs) -> anyhow::Result<Pipeline> {
    let text = match fs::read_to_string(&workspace.file) {
        Err(err) if err.kind() == std::io::ErrorKind::InvalidData => {
            return Err(InvalidPipeline(format!(
                "{}: error: the file is not UTF-8 text\n",
                display_path(&workspace.file)
            ))
            .into());
        }
        text => text?,
    };
    let source = Source {
        path: display_path(&workspace.file),
        text,
    };
    let library = match library_dir(workspace, args) {
        Some(dir) => read_library(&dir)?,
        None => Library::default(),
    };
    gantry_model::load(&source, &library)
        .map_err(|diagnostics| InvalidPipeline(diagnostics.to_string()).into())
}

/// The library directory: `--library`, `GANTRY_LIBRARY`, or `.gantry/library` at the root.
fn library_dir(workspace: &Workspace, args: &PipelineArgs) -> Option<PathBuf> {
    if let Some(dir) = &args.library {
        return Some(dir.clone());
    }
    let dir = workspace.root.join(STATE_DIR).join("library");
    dir.is_dir().then_some(dir)
}

/// Reads `DIR/{pipelines,fragments,tasks}/NAME.yml` (or `.yaml`) into a [`Library`].
pub fn read_library(dir: &Path) -> anyhow::Result<Library> {
    if !dir.is_dir() {
        return Err(UsageError::new(format!("library directory `{}` does not exist", dir.display())).into());
    }
    let mut library = Library::default();
    for (sub, map) in [
        ("pipelines", &mut library.pipelines),
        ("fragments", &mut library.fragments),
        ("tasks", &mut library.tasks),
    ] {
        read_library_part(&dir.join(sub), map)?;
    }
    Ok(library)
}

fn read_library_part(dir: &Path, map: &mut BTreeMap<String, Source>) -> anyhow::Result<()> {
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
                path: display_path(&path),
                text,
            },
        );
    }
    Ok(())
}

/// A path as diagnostics show it: relative to the current directory when below it.
pub fn display_path(path: &Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    path.strip_prefix(&cwd).unwrap_or(path).display().to_string()
}

/// The store URL: `--db`/`GANTRY_DB`, or `.gantry/gantry.db` at `root`, whose directory is
/// created with a `.gitignore` of its own so that it never dirties the repository.
pub fn store_url(args: &StoreArgs, root: &Path) -> anyhow::Result<String> {
    if let Some(url) = args.url() {
        return Ok(url);
    }
    let dir = ensure_state_dir(root)?;
    Ok(format!("sqlite://{}", dir.join("gantry.db").display()))
}

/// Creates `.gantry/` with its own `.gitignore`: everything in it is ignored, itself included,
/// except the pipeline library, which teams commit.
pub fn ensure_state_dir(root: &Path) -> anyhow::Result<PathBuf> {
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

/// The root to look for the store in, for commands that read it (`history`, `show`, `logs`):
/// the current directory if it holds a pipeline or `.gantry/`, else the repository root.
pub fn current_root() -> anyhow::Result<PathBuf> {
    let cwd = std::env::current_dir().context("failed to read the current directory")?;
    let here = cwd.join(STATE_DIR).is_dir() || PIPELINE_FILES.iter().any(|name| cwd.join(name).is_file());
    Ok(if here { cwd } else { root_of(&cwd) })
}
