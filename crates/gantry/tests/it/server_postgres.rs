//! Two `gantry server` replicas on one PostgreSQL database, end to end: real processes, real
//! sockets, a shared artifact directory; a run reported through one replica is read from the
//! other. Passes, saying so loudly, when no PostgreSQL server answers on 127.0.0.1:5432 (and
//! fails instead when `CI` is set).

use std::process::Command;

use gantry_test::{ADMIN, Outcome, PostgresDatabase, Project, ServerProcess, gantry_binary};

#[test]
fn a_run_reported_through_one_replica_is_read_from_the_other() {
    let Some(database) = PostgresDatabase::create_blocking() else {
        return;
    };
    let artifacts = tempfile::tempdir().unwrap();
    // Both start at once on the new database: migrations and the bootstrap token race.
    let (first, second) = (
        ServerProcess::spawn(
            "127.0.0.1:0",
            &database.url,
            &["--artifacts".as_ref(), artifacts.path().as_os_str()],
        ),
        ServerProcess::spawn(
            "127.0.0.1:0",
            &database.url,
            &["--artifacts".as_ref(), artifacts.path().as_os_str()],
        ),
    );
    let (a, b) = (ServerProcess::ready(first), ServerProcess::ready(second));

    let project = Project::example("strawberry");
    let out = project.run_with_token(&["run", "--server", &a.url], ADMIN);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout.contains("strawberry#1 (version 2.3.1) succeeded"),
        "{}",
        out.stdout
    );

    let runs = b.get("/api/v1/runs?app=strawberry");
    let run = &runs["runs"][0];
    assert_eq!(run["build"], 1);
    assert_eq!(run["result"], "success");
    let id = run["id"].as_str().unwrap();
    let detail = b.get(&format!("/api/v1/runs/{id}"));
    assert_eq!(
        detail,
        a.get(&format!("/api/v1/runs/{id}")),
        "both replicas serve the same run"
    );
    let artifact = &detail["artifacts"][0];
    assert_eq!(artifact["name"], "out/strawberry.tar.gz");
    let download = artifact["download"].as_str().unwrap();
    assert_eq!(
        b.get_bytes(download),
        a.get_bytes(download),
        "one shared artifact directory"
    );
    let events = b.get(&format!("/api/v1/events?chain={id}"));
    assert!(
        events["events"]
            .as_array()
            .is_some_and(|events| events.len() > 10),
        "{events}"
    );

    // The next build number comes from the same sequence, whichever replica gives it.
    let again = project.run_with_token(&["run", "--server", &b.url], ADMIN);
    assert_eq!(again.code, Some(0), "{again:?}");
    assert!(again.stdout.contains("strawberry#2"), "{}", again.stdout);
    assert_eq!(a.get("/api/v1/runs?app=strawberry")["runs"][0]["build"], 2);
    drop((a, b));
}

#[test]
fn a_postgres_store_needs_an_artifact_directory() {
    let output = Command::new(gantry_binary())
        .args([
            "server",
            "--listen",
            "127.0.0.1:0",
            "--db",
            "postgres://postgres@127.0.0.1:5432/gantry",
        ])
        .env_remove("GANTRY_ARTIFACTS")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let out = Outcome::from(output);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("needs `--artifacts`"), "{}", out.stderr);
    assert!(out.stderr.contains("hint:"), "{}", out.stderr);
    assert!(out.stderr.contains("s3://BUCKET/PREFIX"), "{}", out.stderr);
}

/// The commands that open a store directly (tokens, users, history) work on the servers'
/// PostgreSQL database given the servers' artifact location in `GANTRY_ARTIFACTS`, and without it
/// say so instead of failing in the store.
#[test]
fn the_cli_opens_a_postgres_store_with_the_servers_artifacts() {
    let Some(database) = PostgresDatabase::create_blocking() else {
        return;
    };
    let artifacts = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::ready(ServerProcess::spawn(
        "127.0.0.1:0",
        &database.url,
        &["--artifacts".as_ref(), artifacts.path().as_os_str()],
    ));
    server.stop();
    let project = Project::new();
    let with_artifacts = |args: &[&str]| {
        let output = project
            .command(args)
            .env("GANTRY_ARTIFACTS", artifacts.path())
            .output()
            .unwrap();
        Outcome::from(output)
    };

    let out = project.run(&["token", "list", "--db", &database.url]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("set `GANTRY_ARTIFACTS`"), "{}", out.stderr);

    let out = with_artifacts(&["user", "add", "alice", "--db", &database.url]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let out = with_artifacts(&[
        "token",
        "create",
        "--name",
        "ci",
        "--scopes",
        "report",
        "--db",
        &database.url,
    ]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let out = with_artifacts(&["token", "list", "--db", &database.url]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout.contains("bootstrap") && out.stdout.contains("ci"),
        "{}",
        out.stdout
    );
}
