//! The log of `gantry server` on stderr: what the server opened, each request it answered
//! (method, route template, status, duration) at `info`, never a token; as text, and as JSON
//! lines with `--log-format json`.

use std::ffi::OsStr;
use std::fs::File;
use std::process::{Command, Stdio};

use gantry_test::{ADMIN, ServerProcess, gantry_binary, http_get};

/// Serves `requests` (paths to `GET` with the admin token; some may fail) with a server
/// started with `extra` flags, then stops it: what it logged.
fn served_log(extra: &[&str], requests: &[&str]) -> String {
    let data = tempfile::tempdir().unwrap();
    let log_path = data.path().join("server.log");
    let db = format!("sqlite://{}", data.path().join("gantry.db").display());
    let child = Command::new(gantry_binary())
        .args(["server", "--listen", "127.0.0.1:0", "--db", &db])
        .args(extra.iter().map(OsStr::new))
        .env("GANTRY_ADMIN_TOKEN", ADMIN)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env_remove("GANTRY_LOG_FORMAT")
        .stdout(Stdio::piped())
        .stderr(File::create(&log_path).unwrap())
        .spawn()
        .expect("gantry server starts");
    let mut server = ServerProcess::ready(child);
    for path in requests {
        let _ = Command::new("curl")
            .args(["--silent", "--output", "/dev/null", "-H"])
            .arg(format!("Authorization: Bearer {ADMIN}"))
            .arg(format!("{}{path}", server.url))
            .status();
    }
    let _ = http_get(&format!("{}/healthz", server.url), None);
    server.stop();
    std::fs::read_to_string(&log_path).unwrap()
}

#[test]
fn every_request_is_logged_with_its_route_status_and_duration() {
    let log = served_log(&[], &["/api/v1/runs", "/api/v1/runs/no-such-run?token=x"]);
    assert!(!log.contains(ADMIN), "a token reached the log:\n{log}");
    assert!(!log.contains("token=x"), "a query string reached the log:\n{log}");
    let line = |needles: &[&str]| {
        log.lines()
            .find(|line| needles.iter().all(|needle| line.contains(needle)))
            .unwrap_or_else(|| panic!("no line with {needles:?} in:\n{log}"))
            .to_owned()
    };
    let listed = line(&[
        "INFO",
        "method=GET",
        "route=/api/v1/runs ",
        "path=/api/v1/runs}",
        "status=200",
    ]);
    assert!(listed.contains(" ms"), "no duration: {listed}");
    let missing = line(&["method=GET", "route=/api/v1/runs/{id}", "status=404"]);
    assert!(missing.contains("latency="), "no duration: {missing}");
    line(&["opened the store", "sqlite://"]);
    line(&["opened the artifact store"]);
    line(&["sweeping the leases of reported runs"]);
}

#[test]
fn json_lines_for_log_shippers() {
    let log = served_log(&["--log-format", "json"], &["/api/v1/runs/no-such-run"]);
    assert!(!log.contains(ADMIN), "a token reached the log:\n{log}");
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line}")))
        .collect();
    let request = lines
        .iter()
        .find(|line| line["span"]["route"] == "/api/v1/runs/{id}")
        .unwrap_or_else(|| panic!("no request line in:\n{log}"));
    assert_eq!(request["level"], "INFO", "{request}");
    assert_eq!(request["span"]["method"], "GET", "{request}");
    assert_eq!(request["fields"]["status"], 404, "{request}");
    assert!(
        request["fields"]["latency"]
            .as_str()
            .is_some_and(|latency| latency.ends_with("ms")),
        "{request}"
    );
}
