//! `gantry plan`, `gantry init` and the read-back commands, through the real binary.

use gantry_test::Project;

const PIPELINE: &str = r"
app: demo
version: '1.4.{build}'
setup: [{ name: tools, run: ./ci/check-tools.sh }]
stages:
  - { name: build, tasks: [{ name: compile, run: cargo build --release }] }
  - name: test
    parallel: true
    tasks:
      - { name: unit, run: cargo test }
      - name: acceptance
        tasks:
          - { name: start, run: ./ci/start.sh }
          - { name: check, run: ./ci/acceptance.sh }
  - name: publish
    when: { branch: [main] }
    tasks: [{ name: upload, run: ./ci/upload.sh }]
finally: [{ name: notify, run: ./ci/notify.sh }]
";

#[test]
fn plan_shows_order_and_concurrency() {
    let project = Project::with_pipeline(PIPELINE);
    let out = project.run(&["plan", "--branch", "feature/x"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    insta::assert_snapshot!(out.stdout);
    assert!(!project.path().join(".gantry").exists(), "plan records nothing");

    let out = project.run(&["plan", "--json", "--branch", "main", "--only", "test"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        plan["plan"]["setup"].as_array().unwrap().len(),
        0,
        "--only has no setup"
    );
    assert_eq!(plan["plan"]["stages"][0]["name"], "test");
    assert_eq!(plan["plan"]["stages"][0]["parallel"], true);
}

#[test]
fn init_writes_a_valid_starter_and_never_overwrites() {
    let project = Project::new().file("Cargo.toml", "[package]\nname = \"x\"\n");
    let out = project.run(&["init"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let written = std::fs::read_to_string(project.path().join("gantry.yml")).unwrap();
    assert!(written.contains("cargo build --release"), "{written}");
    // The starter is valid: it plans and runs in mock mode.
    let out = project.run(&["run", "--mock"]);
    assert_eq!(out.code, Some(0), "{out:?}");

    let out = project.run(&["init"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("already exists"), "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(project.path().join("gantry.yml")).unwrap(),
        written
    );
}

#[test]
fn init_recognises_project_kinds() {
    for (marker, expect) in [
        ("go.mod", "go test"),
        ("package.json", "npm test"),
        ("Makefile", "make test"),
    ] {
        let project = Project::new().file(marker, "");
        assert_eq!(project.run(&["init"]).code, Some(0));
        let written = std::fs::read_to_string(project.path().join("gantry.yml")).unwrap();
        assert!(written.contains(expect), "{marker}: {written}");
        assert_eq!(
            project.run(&["plan"]).code,
            Some(0),
            "{marker}: the starter plans"
        );
    }
}

#[test]
fn unknown_run_is_a_clear_error() {
    let project =
        Project::with_pipeline("app: demo\nstages:\n  - { name: s, tasks: [{ name: t, run: 'true' }] }\n");
    assert_eq!(project.run(&["run"]).code, Some(0));
    let out = project.run(&["show", "demo#7"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("demo#7"), "{}", out.stderr);
    let out = project.run(&["logs", "demo#1", "nope"]);
    assert_eq!(out.code, Some(2), "{out:?}");
}

#[test]
fn schema_command_prints_the_checked_in_schema() {
    let project = Project::new();
    let out = project.run(&["schema"]);
    assert_eq!(out.code, Some(0));
    let printed: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let checked_in: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../schema/gantry.schema.json"
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(printed, checked_in);
}
