//! Secret values: from a secrets file (`NAME=VALUE` lines, dotenv syntax) or the process
//! environment, or handed over as they are.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use gantry_engine::MIN_SECRET_CHARS;

use crate::Error;

/// Where the values of the secrets a pipeline names come from.
#[derive(Clone, Default)]
pub enum Secrets {
    /// The process environment, where a file of `NAME=VALUE` lines (`--secrets-file`) does not
    /// have them.
    #[default]
    Environment,
    /// A file of `NAME=VALUE` lines first, then the process environment.
    File(PathBuf),
    /// Values given by whoever starts the run (a server handing out a job, say); no other source.
    Given(Vec<(String, String)>),
}

/// Shows where values come from, never a value.
impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Environment => f.write_str("Environment"),
            Self::File(path) => f.debug_tuple("File").field(path).finish(),
            Self::Given(values) => f
                .debug_tuple("Given")
                .field(&values.iter().map(|(name, _)| name).collect::<Vec<_>>())
                .finish(),
        }
    }
}

/// Where values not in a file come from, as messages name it.
const ENVIRONMENT: &str = "the environment";

impl Secrets {
    /// The value of every secret in `names`, in that order; see [`resolve`].
    pub fn resolve(&self, names: &[String]) -> Result<Vec<(String, String)>, Error> {
        match self {
            Self::Environment => resolve(names, None, ENVIRONMENT, |name| std::env::var(name).ok()),
            Self::File(path) => resolve(names, Some(path), ENVIRONMENT, |name| std::env::var(name).ok()),
            Self::Given(values) => resolve(names, None, "the values given", |name| {
                values
                    .iter()
                    .find(|(given, _)| given == name)
                    .map(|(_, value)| value.clone())
            }),
        }
    }
}

/// The value of every secret the pipeline names, in the pipeline's order.
///
/// A secret with no value anywhere is an error: a run that silently got an empty credential
/// fails later, far from the cause. So is a value shorter than [`MIN_SECRET_CHARS`], which
/// could not be masked without masking ordinary output.
fn resolve(
    names: &[String],
    file: Option<&Path>,
    origin: &str,
    environment: impl Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>, Error> {
    let from_file: HashMap<String, String> = match file {
        Some(path) => dotenvy::from_path_iter(path)
            .map_err(|err| {
                Error::refused(format!("failed to read secrets file `{}`: {err}", path.display()))
            })?
            .collect::<Result<_, _>>()
            .map_err(|err| Error::refused(format!("invalid secrets file `{}`: {err}", path.display())))?,
        None => HashMap::new(),
    };
    let mut values = Vec::with_capacity(names.len());
    let mut too_short = Vec::new();
    for name in names {
        let value = from_file.get(name).cloned().or_else(|| environment(name));
        match value {
            Some(value) if value.trim().chars().count() < MIN_SECRET_CHARS => {
                let from = match file {
                    Some(path) if from_file.contains_key(name) => format!(" (in `{}`)", path.display()),
                    _ => format!(" (in {origin})"),
                };
                too_short.push(match value.trim().chars().count() {
                    0 => format!("`{name}`{from} is empty or blank"),
                    1 => format!("`{name}`{from} has 1 character"),
                    count => format!("`{name}`{from} has {count} characters"),
                });
            }
            Some(value) => values.push((name.clone(), value)),
            None => {
                return Err(Error::refused_with_hint(
                    format!("secret `{name}` has no value"),
                    format!("set `{name}` in the environment, or in a file passed with `--secrets-file`"),
                ));
            }
        }
    }
    if !too_short.is_empty() {
        return Err(Error::refused_with_hint(
            format!(
                "secrets too short to be hidden in the log (at least {MIN_SECRET_CHARS} characters, \
                 white space around them not counted): {}",
                too_short.join("; ")
            ),
            "every occurrence of a value that short would be masked, whatever it belongs to; use \
             a longer secret, or an `env` variable if it is not secret",
        ));
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn given_values_are_the_only_source_and_stay_in_the_pipeline_order() {
        let given = Secrets::Given(vec![
            ("B_TOKEN".to_owned(), "bbbb-bbbb".to_owned()),
            ("A_TOKEN".to_owned(), "aaaa-aaaa".to_owned()),
        ]);
        let values = given.resolve(&names(&["A_TOKEN", "B_TOKEN"])).unwrap();
        assert_eq!(
            values,
            [
                ("A_TOKEN".to_owned(), "aaaa-aaaa".to_owned()),
                ("B_TOKEN".to_owned(), "bbbb-bbbb".to_owned())
            ]
        );
        // `PATH` is in the environment, but not among the values given.
        let err = given.resolve(&names(&["PATH"])).unwrap_err();
        assert!(
            matches!(&err, Error::Refused { message, .. } if message.contains("`PATH`")),
            "{err:?}"
        );
    }

    #[test]
    fn a_file_comes_before_the_environment_and_short_values_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secrets.env");
        std::fs::write(&file, "PATH=from-the-file\nSHORT=ab\n").unwrap();
        let secrets = Secrets::File(file);
        let values = secrets.resolve(&names(&["PATH"])).unwrap();
        assert_eq!(values, [("PATH".to_owned(), "from-the-file".to_owned())]);
        let err = secrets.resolve(&names(&["SHORT"])).unwrap_err();
        assert!(
            matches!(&err, Error::Refused { message, hint: Some(_) }
                if message.contains("`SHORT` (in `") && message.contains("has 2 characters")),
            "{err:?}"
        );
        let given = Secrets::Given(vec![("SHORT".to_owned(), " ".to_owned())]);
        let err = given.resolve(&names(&["SHORT"])).unwrap_err();
        assert!(
            matches!(&err, Error::Refused { message, .. } if message.contains("(in the values given) is empty")),
            "{err:?}"
        );
    }
}
