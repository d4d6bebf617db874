//! The workspace's layering, as ARCHITECTURE.md states it, checked against every crate's
//! `[dependencies]`: a crate imports only crates of a lower layer, so the server never knows
//! the runner and the runner never knows the server.

use std::path::Path;

/// Each crate's layer; a crate may depend only on crates of a lower one. Crates not named here
/// (benchmarks, test kits) are not checked.
const LAYERS: [(&str, u8); 10] = [
    ("gantry-model", 0),
    ("gantry-api", 1),
    ("gantry-engine", 1),
    ("gantry-store", 1),
    ("gantry-client", 2),
    ("gantry-forge", 2),
    ("gantry-runner", 3),
    ("gantry-server", 3),
    ("gantry-cli", 4),
    ("gantry", 5),
];

fn layer(name: &str) -> Option<u8> {
    LAYERS
        .iter()
        .find(|(crate_name, _)| *crate_name == name)
        .map(|(_, layer)| *layer)
}

/// The `gantry-*` names in the `[dependencies]` table of a `Cargo.toml` (not dev-dependencies:
/// tests may drive a higher layer).
fn dependencies(manifest: &str) -> Vec<String> {
    let mut inside = false;
    let mut names = Vec::new();
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            inside = line == "[dependencies]";
            continue;
        }
        if inside && let Some((name, _)) = line.split_once('=') {
            let name = name.trim();
            let name = name.strip_suffix(".workspace").unwrap_or(name);
            if name == "gantry" || name.starts_with("gantry-") {
                names.push(name.to_owned());
            }
        }
    }
    names
}

#[test]
fn every_crate_imports_only_lower_layers() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut broken = Vec::new();
    for (name, own) in LAYERS {
        let manifest = fs_err::read_to_string(crates.join(name).join("Cargo.toml")).unwrap();
        for dependency in dependencies(&manifest) {
            if layer(&dependency).is_some_and(|theirs| theirs >= own) {
                broken.push(format!("{name} imports {dependency}"));
            }
        }
    }
    assert!(broken.is_empty(), "{broken:#?}");
}

#[test]
fn the_dependency_table_is_read_as_written() {
    let manifest = "[package]\nname = \"x\"\n[dependencies]\ngantry-model.workspace = true\n\
                    gantry-store = { path = \"../s\" }\nserde = \"1\"\n[dev-dependencies]\n\
                    gantry-server.workspace = true\n";
    assert_eq!(dependencies(manifest), ["gantry-model", "gantry-store"]);
}
