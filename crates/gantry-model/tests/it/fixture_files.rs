//! The fixture pipelines and the fixture library of `fixtures/`, read as the model's tests
//! take them: `Source`s whose paths are relative to `fixtures/`.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use gantry_model::{Library, Source};

/// `fixtures/` of the repository.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// The `.yml` files of `dir` (relative to `fixtures/`), by name without extension, each as a
/// `Source` whose path is relative to `fixtures/`.
pub fn sources(dir: &str) -> BTreeMap<String, Source> {
    let root = fixtures_dir();
    let mut sources = BTreeMap::new();
    for entry in fs::read_dir(root.join(dir)).unwrap_or_else(|error| panic!("{dir}: {error}")) {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|extension| extension == "yml") {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let text = fs::read_to_string(&path).unwrap();
            sources.insert(name.clone(), Source::new(format!("{dir}/{name}.yml"), text));
        }
    }
    sources
}

/// The fixture library (`fixtures/library/{pipelines,fragments,tasks}`).
pub fn library() -> Library {
    Library {
        pipelines: sources("library/pipelines"),
        fragments: sources("library/fragments"),
        tasks: sources("library/tasks"),
    }
}
