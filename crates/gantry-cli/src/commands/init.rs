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
        lint: "npm run lint",
        artifacts: "# artifacts: [dist/**]",
    },
    Kind {
        marker: "pyproject.toml",
        label: "a Python project (pyproject.toml)",
        build: "python3 -m pip wheel --no-deps -w dist .",
        test: "python3 -m pytest",
        lint: "python3 -m ruff check .",
        artifacts: "artifacts: [dist/*.whl]",
    },
    Kind {
        marker: "Makefile",
        label: "a Makefile",
        build: "make",
        test: "make test",
        lint: "make lint",
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
    let declared = if kind.marker.is_empty() {
        Declared::default()
    } else {
        declared(&dir.join(kind.marker))?
    };
    let (app, app_from) = match declared.name.as_deref().map(app_name) {
        Some(name) if !name.is_empty() => (name, kind.marker.to_owned()),
        _ => (directory_name(dir), "the directory's name".to_owned()),
    };
    let (version, version_from) = match declared.version.as_deref().and_then(version_template) {
        Some(template) => (template, kind.marker.to_owned()),
        None => ("0.1.{build}".to_owned(), "a default".to_owned()),
    };
    let file = dir.join(PIPELINE_FILES[0]);
    fs::write(&file, starter(&app, &version, kind))?;
    println!("wrote `{}` for {}", file.display(), kind.label);
    println!("app `{app}` from {app_from}, version \"{version}\" from {version_from}");
    println!("next: `gantry plan` to see what would run, `gantry run` to run it");
    Ok(ExitStatus::Success)
}

/// What a project's own file says about it.
#[derive(Debug, Default, PartialEq, Eq)]
struct Declared {
    name: Option<String>,
    version: Option<String>,
}

/// The name and version a project file declares, read with the file format's own parser: a
/// file that does not parse is an error naming it (and, for TOML and JSON, the line and
/// column), rather than a starter under a guessed name.
fn declared(file: &Path) -> anyhow::Result<Declared> {
    let text = fs::read_to_string(file)?;
    let unreadable = |why: String| {
        CommandError::usage(format!(
            "cannot read the app's name from `{}`: {why}",
            file.display()
        ))
        .hint("fix the file, or write gantry.yml by hand (docs/pipeline.md)")
    };
    let kind = file
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or_default();
    Ok(match kind {
        "Cargo.toml" | "pyproject.toml" => {
            let table: toml::Table = text
                .parse()
                .map_err(|error: toml::de::Error| unreadable(error.to_string()))?;
            if kind == "Cargo.toml" {
                cargo_declared(&table)
            } else {
                python_declared(&table)
            }
        }
        "package.json" => {
            let value: serde_json::Value =
                serde_json::from_str(&text).map_err(|error| unreadable(error.to_string()))?;
            let field = |key: &str| {
                value
                    .get(key)
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned)
            };
            Declared {
                // A scoped package, `@team/web`, is the app `web`.
                name: field("name").map(|name| name.rsplit('/').next().unwrap_or(&name).to_owned()),
                version: field("version"),
            }
        }
        "go.mod" => Declared {
            name: go_module_name(&text),
            version: None,
        },
        _ => Declared::default(),
    })
}

/// `[package]`'s name and version; a version inherited from the workspace
/// (`version.workspace = true`) is read from `[workspace.package]` of the same file.
fn cargo_declared(table: &toml::Table) -> Declared {
    let package = table.get("package");
    let workspace_version = table
        .get("workspace")
        .and_then(|workspace| workspace.get("package"))
        .and_then(|package| package.get("version"))
        .and_then(toml::Value::as_str);
    Declared {
        name: package
            .and_then(|package| package.get("name"))
            .and_then(toml::Value::as_str)
            .map(str::to_owned),
        version: package
            .and_then(|package| package.get("version"))
            .and_then(toml::Value::as_str)
            .or(workspace_version)
            .map(str::to_owned),
    }
}

/// `[project]` (PEP 621), else `[tool.poetry]`.
fn python_declared(table: &toml::Table) -> Declared {
    let sections = [
        table.get("project"),
        table.get("tool").and_then(|tool| tool.get("poetry")),
    ];
    let field = |key: &str| {
        sections
            .iter()
            .flatten()
            .find_map(|section| section.get(key).and_then(toml::Value::as_str))
            .map(str::to_owned)
    };
    Declared {
        name: field("name"),
        version: field("version"),
    }
}

/// The last element of go.mod's `module` path, leaving out a major version suffix
/// (`example.com/shop/cart/v2` is `cart`).
fn go_module_name(text: &str) -> Option<String> {
    let path = text.lines().find_map(|line| {
        let line = line.split("//").next().unwrap_or_default().trim();
        line.strip_prefix("module")
            .filter(|rest| rest.starts_with([' ', '\t']))
            .map(|rest| rest.trim().trim_matches('"').to_owned())
    })?;
    let mut elements = path.rsplit('/');
    let last = elements.next()?;
    let is_major = last.len() > 1 && last.starts_with('v') && last[1..].bytes().all(|b| b.is_ascii_digit());
    match (is_major, elements.next()) {
        (true, Some(previous)) => Some(previous.to_owned()),
        _ => Some(last.to_owned()),
    }
}

/// The version template for a declared version: its major and minor numbers, then the build
/// number (`1.4.2` gives `1.4.{build}`); `None` for a version that does not start with two.
fn version_template(version: &str) -> Option<String> {
    let mut numbers = version.trim().trim_start_matches('v').split(['.', '-', '+']);
    let major = numbers
        .next()
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))?;
    let minor = numbers
        .next()
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))?;
    Some(format!("{major}.{minor}.{{build}}"))
}

/// A name reduced to `[a-z0-9-]`, as app names are written.
fn app_name(name: &str) -> String {
    let name: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    name.trim_matches('-').to_owned()
}

/// The app name when the project file names none: the directory's name.
fn directory_name(dir: &Path) -> String {
    let dir = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let name = app_name(
        &dir.file_name()
            .map(|name| name.to_string_lossy())
            .unwrap_or_default(),
    );
    if name.is_empty() { "app".to_owned() } else { name }
}

fn starter(app: &str, version: &str, kind: &Kind) -> String {
    let artifacts = kind.artifacts.replace("APP", app);
    format!(
        r#"# Gantry pipeline for {label}. Every key is described in Gantry's docs/pipeline.md;
# `gantry schema > .gantry/gantry.schema.json` gives editors a schema for completion.
# Try it: `gantry plan` shows what would run, `gantry run` runs it and records the run,
# `gantry run --mock` runs the pipeline's logic with stand-in tasks.

app: {app}
# The version of each run; {{build}} is the next build number of this app.
version: "{version}"

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
        allow_failure: true   # a lint failure, or a missing linter, is shown but does not fail the run

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
