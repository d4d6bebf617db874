//! One store wherever you stand: every command that opens a build data repository finds the
//! same one (`--db`, `GANTRY_DB`, the project's `.gantry/gantry.db`), only the commands whose
//! point is to create one create it, and the CLI reaches what the API offers (tokens listed and
//! revoked, artifacts fetched and checked), on a store and through a server alike.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};

use gantry_test::server::terminate;
use gantry_test::{ADMIN, Outcome, Project, ServerProcess, http_get};

/// `gantry server ARGS` started in `dir` of `project` (a subdirectory, say): its first `lines`
/// lines of stdout, and the running process.
fn start_server(project: &Project, dir: &str, args: &[&str], lines: usize) -> (Vec<String>, Child) {
    let mut command = project.command(&["-C", dir, "server", "--listen", "127.0.0.1:0"]);
    let mut child = command
        .args(args)
        .env("GANTRY_ADMIN_TOKEN", ADMIN)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut printed = Vec::new();
    for _ in 0..lines {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        printed.push(line.trim_end().to_owned());
    }
    (printed, child)
}

fn files_named_gantry_db(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in walk(dir) {
        if entry.file_name().is_some_and(|name| name == "gantry.db") {
            found.push(entry.strip_prefix(dir).unwrap().display().to_string());
        }
    }
    found.sort();
    found
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() && !path.ends_with(".git") {
            paths.extend(walk(&path));
        } else {
            paths.push(path);
        }
    }
    paths
}

/// Before the first run, the commands that read or administer a store refuse to start an
/// empty one; `gantry run` creates the project's; `gantry server`, started anywhere in the
/// project, serves that one and says so, and nothing is left for git to see.
#[test]
fn every_command_finds_the_project_store() {
    let project = Project::example("strawberry").file("docs/README", "docs\n");
    project.commit_all("strawberry");
    let _redacted = project.redacted().bind_to_scope();

    insta::assert_snapshot!(
        "history_before_the_first_run",
        project.run(&["history"]).transcript()
    );
    let out = project.run(&["token", "create", "--name", "ci", "--scopes", "report"]);
    insta::assert_snapshot!("token_create_before_the_first_run", out.transcript());
    let out = project.run(&["-C", "docs", "server", "--listen", "127.0.0.1:0"]);
    insta::assert_snapshot!("server_before_the_first_run", out.transcript());
    assert_eq!(project.run(&["token", "list"]).code, Some(2));
    assert_eq!(project.run(&["user", "add", "alice"]).code, Some(2));
    assert_eq!(
        files_named_gantry_db(project.path()),
        Vec::<String>::new(),
        "no store was created"
    );

    let out = project.run(&["run"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(files_named_gantry_db(project.path()), [".gantry/gantry.db"]);

    // Started in a subdirectory, the server serves the project's store, and says which.
    let (printed, mut child) = start_server(&project, "docs", &[], 3);
    let root = project.path().canonicalize().unwrap();
    assert_eq!(
        printed[1],
        format!(
            "store: sqlite://{}/.gantry/gantry.db (the store of the project at `{}`)",
            root.display(),
            root.display()
        ),
        "{printed:#?}"
    );
    assert_eq!(
        printed[2],
        format!("artifacts: {}/.gantry/artifacts", root.display()),
        "{printed:#?}"
    );
    let url = printed[0].rsplit(' ').next().unwrap().to_owned();
    let runs: serde_json::Value =
        serde_json::from_slice(&http_get(&format!("{url}/api/v1/runs"), Some(ADMIN))).unwrap();
    assert_eq!(runs["runs"][0]["app"], "strawberry", "{runs}");
    terminate(&mut child);

    // The token, the user and the history are the project's too, from any directory in it.
    let out = project.run(&["user", "add", "alice"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let out = project.run(&["-C", "docs", "token", "create", "--name", "ci", "--user", "alice"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let out = project.run(&["-C", "docs", "history"]);
    assert!(out.stdout.contains("strawberry#1"), "{out:?}");
    assert_eq!(files_named_gantry_db(project.path()), [".gantry/gantry.db"]);
    assert_eq!(
        project.git(&["status", "--porcelain", "--untracked-files=all"]),
        "",
        "the store leaves nothing for git to see"
    );
}

/// Outside any project a store must be named; a store named on purpose is created by
/// `gantry server` (which says so), and never by a command that only reads or administers it.
#[test]
fn outside_a_project_a_store_is_named() {
    let project = Project::new();
    let _redacted = project.redacted().bind_to_scope();
    insta::assert_snapshot!(
        "history_outside_a_project",
        project.run(&["history"]).transcript()
    );
    let out = project.run(&["server", "--listen", "127.0.0.1:0"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("--db sqlite://PATH"), "{}", out.stderr);

    let out = project.run(&["token", "list", "--db", "sqlite://missing.db"]);
    insta::assert_snapshot!("token_list_missing_store", out.transcript());
    let out = Outcome::from(
        project
            .command(&["history"])
            .env("GANTRY_DB", "sqlite://missing.db")
            .output()
            .unwrap(),
    );
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("named by `GANTRY_DB`"), "{}", out.stderr);
    assert!(!project.path().join("missing.db").exists());

    let (printed, mut child) = start_server(&project, ".", &["--db", "sqlite://served/gantry.db"], 3);
    terminate(&mut child);
    assert_eq!(
        printed[1],
        "store: sqlite://served/gantry.db (named by `--db`, created now)"
    );
    assert_eq!(printed[2], "artifacts: served/artifacts");
    let out = project.run(&["token", "list", "--db", "sqlite://served/gantry.db"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("bootstrap  admin"), "{}", out.stdout);
}

/// `gantry token list` and `gantry token revoke`, on the store and through the API: the same
/// tokens, the same refusals (an unknown name, the last admin token).
#[test]
fn tokens_are_listed_and_revoked_on_the_store_and_through_the_api() {
    let project = Project::new();
    let db = project.path().join("server.db");
    let url = format!("sqlite://{}", db.display());
    let server = ServerProcess::start(&db, 0);
    let _redacted = project.redacted().bind_to_scope();
    let admin = |args: &[&str]| {
        Outcome::from(
            project
                .command(args)
                .env("GANTRY_SERVER", &server.url)
                .env("GANTRY_TOKEN", ADMIN)
                .output()
                .unwrap(),
        )
    };

    let out = admin(&["token", "create", "--name", "ci", "--scopes", "report"]);
    assert_eq!(out.code, Some(0), "through the API: {out:?}");
    let out = project.run(&["token", "create", "--name", "reader", "--db", &url]);
    assert_eq!(out.code, Some(0), "on the store: {out:?}");
    let out = project.run(&["token", "list", "--db", &url]);
    insta::assert_snapshot!("token_list", out.transcript());
    let listed = admin(&["token", "list", "--json"]);
    assert_eq!(listed.code, Some(0), "{listed:?}");
    let names = |out: &Outcome| -> Vec<String> {
        let list: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        list["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|token| token["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&listed), ["bootstrap", "ci", "reader"]);

    let out = admin(&["token", "revoke", "ci"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let out = project.run(&["token", "revoke", "reader", "--db", &url]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(names(&admin(&["token", "list", "--json"])), ["bootstrap"]);
    let out = project.run(&["token", "list", "--json", "--db", &url]);
    assert_eq!(names(&out), ["bootstrap"]);

    insta::assert_snapshot!(
        "token_revoke_unknown",
        admin(&["token", "revoke", "ci"]).transcript()
    );
    let out = project.run(&["token", "revoke", "ci", "--db", &url]);
    assert_eq!(out.code, Some(2), "{out:?}");
    for out in [
        admin(&["token", "revoke", "bootstrap"]),
        project.run(&["token", "revoke", "bootstrap", "--db", &url]),
    ] {
        assert_eq!(out.code, Some(2), "{out:?}");
        assert!(
            out.stderr.contains("the last one with the `admin` scope"),
            "{}",
            out.stderr
        );
    }
    let out = project.run(&["token", "list", "--server", &server.url]);
    insta::assert_snapshot!("token_list_without_token", out.transcript());
}

/// `gantry artifact get`: the bytes the run recorded, from the store and through the API,
/// checked against the recorded digest; a damaged copy leaves no file behind.
#[test]
fn artifacts_are_fetched_and_checked_against_their_digest() {
    let project = Project::example("strawberry");
    let out = project.run(&["run"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let built = std::fs::read(project.path().join("out/strawberry.tar.gz")).unwrap();
    let _redacted = project.redacted().bind_to_scope();

    let out = project.run(&["artifact", "get", "strawberry#1", "out/strawberry.tar.gz"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stderr.starts_with(&format!(
            "wrote `strawberry.tar.gz`: {} bytes, sha256 ",
            built.len()
        )) && out.stderr.trim_end().ends_with("as strawberry#1 recorded it"),
        "{}",
        out.stderr
    );
    assert_eq!(
        std::fs::read(project.path().join("strawberry.tar.gz")).unwrap(),
        built
    );
    let out = project
        .command(&[
            "artifact",
            "get",
            "strawberry#1",
            "out/strawberry.tar.gz",
            "-o",
            "-",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, built, "the bytes themselves on stdout");

    let server = ServerProcess::start(&project.path().join(".gantry/gantry.db"), 0);
    let out = project.run_with_token(
        &[
            "artifact",
            "get",
            "strawberry#1",
            "out/strawberry.tar.gz",
            "-o",
            "remote/copy.tgz",
            "--server",
            &server.url,
        ],
        ADMIN,
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(
        std::fs::read(project.path().join("remote/copy.tgz")).unwrap(),
        built
    );

    let out = project.run(&["artifact", "get", "strawberry#1", "out/nothing.tgz"]);
    insta::assert_snapshot!("artifact_get_unknown", out.transcript());

    // A copy in the store that lost its bytes: refused, and nothing is written.
    let digest = project.show("strawberry#1")["artifacts"][0]["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    let stored = project
        .path()
        .join(".gantry/artifacts/sha256")
        .join(&digest[..2])
        .join(&digest);
    std::fs::set_permissions(&stored, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    std::fs::write(&stored, b"damaged").unwrap();
    for (args, token) in [
        (vec!["-o", "damaged.tgz"], None),
        (vec!["-o", "damaged.tgz", "--server", &server.url], Some(ADMIN)),
    ] {
        let mut command = project.command(&["artifact", "get", "strawberry#1", "out/strawberry.tar.gz"]);
        if let Some(token) = token {
            command.env("GANTRY_TOKEN", token);
        }
        let out = Outcome::from(command.args(&args).output().unwrap());
        assert_eq!(out.code, Some(1), "{out:?}");
        assert!(
            out.stderr.contains(&format!(
                "but strawberry#1 recorded {digest}; nothing was written"
            )),
            "{}",
            out.stderr
        );
        assert!(!project.path().join("damaged.tgz").exists());
        let left: Vec<_> = walk(project.path())
            .into_iter()
            .filter(|path| path.display().to_string().contains(".gantry-artifact-"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}

/// `gantry run --server` needs a token to report with, and a mock run is recorded nowhere, so
/// asking for either is said before anything runs.
#[test]
fn reporting_needs_a_token_and_mock_runs_are_not_reported() {
    let project = Project::with_pipeline(
        "app: demo\nstages:\n  - { name: s, tasks: [{ name: t, run: 'touch ran' }] }\n",
    );
    let _redacted = project.redacted().bind_to_scope();
    let out = project.run(&["run", "--server", "http://127.0.0.1:9"]);
    insta::assert_snapshot!("run_server_without_token", out.transcript());
    // A token the server does not know, or one that may not report: the user's to fix.
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(&data.path().join("gantry.db"), 0);
    let out = project.run_with_token(&["run", "--server", &server.url], "gantry_not-a-known-token");
    insta::assert_snapshot!(
        "run_server_unknown_token",
        out.transcript().replace(&server.url, "[SERVER]")
    );
    let reader = project.run(&[
        "token",
        "create",
        "--name",
        "reader",
        "--db",
        &format!("sqlite://{}", data.path().join("gantry.db").display()),
    ]);
    let out = project.run_with_token(&["run", "--server", &server.url], reader.stdout.trim());
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        out.stderr.contains("needs a token with the `report` scope"),
        "{}",
        out.stderr
    );
    let out = project.run_with_token(&["run", "--mock", "--server", "http://127.0.0.1:9"], ADMIN);
    insta::assert_snapshot!("run_mock_with_server", out.transcript());
    let out = project.run(&["run", "--mock", "--db", "sqlite://mock.db"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(!project.path().join("ran").exists(), "nothing ran");
    assert!(!project.path().join("mock.db").exists());
    // With the server only in the environment, a mock run goes on, recorded nowhere.
    let out = Outcome::from(
        project
            .command(&["run", "--mock"])
            .env("GANTRY_SERVER", "http://127.0.0.1:9")
            .output()
            .unwrap(),
    );
    assert_eq!(out.code, Some(0), "{out:?}");
}
