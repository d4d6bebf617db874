//! The fixture pipelines in `fixtures/pipelines/`, loaded against the fixture library in
//! `fixtures/library/`: each valid one snapshotted as the pipeline it resolves to (JSON), each
//! invalid one as the diagnostics it renders.

use std::path::Path;

use gantry_model::load;

use crate::fixture_files::{fixtures_dir, library, sources};

fn snapshot_settings(group: &str) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(Path::new("snapshots").join(group));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings
}

#[test]
fn valid_pipelines_resolve() {
    let library = library();
    let fixtures = sources("pipelines/valid");
    assert!(!fixtures.is_empty());
    for (name, source) in fixtures {
        let pipeline = load(&source, &library).unwrap_or_else(|diagnostics| panic!("{name}:\n{diagnostics}"));
        let mut settings = snapshot_settings("valid");
        settings.set_input_file(fixtures_dir().join(&source.path));
        settings.bind(|| insta::assert_json_snapshot!(name, pipeline));
    }
}

#[test]
fn invalid_pipelines_report_every_problem() {
    let library = library();
    let fixtures = sources("pipelines/invalid");
    assert!(!fixtures.is_empty());
    for (name, source) in fixtures {
        let Err(diagnostics) = load(&source, &library) else {
            panic!("{name} loaded, but should not")
        };
        assert!(!diagnostics.0.is_empty(), "{name}");
        let mut settings = snapshot_settings("invalid");
        settings.set_input_file(fixtures_dir().join(&source.path));
        settings.bind(|| insta::assert_snapshot!(name, diagnostics.to_string()));
    }
}

/// Every library file is used by some fixture, so none goes untested.
#[test]
fn every_library_file_is_used() {
    let fixtures: Vec<String> = sources("pipelines/valid")
        .into_values()
        .chain(sources("pipelines/invalid").into_values())
        .chain(library().pipelines.into_values())
        .chain(library().fragments.into_values())
        .map(|source| source.text)
        .collect();
    let library = library();
    let names = library
        .pipelines
        .keys()
        .chain(library.fragments.keys())
        .chain(library.tasks.keys());
    for name in names {
        let used = fixtures.iter().any(|text| {
            [
                format!("uses: {name}\n"),
                format!("ref: {name}\n"),
                format!("ref: {name} "),
                format!("type: {name}"),
            ]
            .iter()
            .any(|needle| text.contains(needle.as_str()))
        });
        assert!(used, "no fixture uses the library file `{name}`");
    }
}
