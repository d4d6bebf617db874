//! The examples of `docs/api.md` are true: the `sh` blocks of the sections below run, in the
//! order of the page, with bash, curl and jq against a real `gantry server`, from a project whose
//! app is `hello`; each answers JSON that is no error, with the top-level keys its `# {...}`
//! comment shows. (As `gantry-model`'s `docs.rs` does for the pipeline reference.)

use std::path::PathBuf;
use std::process::Command;

use gantry_test::project::repository_root;
use gantry_test::{ADMIN, Project, ServerProcess, gantry_binary};

/// The sections whose examples need nothing but a server, the project and the files it holds.
const RUNNABLE: [&str; 8] = [
    "### `GET /api/v1/apps` (read)",
    "### `POST /api/v1/apps/{app}/builds` (report)",
    "### `GET /api/v1/runs` (read)",
    "### `POST /api/v1/runs/{id}/events` (report)",
    "### `PUT /api/v1/artifacts/{sha256}` (report)",
    "### `POST /api/v1/events` (report)",
    "### `GET /api/v1/tokens`",
    "### `GET /api/v1/whoami`",
];

/// The `sh` blocks of each section of `markdown`, by the section's heading line.
fn sections(markdown: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut heading = String::new();
    let mut block: Option<String> = None;
    for line in markdown.lines() {
        match (&mut block, line) {
            (None, "```sh") => block = Some(String::new()),
            (Some(_), "```") => blocks.extend(block.take().map(|body| (heading.clone(), body))),
            (Some(body), line) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, line) if line.starts_with('#') => line.clone_into(&mut heading),
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn examples_in_the_api_reference_run() {
    let path = repository_root().join("docs/api.md");
    let markdown = std::fs::read_to_string(&path).expect("docs/api.md");
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(&data.path().join("gantry.db"), 0);
    let project = Project::with_pipeline(
        "app: hello\nversion: '1.4.{build}'\nstages:\n  - name: build\n    tasks:\n      - { name: compile, run: echo compiled }\n",
    )
    .file("target/release/hello", "a build of hello\n");
    std::fs::copy(
        repository_root().join("fixtures/cdevents/spec-v0.5.1/conformance/pipelinerun_queued.json"),
        project.path().join("pipelinerun_queued.json"),
    )
    .unwrap();
    let bin_dir: PathBuf = gantry_binary().parent().unwrap().to_path_buf();
    let path_var = std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();

    let mut ran = Vec::new();
    for (heading, body) in sections(&markdown) {
        if !RUNNABLE.contains(&heading.as_str()) {
            continue;
        }
        let out = Command::new("bash")
            .args(["-eo", "pipefail", "-c", &body])
            .current_dir(project.path())
            .env("PATH", &path_var)
            .env("GANTRY", &server.url)
            .env("TOKEN", ADMIN)
            .env("CI", "true")
            .env("NO_COLOR", "1")
            .env_remove("GANTRY_SERVER")
            .env_remove("GANTRY_TOKEN")
            .env_remove("GANTRY_DB")
            .output()
            .expect("bash runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let context = format!(
            "{heading}\n{body}\nexit: {:?}\nstdout: {stdout}\nstderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{context}");
        let documented: String = body
            .lines()
            .filter_map(|line| line.strip_prefix("# {"))
            .collect::<Vec<_>>()
            .join("\n");
        let answers: Vec<serde_json::Value> = serde_json::Deserializer::from_str(&stdout)
            .into_iter()
            .collect::<Result<_, _>>()
            .unwrap_or_else(|error| panic!("{error}: {context}"));
        for answer in &answers {
            let object = answer
                .as_object()
                .unwrap_or_else(|| panic!("not an object: {context}"));
            assert!(!object.contains_key("error"), "{context}");
            if documented.is_empty() {
                continue;
            }
            for key in object.keys() {
                assert!(
                    documented.contains(&format!("\"{key}\":")),
                    "`{key}` is not in the documented answer: {context}"
                );
            }
        }
        ran.push(heading);
    }
    assert_eq!(
        ran.len(),
        RUNNABLE.len(),
        "every runnable section has an example: {ran:#?}"
    );
    // The run the events example sent is on the server, with the number the server gave it.
    let runs = server.get("/api/v1/runs?app=hello");
    assert_eq!(runs["runs"][0]["result"], "success", "{runs}");
    assert_eq!(runs["runs"][0]["build"], 2, "{runs}");
}
