//! Secret values: from `--secrets-file` (`NAME=VALUE` lines, dotenv syntax) or the environment.

use std::collections::HashMap;
use std::path::Path;

use gantry_engine::MIN_SECRET_CHARS;

use crate::exit::UsageError;

/// The value of every secret the pipeline names, in the pipeline's order.
///
/// A secret with no value anywhere is an error: a run that silently got an empty credential
/// fails later, far from the cause. So is a value shorter than [`MIN_SECRET_CHARS`], which
/// could not be masked without masking ordinary output.
pub fn resolve(names: &[String], file: Option<&Path>) -> anyhow::Result<Vec<(String, String)>> {
    let from_file: HashMap<String, String> = match file {
        Some(path) => dotenvy::from_path_iter(path)
            .map_err(|err| {
                UsageError::new(format!("failed to read secrets file `{}`: {err}", path.display()))
            })?
            .collect::<Result<_, _>>()
            .map_err(|err| UsageError::new(format!("invalid secrets file `{}`: {err}", path.display())))?,
        None => HashMap::new(),
    };
    let mut values = Vec::with_capacity(names.len());
    let mut too_short = Vec::new();
    for name in names {
        let value = from_file.get(name).cloned().or_else(|| std::env::var(name).ok());
        match value {
            Some(value) if value.trim().chars().count() < MIN_SECRET_CHARS => {
                let from = match file {
                    Some(path) if from_file.contains_key(name) => format!(" (in `{}`)", path.display()),
                    _ => " (in the environment)".to_owned(),
                };
                too_short.push(match value.trim().chars().count() {
                    0 => format!("`{name}`{from} is empty or blank"),
                    1 => format!("`{name}`{from} has 1 character"),
                    count => format!("`{name}`{from} has {count} characters"),
                });
            }
            Some(value) => values.push((name.clone(), value)),
            None => {
                return Err(UsageError::new(format!("secret `{name}` has no value"))
                    .hint(format!(
                        "set `{name}` in the environment, or in a file passed with `--secrets-file`"
                    ))
                    .into());
            }
        }
    }
    if !too_short.is_empty() {
        return Err(UsageError::new(format!(
            "secrets too short to be hidden in the log (at least {MIN_SECRET_CHARS} characters, \
             white space around them not counted): {}",
            too_short.join("; ")
        ))
        .hint(
            "every occurrence of a value that short would be masked, whatever it belongs to; use \
             a longer secret, or an `env` variable if it is not secret",
        )
        .into());
    }
    Ok(values)
}
