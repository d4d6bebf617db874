//! `gantry server`, `gantry run --server` and `gantry sync` end to end: real processes, a real
//! socket, a real SQLite store, and a server that goes away in the middle of a run.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::Duration;

use gantry_test::{ADMIN, Outcome, Project, ServerProcess, free_port, gantry_binary, http_get};

#[test]
fn a_run_reports_to_the_server() {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(&data.path().join("gantry.db"), 0);
    let project = Project::example("strawberry");
    let out = project.run_with_token(&["run", "--server", &server.url], ADMIN);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout.contains("strawberry#1 (version 2.3.1) succeeded"),
        "{}",
        out.stdout
    );
    assert!(
        !project.path().join(".gantry/gantry.db").exists(),
        "recorded on the server, not locally"
    );

    let runs = server.get("/api/v1/runs?app=strawberry");
    let run = &runs["runs"][0];
    assert_eq!(run["build"], 1);
    assert_eq!(run["result"], "success");
    let id = run["id"].as_str().unwrap();
    let detail = server.get(&format!("/api/v1/runs/{id}"));
    assert_eq!(detail["artifacts"][0]["name"], "out/strawberry.tar.gz");
    // Where it ran, as the client said; the owner is the server's placeholder for the lease.
    let host = nix::unistd::gethostname().unwrap().into_string().unwrap();
    assert_eq!(detail["runner"]["host"], host.as_str(), "{detail}");
    assert!(
        detail["runner"]["pid"].as_u64().is_some_and(|pid| pid > 0),
        "{detail}"
    );
    let events = server.get(&format!("/api/v1/events?chain={id}"));
    assert!(
        events["events"]
            .as_array()
            .is_some_and(|events| events.len() > 10),
        "{events}"
    );

    // The read commands read it back from the server, as they would from a local store.
    let read = |args: &[&str], token: &str| {
        Outcome::from(
            project
                .command(args)
                .env("GANTRY_SERVER", &server.url)
                .env("GANTRY_TOKEN", token)
                .output()
                .unwrap(),
        )
    };
    let out = read(&["history"], ADMIN);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout.contains("strawberry#1") && out.stdout.contains("success"),
        "{}",
        out.stdout
    );
    let out = read(&["show", "strawberry#1"], ADMIN);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains(id), "{}", out.stdout);
    assert!(
        out.stdout.contains(&format!("ran on     {host} (pid ")),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("out/strawberry.tar.gz"), "{}", out.stdout);
    let out = read(&["logs", "strawberry#1", "package"], ADMIN);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("built strawberry 2.3.1"), "{}", out.stdout);
    let out = read(&["logs", "strawberry#1"], ADMIN);
    assert!(
        out.stdout.contains("build/package     │ built strawberry 2.3.1"),
        "{}",
        out.stdout
    );
    let out = read(&["show", "strawberry#9"], ADMIN);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        out.stderr.contains("no run `strawberry#9` on the server"),
        "{}",
        out.stderr
    );
    // `--db` on the command line wins over `GANTRY_SERVER` in the environment (and a store
    // that is not there is not made up).
    let out = read(&["history", "--db", "sqlite://local.db"], ADMIN);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        out.stderr
            .contains("no build data repository at `local.db` (named by `--db`)"),
        "{}",
        out.stderr
    );
    assert!(!project.path().join("local.db").exists());
    let out = read(
        &["history", "--db", "sqlite://local.db", "--server", &server.url],
        ADMIN,
    );
    assert_eq!(out.code, Some(2), "{out:?}");
    // A URL that is not the API's (here the web UI's 404 page) is said so, not printed whole.
    let out = read(&["history", "--server", &format!("{}/gantry", server.url)], ADMIN);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr.contains("not in the words of Gantry's API"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("<html"), "{}", out.stderr);
    let out = read(&["history"], "not-a-token");
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("GANTRY_TOKEN"), "{}", out.stderr);
}

#[test]
fn no_build_number_no_run() {
    let project = Project::with_pipeline(
        "app: demo\nstages:\n  - { name: s, tasks: [{ name: t, run: 'touch ran' }] }\n",
    );
    let url = format!("http://127.0.0.1:{}", free_port());
    let out = project.run_with_token(&["run", "--server", &url], ADMIN);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("cannot get a build number"), "{}", out.stderr);
    assert!(!project.path().join("ran").exists(), "nothing ran");
}

#[test]
fn events_spooled_while_the_server_is_away_are_synced_once() {
    let data = tempfile::tempdir().unwrap();
    let db = data.path().join("gantry.db");
    let port = free_port();
    let mut server = ServerProcess::start(&db, port);
    let project = Project::with_pipeline(
        r"
app: demo
stages:
  - name: work
    tasks:
      - { name: first, run: 'echo before the outage' }
      - name: second
        run: |
          while [ ! -e go ]; do sleep 0.05; done
          for i in $(seq 1 50); do echo line $i; done
finally:
  - { name: last, run: 'echo result $GANTRY_RESULT' }
",
    );
    let child = project
        .command(&["run", "--server", &server.url])
        .env("GANTRY_TOKEN", ADMIN)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the server has the run, then take it away.
    let mut run_id = None;
    for _ in 0..200 {
        if let Some(id) = server.get("/api/v1/runs?app=demo")["runs"][0]["id"].as_str() {
            run_id = Some(id.to_owned());
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let run_id = run_id.expect("the server saw the run start");
    server.stop();
    std::fs::write(project.path().join("go"), "").unwrap();

    let out = Outcome::from(child.wait_with_output().unwrap());
    assert_eq!(out.code, Some(0), "the run goes on without its server: {out:?}");
    assert!(out.stdout.contains("line 50"), "{}", out.stdout);
    assert!(out.stderr.contains("gantry sync"), "{}", out.stderr);

    let server = ServerProcess::start(&db, port);
    let synced = project.run_with_token(&["sync"], ADMIN);
    assert_eq!(synced.code, Some(0), "{synced:?}");
    let detail = server.get(&format!("/api/v1/runs/{run_id}"));
    assert_eq!(detail["result"], "success", "{detail}");
    let events = server.get(&format!("/api/v1/events?chain={run_id}"));
    let ids: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["context"]["id"].as_str().unwrap())
        .collect();
    let unique: std::collections::BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(ids.len(), unique.len(), "no event recorded twice");
    assert!(ids.len() >= 8, "{ids:?}");

    let second = project.run_with_token(&["sync"], ADMIN);
    assert!(second.stdout.contains("nothing to send"), "{second:?}");
}

#[test]
fn a_start_that_cannot_listen_leaves_the_bootstrap_token_for_the_next() {
    let data = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", data.path().join("gantry.db").display());
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let failed = Command::new(gantry_binary())
        .args(["server", "--listen", &format!("127.0.0.1:{port}"), "--db", &db])
        .env_remove("GANTRY_ADMIN_TOKEN")
        .output()
        .unwrap();
    assert!(!failed.status.success(), "the port is taken");

    let mut child = Command::new(gantry_binary())
        .args(["server", "--listen", "127.0.0.1:0", "--db", &db])
        .env_remove("GANTRY_ADMIN_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let reader = BufReader::new(child.stdout.take().unwrap());
    // Where it listens, its store, its artifacts, then the token.
    let printed: Vec<String> = reader.lines().take(4).map(Result::unwrap).collect();
    let _ = child.kill();
    let _ = child.wait();
    assert!(printed[3].contains("bootstrap admin token"), "{printed:#?}");
}

/// `--artifacts s3://…` takes its endpoint and credentials from the standard AWS variables, and a
/// bucket that cannot be listed stops the server at startup with an error that names it.
#[test]
fn an_artifact_bucket_out_of_reach_stops_the_server_at_startup() {
    let data = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", data.path().join("gantry.db").display());
    // Nothing listens there: the endpoint is refused at once.
    let endpoint = format!("http://127.0.0.1:{}", free_port());
    let output = Command::new(gantry_binary())
        .args(["server", "--listen", "127.0.0.1:0", "--db", &db])
        .args(["--artifacts", "s3://gantry-out-of-reach/ci"])
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("AWS_ALLOW_HTTP", "true")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "gantry-test-key")
        .env("AWS_SECRET_ACCESS_KEY", "gantry-test-secret-value")
        .env("NO_COLOR", "1")
        .env_remove("GANTRY_ARTIFACTS")
        .output()
        .unwrap();
    let out = Outcome::from(output);
    assert_eq!(out.code, Some(1), "{out:?}");
    for expected in [
        "failed to open the artifact store `s3://gantry-out-of-reach/ci`",
        "bucket `gantry-out-of-reach`",
        "listing it failed",
        &endpoint,
    ] {
        assert!(out.stderr.contains(expected), "{expected}: {}", out.stderr);
    }
    assert!(!out.stderr.contains("gantry-test-secret-value"), "{}", out.stderr);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    assert!(!out.stdout.contains("listening"), "{}", out.stdout);

    let out = Outcome::from(
        Command::new(gantry_binary())
            .args(["server", "--db", &db, "--artifacts", "gs://elsewhere/ci"])
            .env("NO_COLOR", "1")
            .output()
            .unwrap(),
    );
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("s3://BUCKET/PREFIX"), "{}", out.stderr);
}

/// The README's main command: `gantry up` serves the UI, runs the pipeline once into its store,
/// prints where to see it, and stops cleanly on SIGTERM.
#[test]
fn up_runs_the_pipeline_once_and_serves_it() {
    let project = Project::example("strawberry");
    let port = free_port();
    let mut child = project
        .command(&["up", "--listen", &format!("127.0.0.1:{port}")])
        .env_remove("GANTRY_ADMIN_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    let mut printed = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_mins(1);
    while !printed.iter().any(|line: &String| line.contains("see it at")) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match received.recv_timeout(left) {
            Ok(line) => printed.push(line),
            Err(error) => panic!("`gantry up` never said where to see the run ({error}): {printed:#?}"),
        }
    }
    let url = format!("http://127.0.0.1:{port}");
    assert!(printed.iter().any(|line| line.contains(&url)), "{printed:#?}");
    assert!(
        printed
            .iter()
            .any(|line| line.contains("the run of `strawberry` succeeded")),
        "{printed:#?}"
    );
    let get = |path: &str| String::from_utf8(http_get(&format!("{url}{path}"), None)).unwrap();
    // Reading needs no token on this local server.
    assert!(get("/").contains("strawberry"));
    let runs: serde_json::Value = serde_json::from_str(&get("/api/v1/runs")).unwrap();
    assert_eq!(runs["runs"][0]["result"], "success", "{runs}");
    assert_eq!(runs["runs"].as_array().map(Vec::len), Some(1), "{runs}");

    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

/// `gantry show RUN --json` prints the API's run document, CDEvents included, whether it reads
/// a local store or a server: the same document, byte for byte.
#[test]
fn show_json_is_the_api_run_document_from_a_store_and_from_a_server() {
    let project = Project::example("strawberry");
    let out = project.run(&["run"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let local = project.run(&["show", "strawberry#1", "--json"]);
    assert_eq!(local.code, Some(0), "{local:?}");
    let document: serde_json::Value = serde_json::from_str(&local.stdout).unwrap();
    let events = document["events"].as_array().unwrap();
    assert!(events.len() > 10, "{document}");
    assert_eq!(events[0]["context"]["chainId"], document["id"], "{document}");
    let artifact = &document["artifacts"][0];
    let digest = artifact["sha256"].as_str().unwrap();
    assert_eq!(artifact["download"], format!("/api/v1/artifacts/{digest}"));
    assert!(
        artifact.get("path").is_none(),
        "no path on the store's disk: {artifact}"
    );
    assert!(document.get("owner").is_none(), "no owner process: {document}");

    let server = ServerProcess::start(&project.path().join(".gantry/gantry.db"), 0);
    let remote = project.run_with_token(
        &["show", "strawberry#1", "--json", "--server", &server.url],
        ADMIN,
    );
    assert_eq!(remote.code, Some(0), "{remote:?}");
    assert_eq!(remote.stdout, local.stdout);
    let id = document["id"].as_str().unwrap();
    assert_eq!(server.get(&format!("/api/v1/runs/{id}")), document);
}

/// Schemathesis (from the Python package index; `scripts/install-deps` installs it) drives a real
/// server from the checked-in OpenAPI document, with a real run's id and artifact digest among
/// its inputs: no answer is a 5xx, and every answer is what the document says. Bounded to a few
/// examples an operation, so it takes seconds.
#[test]
fn the_api_holds_to_its_document_under_schemathesis() {
    let project = Project::example("strawberry");
    let out = project.run(&["run"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let server = ServerProcess::start(&project.path().join(".gantry/gantry.db"), 0);
    let runs = server.get("/api/v1/runs");
    let id = runs["runs"][0]["id"].as_str().unwrap().to_owned();
    let run = server.get(&format!("/api/v1/runs/{id}"));
    let digest = run["artifacts"][0]["sha256"].as_str().unwrap().to_owned();
    let config = project.path().join("schemathesis.toml");
    std::fs::write(
        &config,
        format!(
            "[parameters]\n\"path.id\" = \"{id}\"\n\"query.chain\" = \"{id}\"\n\
             \"path.sha256\" = \"{digest}\"\n\"path.app\" = \"strawberry\"\n"
        ),
    )
    .unwrap();
    let document = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schema/openapi.json");
    let output = Command::new("schemathesis")
        .arg("--config-file")
        .arg(&config)
        .args(["run", document, "--url", &server.url])
        .args(["--header", &format!("Authorization: Bearer {ADMIN}")])
        .args(["--checks", "not_a_server_error,response_schema_conformance"])
        .args(["--max-examples", "20", "--workers", "1", "--seed", "1"])
        // Revoking tokens could revoke the admin token the fuzzer holds (once it has created
        // another admin token), and every later answer would be a 401 that tests nothing.
        .args(["--exclude-operation-id", "revoke_token"])
        .env("NO_COLOR", "1")
        .current_dir(project.path())
        .output();
    let output = match output {
        Ok(output) => output,
        Err(error) => {
            gantry_test::skip_or_fail(&format!(
                "schemathesis cannot be started ({error}); run scripts/install-deps"
            ));
            return;
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "schemathesis found problems:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Every operation of the document but the one left out was tried.
    let document: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(document).unwrap()).unwrap();
    let operations: usize = document["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum::<usize>()
        - 1;
    assert!(stdout.contains(&format!("Tested: {operations}\n")), "{stdout}");
}

/// `gantry user add` and `gantry token create --user`: a token for a user who was not added is
/// refused with the way out; once added, the user's token is seen by the server as that user,
/// and a token of no user as a machine.
#[test]
fn tokens_for_users_and_machines_from_the_cli() {
    let project = Project::new();
    let db = project.path().join("server.db");
    let url = format!("sqlite://{}", db.display());
    // The server's first start creates the store the commands below administer.
    let server = ServerProcess::start(&db, 0);
    let create = |name: &str, user: Option<&str>| {
        let mut args = vec![
            "token", "create", "--name", name, "--scopes", "read", "--db", &url,
        ];
        if let Some(user) = user {
            args.extend(["--user", user]);
        }
        project.run(&args)
    };

    let out = create("alice-laptop", Some("alice"));
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        out.stderr
            .contains("cannot create token `alice-laptop`: there is no user `alice`")
            && out
                .stderr
                .contains("hint: add the user first: `gantry user add alice`"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "{}", out.stdout);

    let out = project.run(&[
        "user",
        "add",
        "alice",
        "--email",
        "alice@example.com",
        "--db",
        &url,
    ]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let out = project.run(&["user", "add", "alice", "--db", &url]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        out.stderr.contains("a user named `alice` exists already"),
        "{}",
        out.stderr
    );
    let out = project.run(&["user", "add", "token:ci", "--db", &url]);
    assert_eq!(out.code, Some(2), "{out:?}");

    let out = create("alice-laptop", Some("alice"));
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stderr.contains("for user `alice`"), "{}", out.stderr);
    let alice = out.stdout.trim().to_owned();
    let out = create("ci", None);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stderr.contains("as a machine token"), "{}", out.stderr);
    let ci = out.stdout.trim().to_owned();

    let whoami = |token: &str| -> serde_json::Value {
        serde_json::from_slice(&http_get(&format!("{}/api/v1/whoami", server.url), Some(token))).unwrap()
    };
    let me = whoami(&alice);
    assert_eq!(
        (me["kind"].as_str(), me["name"].as_str()),
        (Some("user"), Some("alice")),
        "{me}"
    );
    let me = whoami(&ci);
    assert_eq!(
        (me["kind"].as_str(), me["name"].as_str()),
        (Some("machine"), Some("token:ci")),
        "{me}"
    );
    let tokens = server.get("/api/v1/tokens");
    let alice_laptop = tokens["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|token| token["name"] == "alice-laptop")
        .unwrap();
    assert_eq!(alice_laptop["user"], "alice", "{tokens}");
}

/// A task that prints 100,000 lines and one of 300 kB: every line recorded once, whole, in
/// order, in the local store and on a server (where large batches go gzip-compressed), and read
/// back the same from both.
#[test]
fn a_chatty_task_is_recorded_line_by_line_locally_and_on_a_server() {
    let pipeline =
        "app: chatty\nstages:\n  - name: print\n    tasks:\n      - { name: lines, run: 'bash print.sh' }\n";
    let script = "seq 1 100000\nhead -c 300000 /dev/zero | tr '\\0' x\necho\necho end\n";
    let mut expected: Vec<String> = (1..=100_000).map(|n| n.to_string()).collect();
    expected.push("x".repeat(300_000));
    expected.push("end".to_owned());
    let check = |out: &Outcome, where_: &str| {
        assert_eq!(out.code, Some(0), "{where_}: {}", out.stderr);
        let lines: Vec<&str> = out.stdout.lines().collect();
        assert_eq!(lines.len(), expected.len(), "{where_}");
        assert!(lines == expected, "{where_}: every line once, whole, in order");
    };

    let local = Project::with_pipeline(pipeline).file("print.sh", script);
    let out = local.run(&["run"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    check(&local.run(&["logs", "chatty#1", "lines"]), "local store");

    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(&data.path().join("gantry.db"), 0);
    let reported = Project::with_pipeline(pipeline).file("print.sh", script);
    let out = reported.run_with_token(&["run", "--server", &server.url], ADMIN);
    assert_eq!(out.code, Some(0), "{out:?}");
    let logs = Outcome::from(
        reported
            .command(&["logs", "chatty#1", "lines"])
            .env("GANTRY_SERVER", &server.url)
            .env("GANTRY_TOKEN", ADMIN)
            .output()
            .unwrap(),
    );
    check(&logs, "server");
}
