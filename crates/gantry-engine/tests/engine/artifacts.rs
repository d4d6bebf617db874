//! Artifacts: collected after success, with size and sha256.

use gantry_model::{RunEventKind, RunResult, Task, TaskOutcome};

use crate::harness::{Test, task};

/// `sha256sum FILE`, the reference implementation.
fn sha256sum(path: &std::path::Path) -> String {
    let output = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum");
    String::from_utf8(output.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn artifacts_are_packaged_with_their_digest() {
    let script = r"
        mkdir -p dist/nested reports
        head -c 200000 /dev/urandom > dist/app.bin
        echo a > dist/nested/a.js
        echo '<testsuite/>' > reports/unit.xml
        echo '<testsuite/>' > reports/lint.xml
    ";
    let compile = Task {
        workdir: Some("web".into()),
        artifacts: vec!["dist".into(), "reports/*.xml".into(), "dist/app.bin".into()],
        ..task("compile", script)
    };
    let test = Test::new();
    std::fs::create_dir(test.root().join("web")).unwrap();
    let run = test.stage("build", vec![compile]).run().await;
    assert_eq!(run.result, RunResult::Success);
    let web = run.root.path().join("web");
    let packaged: Vec<(String, String, u64, String)> = run
        .events
        .iter()
        .filter_map(|event| match &event.kind {
            RunEventKind::ArtifactPackaged {
                path,
                name,
                source,
                size,
                sha256,
            } => {
                assert_eq!(path.as_str(), "build/compile");
                Some((name.clone(), source.clone(), *size, sha256.clone()))
            }
            _ => None,
        })
        .collect();
    let names: Vec<&str> = packaged.iter().map(|(name, ..)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "dist/app.bin",
            "dist/nested/a.js",
            "reports/lint.xml",
            "reports/unit.xml"
        ]
    );
    for (name, source, size, sha256) in &packaged {
        let file = web.join(name);
        assert_eq!(source, &file.display().to_string());
        assert_eq!(*size, std::fs::metadata(&file).unwrap().len());
        assert_eq!(sha256, &sha256sum(&file), "{name}");
    }
    let trace = run.trace();
    let position = |line: &str| trace.iter().position(|l| l == line).unwrap();
    assert!(
        position("artifact build/compile reports/unit.xml") < position("task_finished build/compile success")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pattern_that_matches_nothing_fails_the_task() {
    let run = Test::new()
        .stage(
            "build",
            vec![Task {
                artifacts: vec!["target/*.tar.gz".into()],
                ..task("package", "echo packaging")
            }],
        )
        .stage("ship", vec![task("deploy", "true")])
        .run()
        .await;
    assert_eq!(run.result, RunResult::Failure);
    let package = run.finished("build/package");
    assert_eq!(
        (package.outcome, package.exit_code),
        (TaskOutcome::Failure, Some(0))
    );
    let output = run.output("build/package");
    assert!(
        output
            .iter()
            .any(|line| line.contains("`target/*.tar.gz` matched no file")),
        "{output:?}"
    );
    assert_eq!(
        run.skipped("ship/deploy").as_deref(),
        Some("stage `build` failed")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_task_packages_nothing() {
    let run = Test::new()
        .stage(
            "build",
            vec![Task {
                artifacts: vec!["out.txt".into()],
                ..task("compile", "echo x > out.txt; exit 1")
            }],
        )
        .run()
        .await;
    assert!(
        !run.events
            .iter()
            .any(|event| matches!(event.kind, RunEventKind::ArtifactPackaged { .. }))
    );
}
