//! A small builder for driving the real `gantry` binary in a temporary project directory.

#![allow(dead_code)] // each test file uses a different part of this module

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// A temporary project: a directory with files, and the commands run in it.
pub struct Project {
    dir: tempfile::TempDir,
}

/// What a command printed and how it exited.
#[derive(Debug)]
pub struct Outcome {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Project {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temporary directory"),
        }
    }

    /// A project holding `gantry.yml` with `text`.
    pub fn with_pipeline(text: &str) -> Self {
        Self::new().file("gantry.yml", text)
    }

    /// A copy of one of the repository's examples.
    pub fn example(name: &str) -> Self {
        let project = Self::new();
        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples")
            .join(name);
        copy_dir(&source, project.path());
        project
    }

    #[must_use]
    pub fn file(self, name: &str, text: &str) -> Self {
        let path = self.dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        self
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A `gantry` command in the project, isolated from the caller's environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_gantry"));
        command
            .args(args)
            .current_dir(self.path())
            .env("CI", "true")
            .env("NO_COLOR", "1")
            .env_remove("GANTRY_DB")
            .env_remove("GANTRY_LIBRARY")
            .env_remove("GANTRY_BRANCH")
            .env_remove("GANTRY_SERVER")
            .env_remove("GANTRY_TOKEN")
            .stdin(Stdio::null());
        command
    }

    /// Runs `gantry ARGS` to the end.
    pub fn run(&self, args: &[&str]) -> Outcome {
        outcome(self.command(args).output().expect("gantry starts"))
    }

    /// Runs `git ARGS` in the project.
    pub fn git(&self, args: &[&str]) -> String {
        let output = Command::new("git")
            .args(args)
            .current_dir(self.path())
            .env("GIT_AUTHOR_NAME", "Test")
            .env("GIT_AUTHOR_EMAIL", "test@example.com")
            .env("GIT_COMMITTER_NAME", "Test")
            .env("GIT_COMMITTER_EMAIL", "test@example.com")
            .output()
            .expect("git starts");
        assert!(
            output.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    /// `gantry history --json`, parsed.
    pub fn history(&self) -> Vec<serde_json::Value> {
        let out = self.run(&["history", "--json", "--limit", "1000"]);
        assert_eq!(out.code, Some(0), "{out:?}");
        serde_json::from_str(&out.stdout).expect("history --json is JSON")
    }

    /// `gantry show RUN --json`, parsed.
    pub fn show(&self, run: &str) -> serde_json::Value {
        let out = self.run(&["show", run, "--json"]);
        assert_eq!(out.code, Some(0), "{out:?}");
        serde_json::from_str(&out.stdout).expect("show --json is JSON")
    }
}

impl Outcome {
    /// Every JSON line of stdout (`gantry run --json`).
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|line| serde_json::from_str(line).expect("a JSON event"))
            .collect()
    }
}

pub fn outcome(output: Output) -> Outcome {
    let Output {
        status,
        stdout,
        stderr,
    } = output;
    let text = |bytes: Vec<u8>| {
        String::from_utf8(bytes).unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned())
    };
    Outcome {
        code: status.code(),
        stdout: text(stdout),
        stderr: text(stderr),
    }
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target: PathBuf = to.join(entry.file_name());
        let name = entry.file_name();
        if name == "target" || name == ".gantry" || name == "out" {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// `GET URL` with curl, with a bearer token when given: the body. Fails the test on an error
/// status, with what curl said.
pub fn http_get(url: &str, token: Option<&str>) -> Vec<u8> {
    let mut curl = Command::new("curl");
    curl.args(["--silent", "--show-error", "--fail"]);
    if let Some(token) = token {
        curl.arg("-H").arg(format!("Authorization: Bearer {token}"));
    }
    let output = curl.arg(url).output().expect("curl runs");
    assert!(
        output.status.success(),
        "GET {url}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// The bootstrap admin token every [`ServerProcess`] is started with.
pub const ADMIN: &str = "gantry-test-admin-token-0123456789";

/// A `gantry server` process started with the [`ADMIN`] token, stopped with SIGTERM on drop.
pub struct ServerProcess {
    pub child: Child,
    pub url: String,
}

impl ServerProcess {
    /// Spawns `gantry server --listen ADDR --db DB EXTRA...`; [`ServerProcess::ready`] waits
    /// until it listens (spawn several first to start them at once).
    pub fn spawn(listen: &str, db: &str, extra: &[&OsStr]) -> Child {
        Command::new(env!("CARGO_BIN_EXE_gantry"))
            .args(["server", "--listen", listen, "--db", db])
            .args(extra)
            .env("GANTRY_ADMIN_TOKEN", ADMIN)
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("gantry server starts")
    }

    /// Waits for the line saying where the server listens.
    pub fn ready(mut child: Child) -> Self {
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let url = first.trim().rsplit(' ').next().unwrap().to_owned();
        assert!(
            url.starts_with("http://127.0.0.1:"),
            "the server did not start: {first:?}"
        );
        Self { child, url }
    }

    /// A server on a SQLite store at `db`, on `port` of the loopback (0: any free one).
    pub fn start(db: &Path, port: u16) -> Self {
        let db = format!("sqlite://{}", db.display());
        Self::ready(Self::spawn(&format!("127.0.0.1:{port}"), &db, &[]))
    }

    pub fn stop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).unwrap());
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = self.child.wait();
    }

    /// `GET PATH` with the admin token: the body's bytes.
    pub fn get_bytes(&self, path: &str) -> Vec<u8> {
        http_get(&format!("{}{path}", self.url), Some(ADMIN))
    }

    /// `GET PATH` with the admin token, parsed as JSON.
    pub fn get(&self, path: &str) -> serde_json::Value {
        serde_json::from_slice(&self.get_bytes(path)).unwrap()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}
