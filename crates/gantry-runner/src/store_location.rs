//! [`StoreLocation`]: which build data repository a command opens, chosen the same way by every
//! command that opens one: `--db`, else `GANTRY_DB`, else `.gantry/gantry.db` of the project
//! the command stands in; outside a project, an error that says how to name one.
//!
//! Opening a SQLite store creates it, so a command that reads or administers a store checks
//! first that it exists ([`StoreLocation::require_existing`]): a misspelt path or a command run
//! in the wrong directory must not quietly start a new, empty store. Only the commands whose
//! point is to create one (`gantry run`, `gantry up`, and `gantry server` with a store named
//! on purpose) create it.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::Error;
use crate::environment::{DB_VARIABLE, Environment};
use crate::workspace::{self, STATE_DIR};

/// The name of the store's file in a project's `.gantry/`.
pub const STORE_FILE: &str = "gantry.db";

/// A build data repository, and what chose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreLocation {
    /// `sqlite://PATH`, a path, or `postgres://…`.
    pub url: String,
    pub chosen_by: ChosenBy,
}

/// What chose a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChosenBy {
    /// `--db` on the command line.
    Flag,
    /// `GANTRY_DB`.
    Variable,
    /// The project at this root: its `.gantry/gantry.db`.
    Project(PathBuf),
}

impl StoreLocation {
    /// The store `flag` (`--db`) names, else `GANTRY_DB`'s, else the one of the project `dir`
    /// is in ([`workspace::project_root`]); outside a project, an error with the way out.
    pub fn resolve(flag: Option<&str>, environment: &Environment, dir: &Path) -> Result<Self, Error> {
        if let Some(url) = flag {
            return Ok(Self {
                url: url.to_owned(),
                chosen_by: ChosenBy::Flag,
            });
        }
        if let Some(url) = &environment.db {
            return Ok(Self {
                url: url.clone(),
                chosen_by: ChosenBy::Variable,
            });
        }
        let Some(root) = workspace::project_root(dir) else {
            return Err(Error::refused_with_hint(
                format!(
                    "no build data repository here: `{}` is in no git repository and holds no `gantry.yml` or `.gantry/`",
                    dir.display()
                ),
                format!(
                    "run it inside your project (its store is `.gantry/{STORE_FILE}`), or name a store with `--db sqlite://PATH` or `{DB_VARIABLE}`"
                ),
            ));
        };
        Ok(Self::of_project(&root))
    }

    /// The store of the project at `root`: `.gantry/gantry.db`.
    pub fn of_project(root: &Path) -> Self {
        Self {
            url: format!("sqlite://{}", root.join(STATE_DIR).join(STORE_FILE).display()),
            chosen_by: ChosenBy::Project(root.to_path_buf()),
        }
    }

    /// Whether the store was named on purpose (`--db`, `GANTRY_DB`) rather than found.
    pub fn is_named(&self) -> bool {
        !matches!(self.chosen_by, ChosenBy::Project(_))
    }

    /// The SQLite file of the store; `None` for PostgreSQL.
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        gantry_store::Store::sqlite_file(&self.url)
    }

    /// Whether the store exists: its SQLite file does (a PostgreSQL database is created by its
    /// administrator, never by opening it, so it counts as existing).
    pub fn exists(&self) -> bool {
        self.sqlite_file().is_none_or(|file| file.exists())
    }

    /// Refuses a store that does not exist, saying which one was looked for and why there,
    /// and how to create one or name the right one.
    pub fn require_existing(&self) -> Result<(), Error> {
        if self.exists() {
            return Ok(());
        }
        let path = self.sqlite_file().unwrap_or_default();
        let hint = match &self.chosen_by {
            ChosenBy::Project(_) => format!(
                "`gantry run` or `gantry up` creates it with the first run; or name another store with `--db` or `{DB_VARIABLE}`"
            ),
            ChosenBy::Flag | ChosenBy::Variable => {
                "check the path; `gantry run --db URL` or `gantry server --db URL` creates a new store"
                    .to_owned()
            }
        };
        Err(Error::refused_with_hint(
            format!("no build data repository at `{}` ({self})", path.display()),
            hint,
        ))
    }

    /// Makes way for a store that is to be created: a project's `.gantry/` gets its
    /// `.gitignore`, so that the new store never dirties the repository.
    pub fn prepare(&self) -> Result<(), Error> {
        if let ChosenBy::Project(root) = &self.chosen_by {
            workspace::ensure_state_dir(root)?;
        }
        Ok(())
    }
}

/// Why this store: "named by `--db`", "named by `GANTRY_DB`", "the store of the project at …".
impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.chosen_by {
            ChosenBy::Flag => f.write_str("named by `--db`"),
            ChosenBy::Variable => write!(f, "named by `{DB_VARIABLE}`"),
            ChosenBy::Project(root) => write!(f, "the store of the project at `{}`", root.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn environment(db: Option<&str>) -> Environment {
        Environment {
            db: db.map(str::to_owned),
            ..Environment::default()
        }
    }

    #[test]
    fn the_flag_beats_the_variable_which_beats_the_project() {
        let project = tempfile::tempdir().unwrap();
        std::fs::write(project.path().join("gantry.yml"), "app: a\n").unwrap();
        let dir = project.path();
        // (--db, GANTRY_DB) → the url chosen, named on purpose
        let own = format!("sqlite://{}", dir.join(".gantry/gantry.db").display());
        let rows: [(Option<&str>, Option<&str>, &str, bool); 4] = [
            (
                Some("sqlite://flag.db"),
                Some("sqlite://env.db"),
                "sqlite://flag.db",
                true,
            ),
            (Some("sqlite://flag.db"), None, "sqlite://flag.db", true),
            (None, Some("sqlite://env.db"), "sqlite://env.db", true),
            (None, None, &own, false),
        ];
        for (flag, variable, url, named) in rows {
            let location = StoreLocation::resolve(flag, &environment(variable), dir).unwrap();
            assert_eq!(
                (location.url.as_str(), location.is_named()),
                (url, named),
                "{flag:?} {variable:?}"
            );
        }
    }

    #[test]
    fn outside_a_project_a_store_must_be_named() {
        let outside = tempfile::tempdir().unwrap();
        let error = StoreLocation::resolve(None, &environment(None), outside.path()).unwrap_err();
        let Error::Refused { message, hint } = error else {
            panic!("{error:?}");
        };
        assert!(message.contains("in no git repository"), "{message}");
        assert!(hint.is_some_and(|hint| hint.contains("--db sqlite://PATH")));
        // `.gantry/` alone makes a project: where `gantry run -f FILE` recorded outside git.
        std::fs::create_dir(outside.path().join(".gantry")).unwrap();
        assert!(StoreLocation::resolve(None, &environment(None), outside.path()).is_ok());
    }

    #[test]
    fn a_missing_store_is_refused_and_a_present_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("runs.db");
        let location = StoreLocation::resolve(
            Some(&format!("sqlite://{}", file.display())),
            &environment(None),
            dir.path(),
        )
        .unwrap();
        let Err(Error::Refused { message, .. }) = location.require_existing() else {
            panic!("a missing store was taken");
        };
        assert!(
            message.contains("no build data repository at") && message.contains("named by `--db`"),
            "{message}"
        );
        std::fs::write(&file, "").unwrap();
        location.require_existing().unwrap();
        let postgres =
            StoreLocation::resolve(Some("postgres://u@h/db"), &environment(None), dir.path()).unwrap();
        assert!(postgres.exists(), "a database is its administrator's to create");
    }
}
