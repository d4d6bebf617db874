//! Two `gantry server` replicas on one PostgreSQL database, end to end: real processes, real
//! sockets, a shared artifact directory; a run reported through one replica is read from the
//! other. Passes, saying so loudly, when no PostgreSQL server answers on 127.0.0.1:5432, unless
//! the `CI` environment variable is set: then it fails.

mod common;

use std::process::{Command, Output, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use common::{ADMIN, Project, ServerProcess};

/// The PostgreSQL server: `GANTRY_TEST_POSTGRES_URL`, or the local one.
fn postgres_server() -> String {
    std::env::var("GANTRY_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

fn psql(database_url: &str, sql: &str) -> Output {
    Command::new("psql")
        .args([
            "--no-psqlrc",
            "--quiet",
            "--tuples-only",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            database_url,
            "-c",
            sql,
        ])
        .stdin(Stdio::null())
        .output()
        .expect("psql starts")
}

/// A new database of its own, dropped on drop.
struct TestDatabase {
    url: String,
    name: String,
}

impl TestDatabase {
    /// `None`, said loudly, when there is no PostgreSQL server (or no `psql`) to use; a failure
    /// when the `CI` environment variable is set, as CI must run the PostgreSQL half.
    fn create() -> Option<Self> {
        let server = postgres_server();
        let admin = format!("{server}/postgres");
        let missing = match Command::new("psql")
            .args(["--no-psqlrc", "-d", &admin, "-c", "SELECT 1"])
            .output()
        {
            Ok(output) if output.status.success() => None,
            Ok(output) => Some(format!(
                "no PostgreSQL server at {server} ({})",
                String::from_utf8_lossy(&output.stderr).trim()
            )),
            Err(err) => Some(format!("`psql` does not start ({err})")),
        };
        if let Some(missing) = missing {
            assert!(
                std::env::var_os("CI").is_none(),
                "{missing}, and CI is set: the PostgreSQL half must run"
            );
            eprintln!("SKIPPED: {missing}; this test did not run");
            return None;
        }
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
        let name = format!("gantry_test_e2e_{}_{nanos}", std::process::id());
        let created = psql(&admin, &format!("CREATE DATABASE {name}"));
        assert!(
            created.status.success(),
            "{}",
            String::from_utf8_lossy(&created.stderr)
        );
        Some(Self {
            url: format!("{server}/{name}"),
            name,
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let dropped = psql(
            &format!("{}/postgres", postgres_server()),
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
        if !std::thread::panicking() {
            assert!(
                dropped.status.success(),
                "{}",
                String::from_utf8_lossy(&dropped.stderr)
            );
        }
    }
}

#[test]
fn a_run_reported_through_one_replica_is_read_from_the_other() {
    let Some(database) = TestDatabase::create() else {
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
    let out = common::outcome(
        project
            .command(&["run", "--server", &a.url])
            .env("GANTRY_TOKEN", ADMIN)
            .output()
            .unwrap(),
    );
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
    let again = common::outcome(
        project
            .command(&["run", "--server", &b.url])
            .env("GANTRY_TOKEN", ADMIN)
            .output()
            .unwrap(),
    );
    assert_eq!(again.code, Some(0), "{again:?}");
    assert!(again.stdout.contains("strawberry#2"), "{}", again.stdout);
    assert_eq!(a.get("/api/v1/runs?app=strawberry")["runs"][0]["build"], 2);
    drop((a, b));
}

#[test]
fn a_postgres_store_needs_an_artifact_directory() {
    let output = Command::new(env!("CARGO_BIN_EXE_gantry"))
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
    let out = common::outcome(output);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("needs `--artifacts`"), "{}", out.stderr);
    assert!(out.stderr.contains("hint:"), "{}", out.stderr);
    assert!(out.stderr.contains("s3://BUCKET/PREFIX"), "{}", out.stderr);
}
