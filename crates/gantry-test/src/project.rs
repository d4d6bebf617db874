//! A temporary project directory and the real `gantry` binary run in it, isolated from the
//! caller's environment.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The `gantry` binary under test: `GANTRY_BIN` when set, else the one Cargo built beside the
/// running test binary (`target/debug/gantry` for `target/debug/deps/it-…`).
pub fn gantry_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("GANTRY_BIN") {
        return PathBuf::from(path);
    }
    let test = std::env::current_exe().expect("the test binary's path");
    let profile = test
        .parent()
        .and_then(|dir| {
            if dir.ends_with("deps") {
                dir.parent()
            } else {
                Some(dir)
            }
        })
        .expect("the test binary lives in the target directory");
    let binary = profile.join(format!("gantry{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.exists(),
        "no `gantry` binary at {} (build it, or set GANTRY_BIN)",
        binary.display()
    );
    binary
}

/// A temporary project: a directory with files, and the commands run in it.
pub struct Project {
    dir: tempfile::TempDir,
}

/// What a command printed and how it exited.
#[derive(Debug)]
pub struct Outcome {
    /// The exit code; `None` when a signal ended the process.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Default for Project {
    fn default() -> Self {
        Self::new()
    }
}

impl Project {
    /// An empty project.
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temporary directory"),
        }
    }

    /// A project holding `gantry.yml` with `text`.
    pub fn with_pipeline(text: &str) -> Self {
        Self::new().file("gantry.yml", text)
    }

    /// A copy of one of the repository's examples (`examples/NAME`), without build output.
    pub fn example(name: &str) -> Self {
        let project = Self::new();
        let source = repository_root().join("examples").join(name);
        copy_dir(&source, project.path()).unwrap_or_else(|err| panic!("{}: {err}", source.display()));
        project
    }

    /// Writes `text` to `name` (directories made as needed).
    #[must_use]
    pub fn file(self, name: &str, text: &str) -> Self {
        let path = self.dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("a file in the project")).unwrap();
        std::fs::write(&path, text).unwrap();
        self
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A `gantry` command in the project, isolated from the caller's environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(gantry_binary());
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
            .env_remove("GANTRY_ARTIFACTS")
            .stdin(Stdio::null());
        command
    }

    /// Runs `gantry ARGS` to the end.
    pub fn run(&self, args: &[&str]) -> Outcome {
        Outcome::from(self.command(args).output().expect("gantry starts"))
    }

    /// Runs `gantry ARGS` to the end with `GANTRY_TOKEN` set to `token`.
    pub fn run_with_token(&self, args: &[&str], token: &str) -> Outcome {
        Outcome::from(
            self.command(args)
                .env("GANTRY_TOKEN", token)
                .output()
                .expect("gantry starts"),
        )
    }

    /// Runs `git ARGS` in the project, as a fixed author: what it printed, trimmed.
    pub fn git(&self, args: &[&str]) -> String {
        git(self.path(), args)
    }

    /// Makes the project a git repository on `main` with everything committed: the commit's id.
    pub fn commit_all(&self, message: &str) -> String {
        if !self.path().join(".git").exists() {
            self.git(&["init", "-q", "-b", "main"]);
        }
        self.git(&["add", "."]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }

    /// Insta settings redacting ids, times, durations, digests and this project's path
    /// (`[PROJECT]`); bind them to a scope before asserting a snapshot.
    pub fn redacted(&self) -> insta::Settings {
        crate::redact::redacted(&[(self.path(), "[PROJECT]")])
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

/// Runs `git ARGS` in `dir` as a fixed author: what it printed, trimmed. Fails the test when git
/// fails, with what git said.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("git starts");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
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

impl Outcome {
    /// The exit code, stdout and stderr as one text, for a snapshot that pins all three.
    pub fn transcript(&self) -> String {
        let code = self
            .code
            .map_or_else(|| "a signal".to_owned(), |code| code.to_string());
        format!(
            "exit code: {code}\n----- stdout -----\n{}----- stderr -----\n{}",
            self.stdout, self.stderr
        )
    }
}

impl From<Output> for Outcome {
    fn from(output: Output) -> Self {
        let Output {
            status,
            stdout,
            stderr,
        } = output;
        let text = |bytes: Vec<u8>| {
            String::from_utf8(bytes)
                .unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned())
        };
        Self {
            code: status.code(),
            stdout: text(stdout),
            stderr: text(stderr),
        }
    }
}

/// The repository's root (this crate is `crates/gantry-test`).
pub fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Copies a directory tree, leaving out build output and Gantry's own state.
fn copy_dir(from: &Path, to: &Path) -> io::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == "target" || name == ".gantry" || name == "out" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type()?.is_dir() {
            std::fs::create_dir_all(&target)?;
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
