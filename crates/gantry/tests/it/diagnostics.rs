//! Diagnostics of an invalid pipeline file as `gantry run` and `gantry plan` print them: the
//! offending line with a caret under the span and the hint, plain when not on a terminal, and
//! as JSON with their spans under `--json`.

use gantry_test::Project;

/// The transcript of `gantry ARGS` on a project with `pipeline`, which must be refused (exit 2).
fn refused(pipeline: &str, args: &[&str]) -> String {
    let project = Project::with_pipeline(pipeline);
    let out = project.run(args);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        !project.path().join(".gantry").exists(),
        "nothing recorded, no store created"
    );
    out.transcript()
}

#[test]
fn unknown_keys_and_wrong_types() {
    let pipeline = "\
app: demo
stages:
  - name: build
    parralel: yes
    tasks:
      - { name: compile, run: make, retry: many }
";
    insta::assert_snapshot!("unknown_keys_and_wrong_types", refused(pipeline, &["run"]));
}

#[test]
fn an_unquoted_colon_in_a_script() {
    let pipeline = "\
app: demo
stages:
  - name: build
    tasks:
      - name: compile
        run: echo building: demo
";
    insta::assert_snapshot!("unquoted_colon_in_run", refused(pipeline, &["plan"]));
}

#[test]
fn mis_indented_lines() {
    let deeper = "\
app: demo
stages:
  - name: build
    tasks:
      - name: compile
          run: make
";
    insta::assert_snapshot!("indented_more", refused(deeper, &["run"]));
    let shallower = "\
app: demo
stages:
  - name: build
    tasks:
      - name: compile
        run: make
     - name: test
        run: make test
";
    insta::assert_snapshot!("indented_less", refused(shallower, &["run"]));
}

#[test]
fn a_tab() {
    let pipeline = "app: demo\nstages:\n  - name: build\n    tasks:\n      - name: compile\n\trun: make\n";
    insta::assert_snapshot!("tab", refused(pipeline, &["run"]));
}

/// `--json` prints the diagnostics on stdout with their spans; stderr still says why it stopped.
#[test]
fn json_keeps_the_spans() {
    let pipeline = "app: demo\nstages:\n  - name: build\n    parralel: true\n    tasks: []\n";
    for command in ["run", "plan"] {
        let project = Project::with_pipeline(pipeline);
        let out = project.run(&[command, "--json"]);
        assert_eq!(out.code, Some(2), "{out:?}");
        let document: serde_json::Value = serde_json::from_str(&out.stdout).expect("one JSON document");
        insta::assert_json_snapshot!("json", document);
        assert_eq!(
            out.stderr, "error: the pipeline file is invalid; nothing ran\n",
            "{command}"
        );
    }
}

/// On a terminal (a pseudo-terminal that `script` opens) the diagnostics are coloured, unless
/// `NO_COLOR` is set.
#[test]
fn coloured_on_a_terminal_unless_no_color() {
    let project =
        Project::with_pipeline("app: demo\nstages:\n  - name: build\n    parralel: true\n    tasks: []\n");
    let on_terminal = |no_color: Option<&str>| {
        let command = format!("{} run", gantry_test::gantry_binary().display());
        let mut script = std::process::Command::new("script");
        script
            .args(["--quiet", "--return", "--command", &command, "/dev/null"])
            .current_dir(project.path())
            .env_remove("NO_COLOR")
            .env_remove("GANTRY_DB")
            .stdin(std::process::Stdio::null());
        if let Some(value) = no_color {
            script.env("NO_COLOR", value);
        }
        let out = script.output().expect("`script` (util-linux) starts");
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let coloured = on_terminal(None);
    // The diagnostic itself, not only the closing `error:` label.
    let diagnostic = coloured
        .split("the pipeline file is invalid")
        .next()
        .unwrap_or_default();
    assert!(diagnostic.contains("parralel: true"), "{coloured}");
    assert!(
        diagnostic.contains("\u{1b}["),
        "no colour on a terminal: {coloured:?}"
    );
    let plain = on_terminal(Some("1"));
    assert!(plain.contains("parralel: true"), "{plain}");
    assert!(!plain.contains("\u{1b}["), "colour despite NO_COLOR: {plain:?}");
}
