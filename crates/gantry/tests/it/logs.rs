//! `gantry logs`: a retried task's attempts apart, each under a header with its exit code, as
//! the terminal showed them, and `--timestamps`; the same from a local store and a server.

use gantry_test::{ADMIN, Project, ServerProcess};

const FLAKY: &str = r#"
app: flaky
stages:
  - name: build
    tasks:
      - name: compile
        retry: 2
        run: |
          if [ ! -e .tried ]; then touch .tried; echo "the registry did not answer" >&2; exit 3; fi
          echo built
  - name: test
    tasks:
      - { name: unit, run: echo tested }
"#;

/// `2025-06-01T12:00:03.120Z ` at the start of `line`.
fn starts_with_a_time(line: &str) -> bool {
    let Some((time, _)) = line.split_once(' ') else {
        return false;
    };
    let shape = "dddd-dd-ddTdd:dd:dd.dddZ";
    time.len() == shape.len()
        && time.bytes().zip(shape.bytes()).all(|(byte, want)| {
            if want == b'd' {
                byte.is_ascii_digit()
            } else {
                byte == want
            }
        })
}

#[test]
fn logs_separate_attempts_and_show_times() {
    let project = Project::with_pipeline(FLAKY);
    let out = project.run(&["run"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout.contains("attempt 2"),
        "the terminal shows it: {}",
        out.stdout
    );

    let out = project.run(&["logs", "flaky#1"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    insta::assert_snapshot!(out.stdout, @r"
    build/compile │ ── attempt 1 · failed (exit 3) ──
    build/compile │ the registry did not answer
    build/compile │ ── attempt 2 · succeeded (exit 0) ──
    build/compile │ built
    test/unit     │ tested
    ");

    let out = project.run(&["logs", "flaky#1", "compile", "--timestamps"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", out.stdout);
    assert_eq!(lines[0], "── attempt 1 · failed (exit 3) ──");
    assert!(
        starts_with_a_time(lines[1]) && lines[1].ends_with(" the registry did not answer"),
        "{}",
        lines[1]
    );
    assert_eq!(lines[2], "── attempt 2 · succeeded (exit 0) ──");
    assert!(
        starts_with_a_time(lines[3]) && lines[3].ends_with(" built"),
        "{}",
        lines[3]
    );
    let local = out.stdout;

    // Reported to a server, read back from it: the same.
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(&data.path().join("gantry.db"), 0);
    let project = Project::with_pipeline(FLAKY);
    let out = project.run_with_token(&["run", "--server", &server.url], ADMIN);
    assert_eq!(out.code, Some(0), "{out:?}");
    let out = project.run_with_token(
        &[
            "logs",
            "--server",
            &server.url,
            "flaky#1",
            "compile",
            "--timestamps",
        ],
        ADMIN,
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let strip = |text: &str| -> Vec<String> {
        text.lines()
            .map(|line| {
                if starts_with_a_time(line) {
                    line[25..].to_owned()
                } else {
                    line.to_owned()
                }
            })
            .collect()
    };
    assert_eq!(strip(&out.stdout), strip(&local));
    assert!(
        out.stdout.lines().nth(1).is_some_and(starts_with_a_time),
        "{}",
        out.stdout
    );
}
