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
    for (marker, text, expect) in [
        ("go.mod", "module example.com/x\n", "go test"),
        ("package.json", "{\"name\": \"x\"}", "npm test"),
        ("Makefile", "", "make test"),
    ] {
        let project = Project::new().file(marker, text);
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

/// The app's name and version come from the project's own file, read by its format's parser,
/// never from the directory the project happens to be checked out in.
#[test]
fn init_takes_name_and_version_from_the_project_file() {
    for (marker, text, app, version) in [
        (
            "Cargo.toml",
            "[package]\nname = \"Shop_Cart\" # the crate\nversion = \"2.7.1\"\n",
            "shop-cart",
            "2.7.{build}",
        ),
        (
            "Cargo.toml",
            "[workspace.package]\nversion = \"0.3.0\"\n[package]\nname = \"api\"\nversion.workspace = true\n",
            "api",
            "0.3.{build}",
        ),
        (
            "package.json",
            "{\"name\": \"@acme/web-ui\", \"version\": \"3.1.0-beta.2\"}",
            "web-ui",
            "3.1.{build}",
        ),
        (
            "pyproject.toml",
            "[project]\nname = \"data.loader\"\nversion = \"1.12\"\n",
            "data-loader",
            "1.12.{build}",
        ),
        (
            "pyproject.toml",
            "[tool.poetry]\nname = \"report\"\nversion = \"0.9.4\"\n",
            "report",
            "0.9.{build}",
        ),
        (
            "go.mod",
            "// the cart service\nmodule github.com/acme/cart/v2\n\ngo 1.22\n",
            "cart",
            "0.1.{build}",
        ),
    ] {
        let project = Project::new().file(marker, text);
        let out = project.run(&["init"]);
        assert_eq!(out.code, Some(0), "{marker}: {out:?}");
        let written = std::fs::read_to_string(project.path().join("gantry.yml")).unwrap();
        assert!(
            written.contains(&format!("\napp: {app}\n")),
            "{marker}: {written}"
        );
        assert!(
            written.contains(&format!("\nversion: \"{version}\"\n")),
            "{marker}: {written}"
        );
        assert!(
            out.stdout.contains(&format!("app `{app}` from {marker}")),
            "{marker}: {}",
            out.stdout
        );
        let out = project.run(&["run", "--mock"]);
        assert_eq!(out.code, Some(0), "{marker}: {out:?}");
    }

    let project = Project::new().file("Cargo.toml", "[package]\nname = \"a\"\nversion = \"1.0.0\"\n");
    let out = project.run(&["init"]);
    let _redacted = project.redacted().bind_to_scope();
    insta::assert_snapshot!(out.stdout);
}

#[test]
fn init_refuses_a_project_file_it_cannot_parse() {
    let project = Project::new().file("package.json", "{\"name\": \"web\",\n  \"version\": }\n");
    let out = project.run(&["init"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("package.json"), "{}", out.stderr);
    assert!(out.stderr.contains("line 2 column 14"), "{}", out.stderr);
    assert!(!project.path().join("gantry.yml").exists());
}

/// No starter task hides a missing tool: a linter that is not installed is an allowed failure
/// in the run's record, never a success.
#[test]
fn init_starter_records_a_missing_linter_as_an_allowed_failure() {
    let project = Project::new().file("pyproject.toml", "[project]\nname = \"p\"\nversion = \"1.0\"\n");
    assert_eq!(project.run(&["init"]).code, Some(0));
    let written = std::fs::read_to_string(project.path().join("gantry.yml")).unwrap();
    assert!(!written.contains("|| true"), "{written}");
    // Only the lint stage runs, with a Python that has no such module.
    let written = written.replace("python3 -m ruff", "python3 -m gantry_no_such_linter");
    std::fs::write(project.path().join("gantry.yml"), written).unwrap();
    let out = project.run(&["run", "--only", "lint", "--json"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let finished = out
        .stdout
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .find(|event| event["event"] == "task_finished")
        .expect("the lint task finished");
    assert_eq!(finished["outcome"], "failure", "{finished}");
    assert_eq!(finished["allowed_failure"], true, "{finished}");
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
