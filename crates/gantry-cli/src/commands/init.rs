//! `gantry init`: a commented starter `gantry.yml`, fitted to what the repository holds.

use std::path::Path;

use fs_err as fs;

use crate::args::InitArgs;
use crate::exit::{CommandError, ExitStatus};
use gantry_runner::workspace::PIPELINE_FILES;

/// A kind of project `init` recognises, by a file at its root.
struct Kind {
    marker: &'static str,
    label: &'static str,
    build: &'static str,
    test: &'static str,
    lint: &'static str,
    artifacts: &'static str,
}

/// In order of preference, when a repository holds several.
const KINDS: [Kind; 6] = [
    Kind {
        marker: "Cargo.toml",
        label: "a Rust project (Cargo.toml)",
        build: "cargo build --release",
        test: "cargo test",
        lint: "cargo clippy --all-targets -- -D warnings",
        artifacts: "# artifacts: [target/release/APP]",
    },
    Kind {
        marker: "go.mod",
        label: "a Go module (go.mod)",
        build: "go build -o bin/ ./...",
        test: "go test ./...",
        lint: "go vet ./...",
        artifacts: "artifacts: [bin/*]",
    },
    Kind {
        marker: "package.json",
        label: "a Node.js project (package.json)",
        build: "npm ci && npm run build --if-present",
        test: "npm test",
        lint: "npm run lint --if-present",
        artifacts: "# artifacts: [dist/**]",
    },
    Kind {
        marker: "pyproject.toml",
        label: "a Python project (pyproject.toml)",
        build: "python3 -m pip wheel --no-deps -w dist .",
        test: "python3 -m pytest",
        lint: "python3 -m ruff check . || true",
        artifacts: "artifacts: [dist/*.whl]",
    },
    Kind {
        marker: "Makefile",
        label: "a Makefile",
        build: "make",
        test: "make test",
        lint: "if make -n lint >/dev/null 2>&1; then make lint; else echo \"no lint target\"; fi",
        artifacts: "# artifacts: [build/**]",
    },
    Kind {
        marker: "",
        label: "no known build file",
        build: "echo \"build me\"",
        test: "echo \"test me\"",
        lint: "echo \"lint me\"",
        artifacts: "# artifacts: [out/**]",
    },
];

pub fn init(args: &InitArgs) -> anyhow::Result<ExitStatus> {
    let dir = &args.dir;
    if !dir.is_dir() {
        return Err(CommandError::usage(format!("`{}` is not a directory", dir.display())).into());
    }
    for name in PIPELINE_FILES {
        let existing = dir.join(name);
        if existing.exists() {
            return Err(CommandError::usage(format!(
                "`{}` already exists; not overwriting it",
                existing.display()
            ))
            .hint("edit it, or remove it first to start over")
            .into());
        }
    }
    let kind = KINDS
        .iter()
        .find(|kind| kind.marker.is_empty() || dir.join(kind.marker).is_file())
        .expect("the last kind matches every directory");
    let app = app_name(dir);
    let file = dir.join(PIPELINE_FILES[0]);
    fs::write(&file, starter(&app, kind))?;
    println!("wrote `{}` for {}", file.display(), kind.label);
    println!("next: `gantry plan` to see what would run, `gantry run` to run it");
    Ok(ExitStatus::Success)
}

/// The app name: the directory's name, reduced to `[a-z0-9-]`.
fn app_name(dir: &Path) -> String {
    let dir = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let name: String = dir
        .file_name()
        .map(|name| name.to_string_lossy().to_lowercase())
        .unwrap_or_default()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let name = name.trim_matches('-').to_owned();
    if name.is_empty() { "app".to_owned() } else { name }
}

fn starter(app: &str, kind: &Kind) -> String {
    let artifacts = kind.artifacts.replace("APP", app);
    format!(
        r#"# Gantry pipeline for {label}. Every key is described in Gantry's docs/pipeline.md;
# `gantry schema > .gantry/gantry.schema.json` gives editors a schema for completion.
# Try it: `gantry plan` shows what would run, `gantry run` runs it and records the run,
# `gantry run --mock` runs the pipeline's logic with stand-in tasks.

app: {app}
# The version of each run; {{build}} is the next build number of this app.
version: "0.1.{{build}}"

env:
  CI: "true"

# Secrets are read from the environment or `--secrets-file`; their values are masked in logs.
# secrets: [DEPLOY_TOKEN]

stages:
  - name: build
    tasks:
      - name: compile
        run: {build}
        timeout: 30m
        {artifacts}

  - name: check
    parallel: true        # these tasks run at the same time
    tasks:
      - name: test
        run: {test}
      - name: lint
        run: {lint}
        allow_failure: true

  # - name: publish
  #   when: {{ branch: [main] }}
  #   tasks:
  #     - name: upload
  #       run: ./scripts/publish.sh "$GANTRY_VERSION"

finally:                  # always runs; $GANTRY_RESULT is success, failure or cancelled
  - name: report
    run: echo "{app} $GANTRY_VERSION finished with $GANTRY_RESULT"
"#,
        label = kind.label,
        build = yaml_string(kind.build),
        test = yaml_string(kind.test),
        lint = yaml_string(kind.lint),
    )
}

/// A command as a YAML scalar: plain when safe, double-quoted otherwise.
fn yaml_string(command: &str) -> String {
    let plain_safe = !command.contains(": ")
        && !command.contains(" #")
        && !command.starts_with(['"', '\'', '&', '*', '!', '|', '>', '%', '@', '`', '{', '[']);
    if plain_safe {
        command.to_owned()
    } else {
        format!("{command:?}")
    }
}
