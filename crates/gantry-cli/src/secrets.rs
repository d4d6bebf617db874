//! Secret values: from `--secrets-file` (`NAME=VALUE` lines, dotenv syntax) or the environment.

use std::collections::HashMap;
use std::path::Path;

use crate::exit::UsageError;

/// The value of every secret the pipeline names, in the pipeline's order.
///
/// A secret with no value anywhere is an error: a run that silently got an empty credential
/// fails later, far from the cause.
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
    for name in names {
        let value = from_file.get(name).cloned().or_else(|| std::env::var(name).ok());
        match value {
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
    Ok(values)
}
